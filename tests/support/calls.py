"""Helpers for call tests: invites with a role, and waiting for a call roster."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from protocol.messages import CallInfo, Event, PresenceUpdate
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def invite(server: ServerProcess, room: dict[str, Any], role: str, name: str) -> dict[str, Any]:
    """A new member of ``room`` with ``role`` (invited by the owner)."""
    async with httpx.AsyncClient() as http:
        r = await http.post(
            f"{server.http_url}/v1/rooms/{room['room']}/invites",
            json={"role": role},
            headers={"authorization": f"Bearer {room['token']}"},
        )
        r.raise_for_status()
    return await server.accept(r.json()["code"], name)


async def roster(client: RawClient, members: list[str], timeout: float = 5.0) -> CallInfo:
    """The next ``call`` message naming exactly ``members``."""
    return await client.expect(CallInfo, timeout=timeout, members=members)


async def call_event(client: RawClient, tag: str, timeout: float = 5.0) -> Event:
    """The first event whose op is ``call.start`` / ``call.end``: already seen, or next."""
    for msg in client.seen:
        if isinstance(msg, Event) and msg.op.__struct_config__.tag == tag:
            return msg
    while True:
        event = await client.expect(Event, timeout=timeout)
        if event.op.__struct_config__.tag == tag:
            return event


async def presence_call(client: RawClient, member: str, in_call: bool, timeout: float = 5.0) -> PresenceUpdate:
    """The next presence message of ``member`` showing it in (or out of) the call."""
    while True:
        update = await client.expect(PresenceUpdate, timeout=timeout)
        if update.member.member == member and (update.member.call is not None) == in_call:
            return update


async def joined_times(client: RawClient, members: set[str], timeout: float = 10.0) -> dict[str, int]:
    """``CallState.joined`` of each of ``members`` from presence (already seen, or next),
    once ``client`` has seen every one of them in the call."""
    found: dict[str, int] = {}

    def note(msg: object) -> None:
        if isinstance(msg, PresenceUpdate) and msg.member.member in members:
            call = msg.member.call
            if call is None:
                found.pop(msg.member.member, None)
            else:
                found[msg.member.member] = call.joined

    for msg in client.seen:
        note(msg)
    async with asyncio.timeout(timeout):
        while set(found) != members:
            note(await client.recv(timeout))
    return found


def roster_order(joined: dict[str, int]) -> list[str]:
    """The roster every node sends for these participants (SPEC 14.2)."""
    return sorted(joined, key=lambda member: (joined[member], member))
