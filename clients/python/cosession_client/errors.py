"""Exceptions raised by the Python client: rejected ops, final closes, REST errors, limits."""

from __future__ import annotations


class ClientError(Exception):
    """Base class of every error this package raises on purpose."""


class OpRejected(ClientError):
    """The server refused an op (``error`` frame with the op's ref).

    ``code`` is one of ``protocol.errors.ErrorCode`` (``not_found``, ``forbidden``, ...).
    A rejected op has no ``seq`` and changed nothing.
    """

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.ref = ref


class ConnectionClosedFinal(ClientError):
    """The client stopped for good: a final close code (unauthorized, token expired,
    kicked, room gone, room full), reconnect attempts exhausted, or ``close()``.

    ``code`` is the WebSocket close code (1000 after ``close()``, 1006 when no close frame
    was received); ``error`` and ``message`` are the code and the human message of the
    ``error`` frame that preceded the close, if any (the close reason is often just the
    code; the message says why, e.g. "token signature does not match").
    """

    def __init__(self, code: int, reason: str, error: str | None = None, message: str = "") -> None:
        text = f"connection closed ({code}): {reason}" if reason else f"connection closed ({code})"
        if message and message != reason:
            text += f" ({message})"
        super().__init__(text)
        self.code = code
        self.reason = reason
        self.error = error
        self.message = message


class TooManyPending(ClientError):
    """``max_pending`` ops are already waiting for their ack."""


class EventsOverflow(ClientError):
    """A message subscription fell more than its bound behind and was ended.

    The client itself is unaffected (its ``state`` is intact); subscribe again and read
    ``state`` to catch up.
    """


class ApiError(ClientError):
    """A REST call failed; ``code`` is the server's stable error code when it sent one."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
