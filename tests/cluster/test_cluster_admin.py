"""The admin API on a cluster (real Redis, real PostgreSQL): a close or an erasure asked of
one node is sequenced like any op, members on every node see it, and later ops are
refused; retention sweeping on every node at once closes a room exactly once and purges it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from protocol.errors import CloseCode, ErrorCode
from protocol.messages import CartAdd, Chat, Error, Event, Hello, MemberErase, Product, RoomClose, RoomState
from protocol.reducer import fold
from tests.support.admin import accept, make_tenant, new_room, poll, sk
from tests.support.cluster import Cluster
from tests.support.raw import RawClient
from tests.support.redis_server import RedisServer

SHIRT = Product(id="sku-1", name="Shirt", price=100, currency="EUR")
SECRET = "my card ends 4242"


async def _until(client: RawClient, kind: type) -> Event:
    while True:
        event = await client.expect(Event, timeout=10.0)
        if isinstance(event.op, kind):
            return event


@pytest.fixture
async def two(tmp_path: Path, redis_server: RedisServer, postgres_url: str) -> AsyncIterator[Cluster]:
    nodes = Cluster(tmp_path, redis_server.url, postgres_url, 2)
    for node in nodes.nodes:
        node.env = {"COSESSION_RETENTION_SWEEP_SECONDS": "0.2"}
    try:
        await nodes.start()
        yield nodes
    finally:
        nodes.kill()


async def _stream_leaks(redis_url: str, room: str) -> bool:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    try:
        entries = await client.xrange("{room:" + room + "}:stream")
    finally:
        await client.aclose()
    assert entries
    return any(SECRET.encode() in fields[b"e"] or b"Bo Private" in fields[b"e"] for _id, fields in entries)


async def test_close_and_erase_through_any_node(two: Cluster, redis_server: RedisServer) -> None:
    n0, n1 = two.nodes
    shop = await make_tenant(two.database_url)
    room = await new_room(n0.http_url, shop["sk"], "Cluster room")
    bo = await accept(n1.http_url, room["invite"]["code"], "Bo Private")
    ana, ana_welcome = await RawClient.join(n0.ws_url, room["token"])
    bo_ws, _ = await RawClient.join(n1.ws_url, bo["token"])
    ana_state = ana_welcome.snapshot or RoomState()
    await bo_ws.op(CartAdd(product=SHIRT))
    await bo_ws.op(Chat(text=SECRET))
    chat = await _until(ana, Chat)
    assert await _stream_leaks(redis_server.url, room["room"])
    async with httpx.AsyncClient() as http:
        # erase Bo through node 0: every node's members fold member.erase; Bo is disconnected
        r = await http.delete(
            n0.http_url + f"/v1/admin/rooms/{room['room']}/members/{bo['member']}", headers=sk(shop["sk"])
        )
        assert r.status_code == 200, r.text
        erase = await _until(ana, MemberErase)
        assert not await _stream_leaks(redis_server.url, room["room"])
        assert erase.seq == r.json()["seq"]
        assert await bo_ws.closed_with() == CloseCode.FORBIDDEN
        for node in (n0, n1):
            snap = await http.get(node.http_url + f"/v1/rooms/{room['room']}/snapshot", headers=sk(shop["sk"]))
            assert SECRET not in snap.text and "Bo Private" not in snap.text
        # close through node 1
        r = await http.post(n1.http_url + f"/v1/admin/rooms/{room['room']}/close", json={}, headers=sk(shop["sk"]))
        assert r.status_code == 200 and r.json()["closed"] is True
        closing = await _until(ana, RoomClose)
        ref = await ana.op(Chat(text="anyone?"))
        await ana.expect(Error, code=ErrorCode.ROOM_CLOSED, ref=ref)
        late = await RawClient.open(n1.ws_url)
        await late.send(Hello(token=room["token"]))
        await late.expect(Error, code=ErrorCode.ROOM_CLOSED)
        # Ana's replica, folded from what she received, equals every node's state
        events = [e for e in ana.seen if isinstance(e, Event)]
        fold(events, ana_state)
        assert ana_state.seq == closing.seq and chat.seq < erase.seq < closing.seq
        listed = await http.get(n0.http_url + "/v1/admin/rooms?status=closed&q=CLUSTER", headers=sk(shop["sk"]))
        assert [r["room"] for r in listed.json()["rooms"]] == [room["room"]]  # the listing query on PostgreSQL
        for node in (n0, n1):
            detail = (await http.get(node.http_url + f"/v1/admin/rooms/{room['room']}", headers=sk(shop["sk"]))).json()
            assert detail["seq"] == closing.seq and SECRET not in str(detail)
    await ana.close()


async def test_retention_on_every_node_closes_once_and_purges(two: Cluster) -> None:
    n0, n1 = two.nodes
    shop = await make_tenant(two.database_url)
    room = await new_room(n0.http_url, shop["sk"], "Idle")
    watcher, _ = await RawClient.join(n1.ws_url, room["token"])
    async with httpx.AsyncClient() as http:
        policy = {"close_after_seconds": 1, "purge_after_seconds": 2}
        assert (
            await http.put(n0.http_url + "/v1/admin/retention", json=policy, headers=sk(shop["sk"]))
        ).status_code == 200
        closing = await _until(watcher, RoomClose)
        assert closing.op.reason == "retention"

        async def purged() -> bool | None:
            r = await http.get(n1.http_url + f"/v1/admin/rooms/{room['room']}", headers=sk(shop["sk"]))
            return True if r.status_code == 404 else None

        await poll(purged, timeout=30.0)
    # exactly one room.close reached the room, whichever nodes swept
    closes = [m for m in watcher.seen if isinstance(m, Event) and isinstance(m.op, RoomClose)]
    assert len(closes) == 1
    await watcher.close()
