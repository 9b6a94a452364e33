"""Product Q&A across two cluster nodes (real Redis and PostgreSQL): answers posted on
either node reach every asking room, whichever node its members use, exactly once in each
room's log — while both nodes' sweeps race the posting node to deliver the same answers
(the server ref ``qa.answer:<answer>`` dedupes in the Redis sequencer)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx

from cosession_client import RoomClient
from protocol.messages import Product, QaAnswer, QaHide
from tests.integration.test_checkout import wait_until
from tests.integration.test_tenants import bearer
from tests.support.cluster import Cluster
from tests.support.redis_server import RedisServer

JACKET = Product(id="jacket-7", name="Rain jacket", price=8900, currency="EUR")


async def test_each_answer_lands_once_in_each_asking_room_across_nodes(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> None:
    from cosession.store.store_sql import SqlStore
    from cosession.tenants.store import TenantStore

    cluster = Cluster(tmp_path, redis_server.url, postgres_url, 2, "--qa-sweep-interval", "0.05")
    await cluster.start()
    store = SqlStore(postgres_url)
    await store.start()
    try:
        made = await TenantStore(store).create("Shop", [])
        sk = bearer(made.secret_key)
        a, b = cluster.nodes
        async with httpx.AsyncClient(timeout=10) as http:
            rooms = [
                (
                    await http.post(node.http_url + "/v1/rooms", json={"name": "R", "owner_name": "Ana"}, headers=sk)
                ).json()
                for node in (a, b) * 4
            ]
            buyers = [
                (await http.post(a.http_url + "/v1/tenant/buyers", json={"name": name}, headers=sk)).json()
                for name in ("Dana", "Eli")
            ]
        for n, created in enumerate(rooms[2:]):  # six more rooms asked, then everyone left
            async with RoomClient.connect(created["token"], server=(a, b)[n % 2].http_url) as asker:
                await asker.ask_past_buyers(JACKET, f"Question {n}?")
        async with (
            RoomClient.connect(rooms[0]["token"], server=a.http_url) as ana,
            RoomClient.connect(rooms[1]["token"], server=b.http_url) as cleo,
        ):
            await ana.ask_past_buyers(JACKET, "Waterproof?")
            await cleo.ask_past_buyers(JACKET, "Hood removable?")
            async with httpx.AsyncClient(timeout=10) as http:
                thread = None
                async with asyncio.timeout(10):
                    while thread is None or len(thread["questions"]) < len(rooms):
                        thread = (await http.get(a.http_url + f"/v1/qa/{made.tenant.id}/products/{JACKET.id}")).json()
                answer_ids = []
                for n in range(6):  # alternate nodes and buyers
                    node = (a, b)[n % 2]
                    token = buyers[n % 2]["token"]
                    r = await http.post(
                        node.http_url + f"/v1/qa/threads/{thread['thread']}/answers",
                        json={"text": f"answer {n}"},
                        headers=bearer(token),
                    )
                    assert r.status_code == 201, r.text
                    answer_ids.append(r.json()["answer"])
                hide = await http.post(b.http_url + f"/v1/admin/qa/answers/{answer_ids[0]}/hide", headers=sk)
                assert hide.status_code == 200
            for client in (ana, cleo):
                await wait_until(
                    lambda c=client: (
                        sum(1 for i in c.state.qa if i.kind == "answer") == 6 and any(i.hidden for i in c.state.qa)
                    ),
                    timeout=20,
                )
        # in each room's durable log (the ones nobody was in too): every answer exactly
        # once, the hide exactly once
        # (answers and the hide reach rooms nobody is in through delivery rows and sweeps,
        # each at its own pace: wait until all of them are there, then count)
        for created in rooms:

            async def delivered(room: str = created["room"]) -> bool:
                events = await store.events_after(room, 0, 10_000)
                answered = {e.op.answer for e in events if isinstance(e.op, QaAnswer)}
                return answered >= set(answer_ids) and any(isinstance(e.op, QaHide) for e in events)

            async with asyncio.timeout(20):
                while not await delivered():
                    await asyncio.sleep(0.05)
            events = await store.events_after(created["room"], 0, 10_000)
            answers = Counter(e.op.answer for e in events if isinstance(e.op, QaAnswer))
            hides = Counter(e.op.answer for e in events if isinstance(e.op, QaHide))
            assert answers == Counter(answer_ids), answers
            assert hides == Counter([answer_ids[0]]), hides
            seqs = [e.seq for e in events]
            assert seqs == list(range(1, len(seqs) + 1))
    finally:
        await store.close()
        cluster.kill()
