"""The client's instrumentation hook: what a ``RoomClient`` tells an observer, and when.

Pass ``observer=`` to ``RoomClient`` / ``RoomClient.connect``. Every method is called
synchronously from the client's own task, in the order things happen, and must not block
or raise. ``frame_in`` sees every decoded server frame *before* the session drops a
duplicate or turns a gap into a resume, so a checker can judge the wire itself (the
load tool does). Implement all methods (structural typing; ``Observer`` is a no-op one).
"""

from __future__ import annotations

from typing import Protocol

from cosession_client.errors import ConnectionClosedFinal
from cosession_client.outputs import Resynced
from protocol.messages import ClientMessage, ServerMessage


class ClientObserver(Protocol):
    def connecting(self) -> None:
        """A connection attempt starts (TCP + WebSocket handshake)."""

    def opened(self) -> None:
        """The WebSocket is open; the hello follows."""

    def connect_failed(self, code: int, reason: str, error: str | None) -> None:
        """An attempt ended before its welcome (``error``: the error frame's code, if any)."""

    def frame_out(self, msg: ClientMessage) -> None:
        """A frame is handed to the socket (hello, ops, re-sent ops, signals)."""

    def frame_in(self, msg: ServerMessage) -> None:
        """A server frame was decoded (undecodable ones are logged and not reported)."""

    def joined(self, resynced: Resynced) -> None:
        """A welcome was accepted: the resume outcome (recovered, or a snapshot at seq)."""

    def disconnected(self, code: int, reason: str, *, retrying: bool, by_client: bool) -> None:
        """A welcomed connection ended (``by_client``: ``close()`` or ``drop_connection()``)."""

    def dropping(self) -> None:
        """``drop_connection()`` is about to abort a live connection."""

    def stopped(self, why: ConnectionClosedFinal, *, by_client: bool) -> None:
        """The client stopped for good (``by_client``: after ``close()``)."""


class Observer:
    """An observer that ignores everything (the default)."""

    def connecting(self) -> None:
        pass

    def opened(self) -> None:
        pass

    def connect_failed(self, code: int, reason: str, error: str | None) -> None:
        pass

    def frame_out(self, msg: ClientMessage) -> None:
        pass

    def frame_in(self, msg: ServerMessage) -> None:
        pass

    def joined(self, resynced: Resynced) -> None:
        pass

    def disconnected(self, code: int, reason: str, *, retrying: bool, by_client: bool) -> None:
        pass

    def dropping(self) -> None:
        pass

    def stopped(self, why: ConnectionClosedFinal, *, by_client: bool) -> None:
        pass
