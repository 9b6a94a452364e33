"""Client-side folding for tests: a welcome plus later events → the member's view."""

from __future__ import annotations

from protocol.messages import Event, RoomState, Welcome
from protocol.reducer import apply, copy_state


class View:
    """A member's copy of the room, checked for gaps and duplicates as it folds."""

    def __init__(self, welcome: Welcome, base: RoomState | None = None) -> None:
        if welcome.recovered:
            assert base is not None, "recovered welcome without a local state"
            self.state = copy_state(base)
            for event in welcome.events:
                self.fold(event)
        else:
            assert welcome.snapshot is not None
            self.state = copy_state(welcome.snapshot)
        assert self.state.seq == welcome.seq
        self.events: list[Event] = list(welcome.events)

    def fold(self, event: Event) -> None:
        assert event.seq == self.state.seq + 1, f"gap or duplicate: got {event.seq} after {self.state.seq}"
        apply(self.state, event)
