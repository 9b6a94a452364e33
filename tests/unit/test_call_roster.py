"""The call roster (SPEC 14.2) depends on presence alone: two nodes that learn of the same
participants in different orders send the same ``call.members``, and no roster ever lists
two participants the other way round from another, so the mesh offer rule ("the one later
in ``members`` offers") names one offerer per pair on every node."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from cosession.calls.signaling import RoomCalls
from cosession.config import Settings
from cosession.rooms.presence import Presence
from protocol.messages import CallState

if TYPE_CHECKING:
    from cosession.rooms.room import Room, RoomConnection

T0 = 1_767_225_600_000


class _RoomView:
    """What a node's RoomCalls reads to build the roster: the room's presence (the real,
    pure ``Presence``; in a cluster this is the merged view of every node's entries)."""

    def __init__(self) -> None:
        self.presence = Presence()
        self._conn = 0

    def presence_list(self) -> list:  # type: ignore[type-arg]
        return self.presence.online()

    def arrive(self, member: str, call: CallState | None) -> None:
        if member not in self.presence:
            self._conn += 1
            self.presence.connect(member, self._conn, name=member, role="member", device="unknown")
        self.presence.set_call(member, call)


def _node() -> tuple[_RoomView, RoomCalls]:
    view = _RoomView()
    return view, RoomCalls(cast("Room", view))


# participants: distinct ids, join times close together (ties happen), each seen on a node
# first without the call (presence join) or straight in it
_participants = st.dictionaries(
    st.text("abcdm_0123", min_size=1, max_size=4),
    st.tuples(st.integers(0, 5).map(lambda d: T0 + d), st.booleans()),
    min_size=1,
    max_size=7,
)


@given(_participants, st.data())
def test_two_nodes_learning_in_different_orders_send_the_same_roster(
    participants: dict[str, tuple[int, bool]], data: st.DataObject
) -> None:
    arrivals: list[tuple[str, CallState | None]] = []
    for member, (joined, seen_before) in participants.items():
        if seen_before:
            arrivals.append((member, None))
        arrivals.append((member, CallState(audio=True, video=False, joined=joined)))

    def in_order(order: list[int]) -> bool:  # a member's presence join comes before its call
        seen: set[str] = set()
        for i in order:
            member, call = arrivals[i]
            if call is not None:
                seen.add(member)
            elif member in seen:
                return False
        return True

    rosters: list[list[list[str]]] = []
    for _ in range(2):
        order = data.draw(st.permutations(range(len(arrivals))).filter(in_order))
        view, calls = _node()
        seen: list[list[str]] = []
        for i in order:
            view.arrive(*arrivals[i])
            seen.append(calls.members())  # what sync() would send after this change
        rosters.append(seen)

    expected = sorted(participants, key=lambda m: (participants[m][0], m))
    assert rosters[0][-1] == rosters[1][-1] == expected
    position = {member: i for i, member in enumerate(expected)}
    for roster in rosters[0] + rosters[1]:  # every roster on the way agrees on every pair
        assert [position[m] for m in roster] == sorted(position[m] for m in roster)


class _Conn:
    """A call connection as RoomCalls uses it: the member, and what was sent to it."""

    def __init__(self, member: str) -> None:
        self.member = member
        self.sent: list[object] = []

    def send(self, message: object) -> None:
        self.sent.append(message)


def test_a_rejoin_keeps_joined_and_the_place_a_new_join_gets_a_new_one() -> None:
    view, calls = _node()
    view.settings = Settings()  # type: ignore[attr-defined]
    view.presence_entry = view.presence.get  # type: ignore[attr-defined]
    view.presence_updated = lambda entry: None  # type: ignore[attr-defined]
    view.arrive("bo", None)
    calls.join(cast("RoomConnection", _Conn("bo")), audio=True, video=False)
    first = view.presence.get("bo")
    assert first is not None and first.call is not None and first.call.joined > 0
    view.arrive("ana", None)  # within the same millisecond, most likely
    calls.join(cast("RoomConnection", _Conn("ana")), audio=True, video=False)
    assert calls.members() == ["bo", "ana"]  # a newcomer goes last, though "ana" < "bo"

    view.presence.set_call("bo", msgspec.structs.replace(first.call, muted=True))
    tab = _Conn("bo")  # bo again from another tab, with video: same joined, same place
    calls.join(cast("RoomConnection", tab), audio=True, video=True)
    again = view.presence.get("bo")
    assert again is not None and again.call is not None
    assert again.call.joined == first.call.joined and again.call.video and again.call.muted
    assert calls.members() == ["bo", "ana"] and tab.sent[-1].members == ["bo", "ana"]  # type: ignore[attr-defined]

    calls.leave("bo")  # out of the call, then in again: a new joined, after ana
    calls.join(cast("RoomConnection", tab), audio=True, video=False)
    back = view.presence.get("bo")
    ana = view.presence.get("ana")
    assert back is not None and back.call is not None and ana is not None and ana.call is not None
    assert back.call.joined > ana.call.joined > first.call.joined
    assert calls.members() == ["ana", "bo"]
