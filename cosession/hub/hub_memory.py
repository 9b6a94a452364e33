"""The embedded hub: one process, so publishing is a direct, synchronous call."""

from __future__ import annotations

from cosession.hub.hub import Sink
from protocol.messages import ServerMessage


class MemoryHub:
    def __init__(self) -> None:
        self._sinks: dict[str, Sink] = {}
        self.published = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._sinks.clear()

    @property
    def ready(self) -> bool:
        return True

    def attach(self, room_id: str, sink: Sink) -> None:
        self._sinks[room_id] = sink

    def detach(self, room_id: str) -> None:
        self._sinks.pop(room_id, None)

    def publish(self, room_id: str, message: ServerMessage) -> None:
        sink = self._sinks.get(room_id)
        self.published += 1
        if sink is not None:
            sink(message)
