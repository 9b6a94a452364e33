"""One-line, human explanations of what went wrong, for ``cosession-client`` (pure).

The client's exceptions carry what a program needs (status, error code, close code,
validator path); a person at a terminal needs to know what happened and what to type or
do instead. ``explain_invalid`` turns a schema violation (``Expected `str` of length <= 3
- at `$.product.currency` ``) into the rule for that field; ``explain_join`` and
``explain_closed`` say why joining failed or a session ended.
"""

from __future__ import annotations

import re

import httpx

from cosession_client.errors import ApiError, ConnectionClosedFinal

__all__ = ["FIELD_RULES", "explain_closed", "explain_invalid", "explain_join"]

#: What each field of a client op or REST body must be, keyed by the field's name (the last
#: part of the validator's path; ``product.x`` first for a product's fields).
FIELD_RULES: dict[str, str] = {
    "product.currency": "currency must be a 3-letter code like EUR",
    "product.price": "price must be an amount like 19.99 (at most two decimals, 0 to 10000000000)",
    "product.id": "product id must be 1 to 128 characters",
    "product.name": "product name must be 1 to 200 characters",
    "product.variant": "variant must be at most 128 characters",
    "product.image": "image must be a URL of at most 2048 characters",
    "product.url": "product URL must be at most 2048 characters",
    "qty": "quantity must be a whole number from 1 to 999",
    "line": "a cart line is its number as `cart` lists it (1, 2, ...)",
    "text": "chat text must be 1 to 16000 characters",
    "emoji": "an emoji is 1 to 16 characters",
    "name": "a name must be 1 to 100 characters",
    "owner_name": "a name must be 1 to 100 characters",
}

_PATH = re.compile(r"- at `\$((?:\.[A-Za-z_][A-Za-z_0-9]*|\[\d+\])*)`")
_NUL = "\x00"


def _field(path: str) -> str:
    parts = [p for p in re.split(r"\.|\[\d+\]", path) if p]
    if len(parts) >= 2 and parts[-2] == "product":
        return "product." + parts[-1]
    return parts[-1] if parts else ""


def explain_invalid(message: str) -> str:
    """A validator's message (msgspec's, or the server's ``invalid_field`` text) as the rule
    the user broke, without the validator's wording."""
    match = _PATH.search(message)
    field = _field(match.group(1)) if match else ""
    if "U+0000" in message or "\\u0000" in message or _NUL in message:
        what = field.replace("product.", "product ").replace("_", " ") or "text"
        return f"{what} must not contain a NUL character (U+0000)"
    if field in FIELD_RULES:
        return FIELD_RULES[field]
    if field:
        return f"{field.replace('product.', 'product ').replace('_', ' ')} has a value the server does not accept"
    return "the server does not accept that input"


def _closed_why(exc: ConnectionClosedFinal) -> str:
    why = exc.message or exc.reason
    error = exc.error or ""
    if error == "unauthorized" or exc.code == 4001:
        return f"the server refused the token: {why or 'not a valid token for this server'}"
    if error == "token_expired" or exc.code == 4002:
        return "the token has expired; ask for a new invite link"
    if error == "kicked":
        return "you were removed from this room"
    if error == "room_closed":
        return "this room was closed"
    if error == "room_not_found" or exc.code == 4004:
        return "that room does not exist (any more)"
    if error == "room_full" or exc.code == 4005:
        return f"the room is full: {why}" if why else "the room is full"
    if error == "forbidden" or exc.code == 4003:
        return f"the server refused: {why}" if why else "the server refused the connection"
    return f"the server closed the connection: {why}" if why else "the connection was closed"


def explain_closed(exc: ConnectionClosedFinal) -> str:
    """Why a session ended (or never started), with the close code for reference."""
    tail = f"close {exc.code}" + (f" {exc.error}" if exc.error else "")
    return f"{_closed_why(exc)} ({tail})"


def explain_join(exc: BaseException, server: str, timeout: float) -> str:
    """Why ``RoomClient.connect`` (or the REST call before it) failed, for ``server``."""
    if isinstance(exc, ConnectionClosedFinal):
        return explain_closed(exc)
    if isinstance(exc, httpx.ConnectError | ConnectionRefusedError):
        return f"nothing answers at {server}: is the server running, and is the address right?"
    if isinstance(exc, httpx.TimeoutException):
        return f"the server at {server} did not answer within {timeout:g} s"
    if isinstance(exc, httpx.HTTPError | OSError):
        return f"cannot talk to the server at {server}: {exc or type(exc).__name__}"
    if isinstance(exc, ApiError):
        if exc.code == "invalid_field":
            return f"the server refused the request: {explain_invalid(exc.message)}"
        if exc.code == "invite_not_found":
            return "this invite link does not exist on that server (check the link, or ask for a new one)"
        if exc.code in ("invite_expired", "invite_used_up", "gone") or exc.status == 410:
            return f"this invite link can no longer be used: {exc.message} (ask for a new one)"
        return f"the server refused: {exc.message or exc.code} (HTTP {exc.status} {exc.code})"
    if isinstance(exc, TimeoutError):
        return (
            f"the server at {server} accepts connections but did not let us into the room "
            f"within {timeout:g} s; try again, or check the address"
        )
    return str(exc) or type(exc).__name__
