"""Webhooks end to end: a real server process, a real receiver verifying signatures with
the ``standardwebhooks`` package, retries, dead-letter, redelivery, ordering, and a
``kill -9`` in the middle of the retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cosession_client import RoomClient
from protocol.messages import Ack, CartAdd, Chat, MemberKick, Product
from tests.integration.test_checkout import verify_checkout
from tests.integration.test_tenants import bearer, create_tenant
from tests.support.raw import RawClient
from tests.support.server import ServerProcess
from tests.support.webhook_receiver import Receiver

# a short schedule: ceilings 0.2, 0.4, 0.8, 1, 1 s (full jitter below each)
FAST = {
    "COSESSION_WEBHOOK_POLL": "0.1",
    "COSESSION_WEBHOOK_RETRIES": "5",
    "COSESSION_WEBHOOK_RETRY_BASE": "0.2",
    "COSESSION_WEBHOOK_RETRY_FACTOR": "2",
    "COSESSION_WEBHOOK_RETRY_CAP": "1",
    "COSESSION_WEBHOOK_TIMEOUT": "2",
}


async def start_server(tmp_path: Path, env: dict[str, str] | None = None, *args: str) -> ServerProcess:
    server = ServerProcess(tmp_path, "--presence-grace", "0.3", *args, env={**FAST, **(env or {})})
    await server.start()
    return server


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    try:
        yield r
    finally:
        await r.stop()


async def add_endpoint(server: ServerProcess, key: str, url: str, **fields: Any) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.post(
            server.http_url + "/v1/webhooks/endpoints", json={"url": url, **fields}, headers=bearer(key)
        )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def tenant_room(server: ServerProcess, key: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.post(server.http_url + "/v1/rooms", json={"name": "Hooks"}, headers=bearer(key))
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def join_member(server: ServerProcess, room: dict[str, Any], name: str) -> RawClient:
    joined = await server.accept(room["invite"]["code"], name)
    client, _ = await RawClient.join(server.ws_url, joined["token"])
    return client


async def get(server: ServerProcess, key: str, path: str) -> Any:
    async with httpx.AsyncClient() as http:
        r = await http.get(server.http_url + path, headers=bearer(key))
    assert r.status_code == 200, r.text
    return r.json()


async def until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met in {timeout}s (last: {value!r})")
        await asyncio.sleep(0.05)


async def test_signed_webhooks_for_room_and_members_reach_a_real_receiver(tmp_path: Path, receiver: Receiver) -> None:
    server = await start_server(tmp_path)
    try:
        tenant = await create_tenant(server)
        endpoint = await add_endpoint(server, tenant["secret_key"], receiver.url)
        assert endpoint["secret"].startswith("whsec_")
        receiver.secret = endpoint["secret"]
        room = await tenant_room(server, tenant["secret_key"])
        client = await join_member(server, room, "Ana")
        await client.ws.close()
        got = await receiver.wait_for(3)
        types = [d.body["type"] for d in got.values()]
        assert types == ["room.created", "member.joined", "member.left"]
        for d in got.values():
            assert d.headers["webhook-id"] == d.body["id"]
            assert d.body["data"]["room"] == room["room"]
            assert d.body["data"]["tenant"] == tenant["id"]
        joined = next(d for d in got.values() if d.body["type"] == "member.joined")
        left = next(d for d in got.values() if d.body["type"] == "member.left")
        assert joined.body["data"]["name"] == "Ana" and joined.body["data"]["role"] == "member"
        assert left.body["data"]["member"] == joined.body["data"]["member"]
        assert left.body["data"]["reason"] == "left"
        assert receiver.bad_signatures == 0
        # a kick is one member.left (reason kicked), not a second one when the grace ends
        owner, _ = await RawClient.join(server.ws_url, room["token"])
        bea = await join_member(server, room, "Bea")
        got = await receiver.wait_for(4)
        bea_id = list(got.values())[-1].body["data"]["member"]
        await owner.op(MemberKick(member=bea_id))
        got = await receiver.wait_for(5)
        kicked = list(got.values())[-1].body
        assert (kicked["type"], kicked["data"]["member"], kicked["data"]["reason"]) == ("member.left", bea_id, "kicked")
        await bea.ws.close()
        # a room without a tenant sends nothing
        await server.create_room()
        await asyncio.sleep(1.0)
        assert len(receiver.requests) == 5
        await owner.ws.close()  # the owner is a member too
        got = await receiver.wait_for(6)
        assert list(got.values())[-1].body["data"]["member"] == room["member"]
    finally:
        server.kill()


async def test_failing_receiver_gets_each_event_once_after_retries_in_room_order(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.fail_first = 3
    server = await start_server(tmp_path)
    try:
        tenant = await create_tenant(server)
        key = tenant["secret_key"]
        endpoint = await add_endpoint(server, key, receiver.url, event_types=["room.created", "member.joined"])
        receiver.secret = endpoint["secret"]
        room = await tenant_room(server, key)
        client = await join_member(server, room, "Ana")
        got = await receiver.wait_for(2, timeout=30)
        await client.ws.close()
        # each event once (after 3 failures each), the room's order kept
        assert [d.body["type"] for d in receiver.accepted] == ["room.created", "member.joined"]
        assert all(n == 4 for n in receiver.requests.values()), receiver.requests
        # member.joined was not even tried before room.created succeeded (its 4th request)
        created, joined = (d.id for d in receiver.accepted)
        assert receiver.arrivals == [created] * 4 + [joined] * 4
        # the delivery log shows the attempts
        base = f"/v1/webhooks/endpoints/{endpoint['id']}/messages"
        log = await until(lambda: _all_delivered(server, key, base, 2))
        for message in log:
            detail = await get(server, key, f"{base}/{message['id']}")
            attempts = detail["attempts"]
            assert [a["ok"] for a in attempts] == [False, False, False, True]
            assert [a["code"] for a in attempts] == [500, 500, 500, 204]
            assert detail["message"]["attempts"] == 4 and detail["message"]["status"] == "delivered"
            assert detail["message"]["id"] in got
    finally:
        server.kill()


async def _all_delivered(server: ServerProcess, key: str, path: str, count: int) -> list[dict[str, Any]] | None:
    messages: list[dict[str, Any]] = (await get(server, key, path))["messages"]
    if len(messages) == count and all(m["status"] == "delivered" for m in messages):
        return messages
    return None


async def test_dead_letter_after_the_schedule_then_redelivery(tmp_path: Path, receiver: Receiver) -> None:
    receiver.fail_all = True
    server = await start_server(tmp_path, {"COSESSION_WEBHOOK_RETRIES": "2"})
    try:
        tenant = await create_tenant(server)
        key = tenant["secret_key"]
        endpoint = await add_endpoint(server, key, receiver.url)
        receiver.secret = endpoint["secret"]
        await tenant_room(server, key)
        base = f"/v1/webhooks/endpoints/{endpoint['id']}/messages"

        async def dead() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (await get(server, key, base + "?status=dead"))["messages"]
            return found

        [message] = await until(dead)
        assert message["attempts"] == 3 and message["next_attempt_at"] is None
        assert sum(receiver.requests.values()) == 3  # 1 + 2 retries, then nothing more
        await asyncio.sleep(1.5)
        assert sum(receiver.requests.values()) == 3
        # redelivery with the same id once the receiver works again
        receiver.fail_all = False
        async with httpx.AsyncClient() as http:
            r = await http.post(server.http_url + f"{base}/{message['id']}/redeliver", headers=bearer(key))
            assert r.status_code == 202
            r = await http.post(server.http_url + f"{base}/msg_nope/redeliver", headers=bearer(key))
            assert r.status_code == 404 and r.json()["error"]["code"] == "message_not_found"
        got = await receiver.wait_for(1)
        assert list(got) == [message["id"]]
    finally:
        server.kill()


async def test_kill_9_mid_retry_loses_nothing(tmp_path: Path, receiver: Receiver) -> None:
    receiver.fail_first = 2
    # retries wait up to 1.5 s: the kill lands while messages are waiting for their retry
    env = {"COSESSION_WEBHOOK_RETRY_BASE": "1.5", "COSESSION_WEBHOOK_RETRY_CAP": "1.5"}
    server = await start_server(tmp_path, env)
    try:
        tenant = await create_tenant(server)
        key = tenant["secret_key"]
        endpoint = await add_endpoint(server, key, receiver.url, event_types=["room.created"])
        receiver.secret = endpoint["secret"]
        rooms = [await tenant_room(server, key) for _ in range(6)]
        await until(lambda: _async(len(receiver.requests) == 6))  # every message tried once, all failed
        server.kill()
        await server.start()
        got = await receiver.wait_for(6, timeout=40)
        assert sorted(d.body["data"]["room"] for d in got.values()) == sorted(r["room"] for r in rooms)
        # duplicates, if any, carry the same id (the receiver dedupes on it)
        assert {d.id for d in receiver.accepted} == set(got)
        assert receiver.bad_signatures == 0
    finally:
        server.kill()


async def test_a_hanging_receiver_times_out_and_never_delays_the_room(tmp_path: Path, receiver: Receiver) -> None:
    receiver.hang_first, receiver.hang = 1, 8.0
    server = await start_server(tmp_path, {"COSESSION_WEBHOOK_TIMEOUT": "0.5"})
    try:
        tenant = await create_tenant(server)
        key = tenant["secret_key"]
        endpoint = await add_endpoint(server, key, receiver.url)
        receiver.secret = endpoint["secret"]
        room = await tenant_room(server, key)
        await until(lambda: _async(len(receiver.requests) == 1))  # the receiver is hanging now
        owner, _ = await RawClient.join(server.ws_url, room["token"])
        ana = await join_member(server, room, "Ana")  # member.join commits while a webhook hangs
        await owner.op(Chat(text="still fast"))
        await owner.expect(Ack, timeout=3.0)  # acks never wait for a retailer
        got = await receiver.wait_for(2, timeout=20)
        assert [d.body["type"] for d in got.values()] == ["room.created", "member.joined"]
        base = f"/v1/webhooks/endpoints/{endpoint['id']}/messages"
        first = await get(server, key, f"{base}/{next(iter(got))}")
        assert [(a["ok"], a["code"]) for a in first["attempts"]] == [(False, None), (True, 204)]
        assert "timed out" in first["attempts"][0]["error"]
        await ana.ws.close()
    finally:
        server.kill()


async def _async(value: Any) -> Any:
    return value


async def test_room_closed_and_checkout_requested_reach_a_real_receiver(tmp_path: Path, receiver: Receiver) -> None:
    """A checkout delivers ``checkout.requested`` whose snapshot verifies with the
    docs/checkout.md recipe (and not once altered); closing the room through the admin
    API delivers ``room.closed``."""
    server = await start_server(tmp_path)
    try:
        tenant = await create_tenant(server)
        key = tenant["secret_key"]
        endpoint = await add_endpoint(server, key, receiver.url, event_types=["room.closed", "checkout.requested"])
        receiver.secret = endpoint["secret"]
        room = await tenant_room(server, key)
        async with RoomClient.connect(room["token"], server=server.http_url) as owner:
            await owner.submit(CartAdd(product=Product(id="sku-1", name="Café mug ☕", price=1200, currency="EUR")))
            snapshot = await owner.request_checkout("all")
        got = await receiver.wait_for(1)
        delivery = next(iter(got.values()))
        assert delivery.body["type"] == "checkout.requested"
        data = delivery.body["data"]
        assert data["room"] == room["room"] and data["tenant"] == tenant["id"]
        doc = data["checkout"]
        assert doc["t"] == "checkout.start" and doc["id"] == snapshot.id and doc["sig"] == snapshot.sig
        checkout_key = (await get(server, key, "/v1/tenant/checkout-key"))["key"]
        assert verify_checkout(doc, checkout_key)
        altered = {**doc, "lines": [{**doc["lines"][0], "qty": 5}]}
        assert not verify_checkout(altered, checkout_key)
        async with httpx.AsyncClient() as http:
            r = await http.post(
                f"{server.http_url}/v1/admin/rooms/{room['room']}/close", json={"reason": "done"}, headers=bearer(key)
            )
        assert r.status_code == 200, r.text
        got = await receiver.wait_for(2)
        closed = list(got.values())[-1].body
        assert closed["type"] == "room.closed"
        assert closed["data"]["reason"] == "done" and closed["data"]["seq"] > data["seq"]
        assert receiver.bad_signatures == 0
        await asyncio.sleep(0.5)  # and nothing else came
        assert len(receiver.unique()) == 2
    finally:
        server.kill()
