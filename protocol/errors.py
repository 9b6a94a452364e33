"""Error codes (sent in ``error`` frames) and WebSocket close codes, in one place.

SPEC.md documents each one; tests assert on these names, never on literal numbers.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    BAD_MESSAGE = "bad_message"  # not a decodable frame (bytes, JSON, not a map)
    UNKNOWN_TYPE = "unknown_type"  # `t` missing or names no client message
    INVALID_FIELD = "invalid_field"  # a field is missing, of the wrong type, or out of range
    HELLO_EXPECTED = "hello_expected"  # first message was not `hello`
    ALREADY_JOINED = "already_joined"  # a second `hello` on one connection
    UNAUTHORIZED = "unauthorized"  # token forged, malformed, or for another server
    TOKEN_EXPIRED = "token_expired"
    ROOM_NOT_FOUND = "room_not_found"
    ROOM_FULL = "room_full"
    TOO_MANY_MEMBERS = "too_many_members"  # the room holds max_room_members members (ever joined): no new ones
    TOO_MANY_CONNECTIONS = "too_many_connections"  # this member already has max_connections_per_member open
    FORBIDDEN = "forbidden"  # role may not do this (viewer edits, member kicks, ...)
    KICKED = "kicked"  # the member was removed from the room
    ROOM_LOCKED = "room_locked"  # the room is locked: only the owner may edit
    NOT_FOUND = "not_found"  # the line / chat message / member the op names is gone
    CART_FULL = "cart_full"
    TOO_LONG = "too_long"  # chat text over the room's limit
    EMPTY_CHECKOUT = "empty_checkout"  # checkout.request selects no cart line
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # the cluster cannot sequence right now: retry the op later
    INTERNAL = "internal"
    ROOM_CLOSED = "room_closed"  # the room was closed (room.close): no more ops, no new members
    HELP_PENDING = "help_pending"  # help.request while the room's previous request is still open or claimed
    ALREADY_CLAIMED = "already_claimed"  # help.claim of a request another associate claimed (or that closed)


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001  # server shutting down: reconnect (to any node) and resume
    INVALID_PAYLOAD = 1007  # a text frame that is not UTF-8 (sent by the WebSocket layer)
    MESSAGE_TOO_BIG = 1009  # frame over max_frame_bytes
    INTERNAL_ERROR = 1011
    PROTOCOL_ERROR = 4000  # the first frame is undecodable or not hello (later malformed frames never close)
    UNAUTHORIZED = 4001  # token forged or malformed
    TOKEN_EXPIRED = 4002
    FORBIDDEN = 4003  # kicked, or origin refused
    ROOM_NOT_FOUND = 4004
    ROOM_FULL = 4005
    HELLO_TIMEOUT = 4006
    SLOW_CONSUMER = 4008  # send queue overflowed: reconnect and resume
    RESYNC = 4009  # the room's history changed (new epoch): reconnect; resume yields a snapshot
    TOO_MANY_CONNECTIONS = 4010  # this member has too many connections open: close one first
    RATE_LIMITED = 4029  # flooding far past the op rate


# Close codes after which a client should reconnect with resume; others are final.
RETRYABLE_CLOSE_CODES: frozenset[int] = frozenset(
    {
        CloseCode.GOING_AWAY,
        CloseCode.INTERNAL_ERROR,
        CloseCode.SLOW_CONSUMER,
        CloseCode.RESYNC,
        CloseCode.RATE_LIMITED,
        1006,
        1012,
    }
)


class ProtocolError(Exception):
    """A frame that cannot be decoded into a client message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
