"""The help queue on a two-node cluster (real Redis, real PostgreSQL): two associates on
different nodes race to claim one request and exactly one wins; the loser's stream shows
it taken; the room sees the associate; a queue stream resumes with Last-Event-ID after its
node restarts without losing an update made meanwhile; the help.requested webhook goes out."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx

from cosession.store.store_sql import SqlStore
from cosession.tenants.store import TenantStore
from protocol.messages import Ack, Event, HelpClaim, HelpRequest, MemberJoin
from tests.support.cluster import Cluster
from tests.support.help import SseReader, bearer, claim, new_associate
from tests.support.raw import RawClient
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess
from tests.support.webhook_receiver import Receiver

RACES = 5


async def _tenant(postgres_url: str) -> str:
    store = SqlStore(postgres_url)
    await store.start()
    try:
        made = await TenantStore(store).create("Shop", [])
    finally:
        await store.close()
    return made.secret_key


async def _room(node: ServerProcess, key: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.post(node.http_url + "/v1/rooms", json={"name": "Shoes"}, headers=bearer(key), timeout=10)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def _ask(client: RawClient) -> int:
    ref = await client.op(HelpRequest(where="in_store", department="Shoes"))
    return (await client.expect(Ack, ref=ref, timeout=15)).seq


async def _until_event(client: RawClient, kind: type, timeout: float = 15.0) -> Event:
    async with asyncio.timeout(timeout):
        while True:
            ev = await client.expect(Event, timeout=timeout)
            if isinstance(ev.op, kind):
                return ev


async def test_two_associates_race_one_wins_across_nodes(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> None:
    receiver = await Receiver().start()
    cluster = Cluster(tmp_path, redis_server.url, postgres_url, 2)
    a, b = cluster.nodes
    try:
        await cluster.start()
        key = await _tenant(postgres_url)
        async with httpx.AsyncClient() as http:
            r = await http.post(
                a.http_url + "/v1/webhooks/endpoints",
                json={"url": receiver.url, "event_types": ["help.requested"]},
                headers=bearer(key),
            )
        assert r.status_code == 201, r.text
        receiver.secret = r.json()["secret"]
        mia = await new_associate(a.http_url, key, "Mia")
        leo = await new_associate(b.http_url, key, "Leo")
        mia_stream = await SseReader(a.http_url + "/v1/associates/queue/stream", mia["token"]).start()
        leo_stream = await SseReader(b.http_url + "/v1/associates/queue/stream", leo["token"]).start()
        try:
            for i in range(RACES):
                room = await _room(a if i % 2 else b, key)
                owner, _ = await RawClient.join((b if i % 2 else a).ws_url, room["token"])
                seq = await _ask(owner)
                request_id = f"{room['room']}:{seq}"
                for stream in (mia_stream, leo_stream):  # both nodes' streams see it
                    await stream.until(lambda e, rid=request_id: e.event == "request" and e.data["id"] == rid)
                r_mia, r_leo = await asyncio.gather(
                    claim(a.http_url, mia["token"], request_id), claim(b.http_url, leo["token"], request_id)
                )
                statuses = sorted([r_mia.status_code, r_leo.status_code])
                assert statuses == [200, 409], (r_mia.text, r_leo.text)
                winner, loser = (r_mia, r_leo) if r_mia.status_code == 200 else (r_leo, r_mia)
                loser_stream = leo_stream if winner is r_mia else mia_stream
                assert loser.json()["error"]["code"] == "already_claimed"
                won = winner.json()
                taken = await loser_stream.until(lambda e, rid=request_id: e.event == "update" and e.data["id"] == rid)
                assert taken.data["state"] == "claimed" and taken.data["associate"] == won["member"]
                claimed = await _until_event(owner, HelpClaim)
                assert isinstance(claimed.op, HelpClaim) and claimed.op.associate == won["member"]
                helper, welcome = await RawClient.join((a if winner is r_mia else b).ws_url, won["token"])
                joined = await _until_event(owner, MemberJoin)
                assert isinstance(joined.op, MemberJoin)
                assert joined.op.role == "associate" and joined.op.member == won["member"] == welcome.member
                await helper.close()
                await owner.close()
            got = list((await receiver.wait_for(RACES, timeout=60)).values())
            assert sorted(d.body["type"] for d in got) == ["help.requested"] * RACES
            assert all(d.body["data"]["department"] == "Shoes" for d in got)
        finally:
            await mia_stream.close()
            await leo_stream.close()
    finally:
        cluster.kill()
        await receiver.stop()


async def test_queue_stream_resumes_after_its_node_restarts(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> None:
    cluster = Cluster(tmp_path, redis_server.url, postgres_url, 2)
    a, b = cluster.nodes
    try:
        await cluster.start()
        key = await _tenant(postgres_url)
        mia = await new_associate(a.http_url, key, "Mia")
        stream = await SseReader(a.http_url + "/v1/associates/queue/stream", mia["token"]).start()
        room = await _room(b, key)
        owner, _ = await RawClient.join(b.ws_url, room["token"])
        first = await _ask(owner)
        seen = await stream.until(lambda e: e.event == "request")
        assert seen.data["id"] == f"{room['room']}:{first}"
        a.kill()  # the associate's node dies: the stream ends
        with contextlib.suppress(AssertionError, TimeoutError):
            while True:
                await stream.next(timeout=10)
        await stream.close()
        # meanwhile, on the other node: the request is claimed and another room asks
        leo = await new_associate(b.http_url, key, "Leo")
        r = await claim(b.http_url, leo["token"], seen.data["id"])
        assert r.status_code == 200, r.text
        other = await _room(b, key)
        other_owner, _ = await RawClient.join(b.ws_url, other["token"])
        second = await _ask(other_owner)
        await a.start()
        resumed = await SseReader(
            a.http_url + "/v1/associates/queue/stream", mia["token"], last_event_id=seen.id
        ).start()
        try:
            update = await resumed.next()
            assert (update.event, update.data["id"], update.data["state"]) == ("update", seen.data["id"], "claimed")
            new = await resumed.next()
            assert (new.event, new.data["id"]) == ("request", f"{other['room']}:{second}")
            assert int(seen.id) < int(update.id) < int(new.id)
        finally:
            await resumed.close()
        await owner.close()
        await other_owner.close()
    finally:
        cluster.kill()
