"""The fan-out backend interface: deliver a room's messages to every node serving it.

A room attaches one sink per node; ``publish`` hands a message (a committed ``Event``
or an ephemeral signal) to the sink of every node where the room is attached. The
in-memory hub (one process) calls the local sink directly; a cluster hub carries the
message over Redis pub/sub. Delivery to a sink is in publish order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from protocol.messages import ServerMessage

Sink = Callable[[ServerMessage], None]


class HubUnavailable(Exception):
    """The cluster hub (Redis) cannot be reached right now."""


class Hub(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def attach(self, room_id: str, sink: Sink) -> None: ...

    def detach(self, room_id: str) -> None: ...

    def publish(self, room_id: str, message: ServerMessage) -> None: ...

    @property
    def ready(self) -> bool: ...
