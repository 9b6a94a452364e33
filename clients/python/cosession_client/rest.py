"""The REST side of the client: invite links, URL derivation, and the few ``/v1`` calls
a client makes (create a room, accept or inspect an invite, create an invite, snapshot).

Responses are decoded into small typed structs; unknown fields are ignored so a newer
server does not break an older client. Errors become ``ApiError``.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import msgspec

from cosession_client.errors import ApiError
from protocol.messages import CheckoutStart, Role, RoomState

DEFAULT_TIMEOUT = 10.0

T = TypeVar("T")


class InviteLink(msgspec.Struct):
    code: str
    url: str


class InviteInfo(msgspec.Struct):
    """``GET /v1/invites/{code}``: what an invite leads to."""

    room: str
    name: str
    role: Role
    expires_at: Any = None


class CreatedInvite(msgspec.Struct):
    code: str
    url: str
    expires_at: Any = None


class Joined(msgspec.Struct):
    """Credentials to open a room's WebSocket: the result of accepting an invite."""

    room: str
    member: str
    token: str
    ws_url: str = ""


class CreatedRoom(msgspec.Struct):
    """``POST /v1/rooms``: the owner's credentials plus a first invite."""

    room: str
    member: str
    token: str
    invite: InviteLink
    ws_url: str = ""


class Snapshot(msgspec.Struct):
    room: str
    epoch: str
    seq: int
    state: RoomState


def parse_invite_link(link: str) -> tuple[str, str]:
    """``http://host:port[/prefix]/r/CODE[?...]`` → (``http://host:port[/prefix]``, ``CODE``)."""
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an invite link: {link!r}")
    path = parts.path.rstrip("/")
    prefix, sep, code = path.rpartition("/r/")
    if not sep or not code or "/" in code:
        raise ValueError(f"not an invite link (expected .../r/<code>): {link!r}")
    return urlunsplit((parts.scheme, parts.netloc, prefix, "", "")), code


def is_invite_link(value: str) -> bool:
    try:
        parse_invite_link(value)
    except ValueError:
        return False
    return True


def base_urls(server: str) -> tuple[str, str]:
    """(http base, WebSocket endpoint) from either an http(s) base URL or a ws(s) URL.

    ``http://h:1`` → (``http://h:1``, ``ws://h:1/v1/ws``); ``ws://h:1/v1/ws`` →
    (``http://h:1``, ``ws://h:1/v1/ws``); ``ws://h:1`` → the same.
    """
    parts = urlsplit(server.rstrip("/"))
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        ws_scheme: Literal["ws", "wss"] = "wss" if scheme == "https" else "ws"
        http = urlunsplit((scheme, parts.netloc, parts.path, "", ""))
        return http, urlunsplit((ws_scheme, parts.netloc, parts.path + "/v1/ws", "", ""))
    if scheme in ("ws", "wss"):
        path = parts.path
        prefix = path[: -len("/v1/ws")] if path.endswith("/v1/ws") else path
        http = urlunsplit(("https" if scheme == "wss" else "http", parts.netloc, prefix, "", ""))
        return http, urlunsplit((scheme, parts.netloc, prefix + "/v1/ws", parts.query, ""))
    raise ValueError(f"server URL must be http(s):// or ws(s)://, got {server!r}")


def resolve_ws_url(http_base: str, advertised: str) -> str:
    """The server's advertised ``ws_url`` when it is absolute, else derived from ``http_base``."""
    if advertised.startswith(("ws://", "wss://")):
        return advertised
    return base_urls(http_base)[1]


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    code, message = "http_error", response.reason_phrase or "request failed"
    try:
        body = response.json()
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            code = str(err.get("code", code))
            message = str(err.get("message", message))
    except ValueError:
        pass
    raise ApiError(response.status_code, code, message)


def decode_response(response: httpx.Response, kind: type[T]) -> T:
    """A REST response as ``kind``; ``ApiError`` with the server's error code otherwise."""
    _raise_for(response)
    try:
        return msgspec.json.decode(response.content, type=kind)
    except msgspec.DecodeError as exc:  # ValidationError is a subclass
        raise ApiError(response.status_code, "bad_response", f"unexpected response: {exc}") from None


def _client(http_base: str, token: str | None, timeout: float) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=http_base, headers=headers, timeout=timeout)


async def create_room(
    http_base: str, name: str, owner_name: str, *, request_timeout: float = DEFAULT_TIMEOUT
) -> CreatedRoom:
    async with _client(http_base, None, request_timeout) as http:
        response = await http.post("/v1/rooms", json={"name": name, "owner_name": owner_name})
    return decode_response(response, CreatedRoom)


async def get_invite(http_base: str, code: str, *, request_timeout: float = DEFAULT_TIMEOUT) -> InviteInfo:
    async with _client(http_base, None, request_timeout) as http:
        response = await http.get(f"/v1/invites/{code}")
    return decode_response(response, InviteInfo)


async def accept_invite(http_base: str, code: str, name: str, *, request_timeout: float = DEFAULT_TIMEOUT) -> Joined:
    async with _client(http_base, None, request_timeout) as http:
        response = await http.post(f"/v1/invites/{code}/accept", json={"name": name})
    return decode_response(response, Joined)


async def create_invite(
    http_base: str,
    token: str,
    room: str,
    *,
    role: Role = "member",
    expires_in: int | None = None,
    max_uses: int | None = None,
    request_timeout: float = DEFAULT_TIMEOUT,
) -> CreatedInvite:
    body: dict[str, object] = {"role": role}
    if expires_in is not None:
        body["expires_in"] = expires_in
    if max_uses is not None:
        body["max_uses"] = max_uses
    async with _client(http_base, token, request_timeout) as http:
        response = await http.post(f"/v1/rooms/{room}/invites", json=body)
    return decode_response(response, CreatedInvite)


async def get_snapshot(http_base: str, token: str, room: str, *, request_timeout: float = DEFAULT_TIMEOUT) -> Snapshot:
    async with _client(http_base, token, request_timeout) as http:
        response = await http.get(f"/v1/rooms/{room}/snapshot")
    return decode_response(response, Snapshot)


class FetchedCheckout(msgspec.Struct):
    """``GET /v1/checkouts/{id}``: the snapshot, its seq, and the server's verdict."""

    checkout: CheckoutStart
    seq: int
    valid: bool
    expired: bool


async def get_checkout(
    http_base: str, token: str, checkout_id: str, *, request_timeout: float = DEFAULT_TIMEOUT
) -> FetchedCheckout:
    async with _client(http_base, token, request_timeout) as http:
        response = await http.get(f"/v1/checkouts/{checkout_id}")
    return decode_response(response, FetchedCheckout)


class ClosedHelp(msgspec.Struct):
    room: str
    request: int
    state: str


async def close_help(
    http_base: str, token: str, room: str, request: int, *, request_timeout: float = DEFAULT_TIMEOUT
) -> ClosedHelp:
    """Close the room's help request (the requester, the owner or the helping associate)."""
    async with _client(http_base, token, request_timeout) as http:
        response = await http.post(f"/v1/rooms/{room}/help/{request}/close")
    return decode_response(response, ClosedHelp)
