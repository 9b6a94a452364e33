"""Notifications while away (SPEC 18) end to end: a real server, a real webhook receiver.

A vote on a line of an offline member sends a ``notification`` webhook; an online or a
muted member gets none; a second and third vote inside the quiet window send nothing
until the window ends, then exactly one digest with the counts, also across a kill -9."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol.messages import Ack, CartAdd, PresenceUpdate, Product, Vote
from tests.integration.test_tenants import bearer, create_tenant
from tests.integration.test_webhooks import add_endpoint, start_server, tenant_room
from tests.support.raw import RawClient
from tests.support.server import ServerProcess
from tests.support.webhook_receiver import Delivery, Receiver

QUIET = 3.0  # seconds: the quiet window of these tests
NOTIFY = {"COSESSION_NOTIFY_QUIET": str(QUIET), "COSESSION_NOTIFY_POLL": "0.1"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    try:
        yield r
    finally:
        await r.stop()


async def member(server: ServerProcess, room: dict[str, Any], name: str) -> tuple[RawClient, str, str]:
    joined = await server.accept(room["invite"]["code"], name)
    client, welcome = await RawClient.join(server.ws_url, joined["token"])
    return client, welcome.member, joined["token"]


async def add_line(client: RawClient, sku: str) -> int:
    ref = await client.op(CartAdd(product=Product(id=sku, name=sku, price=100, currency="EUR")))
    ack = await client.expect(Ack, ref=ref)
    return ack.seq


async def vote(client: RawClient, line: int, value: str = "up") -> None:
    ref = await client.op(Vote(line=line, value=value))  # type: ignore[arg-type]
    await client.expect(Ack, ref=ref)


async def gone(watcher: RawClient, who: str) -> None:
    """Until ``watcher`` sees ``who`` leave (the presence grace is over: no connection)."""
    await watcher.expect(PresenceUpdate, timeout=10, kind="leave", member=_any(who))


class _any:
    def __init__(self, member: str) -> None:
        self.member = member

    def __eq__(self, other: object) -> bool:
        return getattr(other, "member", None) == self.member

    def __hash__(self) -> int:
        return hash(self.member)


def notifications(receiver: Receiver) -> list[Delivery]:
    return [d for d in receiver.unique().values() if d.body["type"] == "notification"]


async def until_notifications(receiver: Receiver, count: int, timeout: float = 20.0) -> list[Delivery]:
    deadline = time.monotonic() + timeout
    while len(notifications(receiver)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(notifications(receiver))} of {count} notifications")
        await asyncio.sleep(0.05)
    return notifications(receiver)


async def test_offline_member_is_notified_once_per_window_then_a_digest(tmp_path: Path, receiver: Receiver) -> None:
    server = await start_server(tmp_path, NOTIFY)
    try:
        tenant = await create_tenant(server)
        endpoint = await add_endpoint(server, tenant["secret_key"], receiver.url, event_types=["notification"])
        receiver.secret = endpoint["secret"]
        room = await tenant_room(server, tenant["secret_key"])
        owner, _ = await RawClient.join(server.ws_url, room["token"])
        ana, ana_id, _ = await member(server, room, "Ana")
        bea, _bea_id, _ = await member(server, room, "Bea")
        cleo, cleo_id, cleo_token = await member(server, room, "Cleo")
        ana_line = await add_line(ana, "jacket-a")
        bea_line = await add_line(bea, "jacket-b")
        cleo_line = await add_line(cleo, "jacket-c")
        async with httpx.AsyncClient() as http:
            r = await http.put(
                f"{server.http_url}/v1/rooms/{room['room']}/notify", json={"muted": True}, headers=bearer(cleo_token)
            )
        assert r.status_code == 200 and r.json()["muted"] is True and r.json()["subscriptions"] == 0, r.text
        await ana.close()
        await cleo.close()
        await gone(owner, ana_id)
        await gone(owner, cleo_id)

        await vote(owner, bea_line)  # Bea is online: nothing
        await vote(owner, cleo_line)  # Cleo muted herself: nothing
        await vote(owner, ana_line)  # Ana is away: notified now
        [first] = await until_notifications(receiver, 1)
        data = first.body["data"]
        assert data["member"] == ana_id and data["room"] == room["room"] and data["tenant"] == tenant["id"]
        assert data["reasons"] == {"vote": 1} and data["count"] == 1 and data["digest"] is False
        assert set(data) == {"room", "tenant", "member", "reasons", "count", "digest"}  # no names, no text
        opened = time.monotonic()

        await vote(bea, ana_line)  # inside the quiet window: held back
        await vote(owner, ana_line, "down")
        # the held-back reasons are durable: kill -9 and restart inside the window
        server.kill()
        await owner.close()
        await bea.close()
        await server.start()
        await asyncio.sleep(max(0.0, QUIET - 1.0 - (time.monotonic() - opened)))
        assert len(notifications(receiver)) == 1
        found = await until_notifications(receiver, 2, timeout=QUIET + 10)
        assert time.monotonic() - opened >= QUIET - 0.5
        digest = found[1].body["data"]
        assert digest["member"] == ana_id and digest["digest"] is True
        assert digest["reasons"] == {"vote": 2} and digest["count"] == 2
        await asyncio.sleep(QUIET + 0.5)  # nothing more: the digest emptied the window
        assert [d.body["data"]["member"] for d in notifications(receiver)] == [ana_id, ana_id]
        assert receiver.bad_signatures == 0
    finally:
        server.kill()


async def test_an_offline_member_mentioned_then_asked_gets_a_notification_then_a_digest(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Mentions and questions (SPEC 16) notify like votes: the offline member mentioned is
    told, the online one is not; a question inside the quiet window comes as the digest."""
    from protocol.messages import Chat, QuestionAsk

    server = await start_server(tmp_path, NOTIFY)
    try:
        tenant = await create_tenant(server)
        endpoint = await add_endpoint(server, tenant["secret_key"], receiver.url, event_types=["notification"])
        receiver.secret = endpoint["secret"]
        room = await tenant_room(server, tenant["secret_key"])
        owner, _ = await RawClient.join(server.ws_url, room["token"])
        ana, ana_id, _ = await member(server, room, "Ana")
        bea, bea_id, _ = await member(server, room, "Bea")
        await ana.close()
        await gone(owner, ana_id)

        ref = await owner.op(Chat(text="@Ana @Bea which one?", mentions=[ana_id, bea_id]))
        await owner.expect(Ack, ref=ref)
        [first] = await until_notifications(receiver, 1)
        assert first.body["data"]["member"] == ana_id and first.body["data"]["reasons"] == {"mention": 1}
        ref = await owner.op(QuestionAsk(to=[ana_id, bea_id], text="Size M or L?"))
        await owner.expect(Ack, ref=ref)
        found = await until_notifications(receiver, 2, timeout=QUIET + 10)
        digest = found[1].body["data"]
        assert digest["member"] == ana_id and digest["digest"] is True and digest["reasons"] == {"question": 1}
        assert {d.body["data"]["member"] for d in notifications(receiver)} == {ana_id}  # never Bea, online
        await bea.close()
        await owner.close()
    finally:
        server.kill()
