"""The REST calls of a run over one shared ``httpx.AsyncClient`` per process.

``cosession_client.rest`` opens a new ``httpx.AsyncClient`` for every call; creating one
builds an SSL context (hundreds of milliseconds of CPU on a busy machine, blocking the
event loop), which is fine for one client but not for a worker joining hundreds of
members. The response types and their decoding (``decode_response``: ``ApiError`` with the
server's error code) are the client's own, so both sides stay in step.
"""

from __future__ import annotations

import asyncio

import httpx

from cosession_client.rest import CreatedRoom, Joined, Snapshot, decode_response


def new_http(timeout: float = 30.0) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    return httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False)


async def create_room(
    http: httpx.AsyncClient, base: str, name: str, owner_name: str, *, key: str | None = None
) -> CreatedRoom:
    headers = {"authorization": f"Bearer {key}"} if key else None
    response = await http.post(f"{base}/v1/rooms", json={"name": name, "owner_name": owner_name}, headers=headers)
    return decode_response(response, CreatedRoom)


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
        return decode_response(response, Joined)
    raise AssertionError("unreachable")


async def get_snapshot(http: httpx.AsyncClient, base: str, token: str, room: str) -> Snapshot:
    response = await http.get(f"{base}/v1/rooms/{room}/snapshot", headers={"Authorization": f"Bearer {token}"})
    return decode_response(response, Snapshot)
