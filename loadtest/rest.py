"""The REST calls of a run over one shared ``httpx.AsyncClient`` per process.

``cosession_client.rest`` opens a new ``httpx.AsyncClient`` for every call; creating one
builds an SSL context (hundreds of milliseconds of CPU on a busy machine, blocking the
event loop), which is fine for one client but not for a worker joining hundreds of
members. The response types are the client's own (``CreatedRoom``, ``Joined``,
``Snapshot``), so both sides stay in step.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import httpx
import msgspec

from cosession_client.errors import ApiError
from cosession_client.rest import CreatedRoom, Joined, Snapshot

T = TypeVar("T")


def new_http(timeout: float = 30.0) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    return httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False)


def _decode(response: httpx.Response, kind: type[T]) -> T:
    if not response.is_success:
        code, message = "http_error", response.reason_phrase or "request failed"
        try:
            body: Any = response.json()
            err = body.get("error") if isinstance(body, dict) else None
            if isinstance(err, dict):
                code = str(err.get("code", code))
                message = str(err.get("message", message))
        except ValueError:
            pass
        raise ApiError(response.status_code, code, message)
    try:
        return msgspec.json.decode(response.content, type=kind)
    except msgspec.DecodeError as exc:
        raise ApiError(response.status_code, "bad_response", f"unexpected response: {exc}") from None


async def create_room(http: httpx.AsyncClient, base: str, name: str, owner_name: str) -> CreatedRoom:
    response = await http.post(f"{base}/v1/rooms", json={"name": name, "owner_name": owner_name})
    return _decode(response, CreatedRoom)


ACCEPT_ATTEMPTS = 3


async def accept_invite(http: httpx.AsyncClient, base: str, code: str, name: str) -> Joined:
    """Accept an invite; a transport error (a pooled keep-alive connection the server had
    just closed, a reset under a join wave) is retried twice, as a browser would."""
    for attempt in range(ACCEPT_ATTEMPTS):
        try:
            response = await http.post(f"{base}/v1/invites/{code}/accept", json={"name": name})
        except httpx.TransportError:
            if attempt == ACCEPT_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
            continue
        return _decode(response, Joined)
    raise AssertionError("unreachable")


async def get_snapshot(http: httpx.AsyncClient, base: str, token: str, room: str) -> Snapshot:
    response = await http.get(f"{base}/v1/rooms/{room}/snapshot", headers={"Authorization": f"Bearer {token}"})
    return _decode(response, Snapshot)
