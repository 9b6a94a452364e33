"""``ClientSettings``: everything a ``RoomClient`` is configured with, in one place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from protocol.codec import Format
from protocol.messages import Device


@dataclass(frozen=True)
class ClientSettings:
    """How a ``RoomClient`` connects and behaves (times in seconds).

    ``RoomClient.connect(..., **options)`` and ``RoomClient(..., **options)`` take these
    fields as keywords; ``settings=`` passes a whole object (keywords override it).
    """

    format: Format = "msgpack"
    device: Device = "bot"
    reconnect: bool = True  # reconnect and resume after a retryable close
    max_attempts: int | None = None  # consecutive failed connection attempts before giving up
    max_pending: int = 1000  # ops waiting for their ack before submit raises TooManyPending
    connect_timeout: float = 10.0  # TCP + WebSocket handshake; also bounds the first join
    welcome_timeout: float = 10.0  # hello -> welcome
    op_timeout: float | None = 30.0  # default timeout of submit()
    backoff: tuple[float, float] = (0.1, 5.0)  # first reconnect delay, cap (jittered)
    max_frame_bytes: int = 32 * 2**20
    subscription_limit: int = 10_000  # items a subscription may fall behind
    auto_read: bool = False  # mark every delivered event read (SPEC 15); else call mark_read()
    read_interval: float = 0.25  # at most one `read` frame per this many seconds

    def replace(self, **options: Any) -> ClientSettings:
        """A copy with ``options`` changed (TypeError for a name that is not a setting)."""
        return dataclasses.replace(self, **options) if options else self
