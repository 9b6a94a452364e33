"""Web Push (SPEC 18) to a real push receiver: RFC 8030 POST with TTL, a VAPID
Authorization verified against the deployment's public key, an RFC 8291 aes128gcm body
decrypted with the subscription's own keys; a 410 removes the subscription. And bad input
on the notification routes: malformed, oversized, unauthorized, flooding."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cosession_client import notify
from tests.integration.test_notify_webhook import NOTIFY, add_line, gone, member, vote
from tests.integration.test_tenants import bearer
from tests.support.push_receiver import PushReceiver
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

PUSH_ENV = {**NOTIFY, "COSESSION_PUSH_ALLOW_HTTP": "true", "COSESSION_PUSH_TTL": "3600"}


@pytest.fixture
async def push() -> AsyncIterator[PushReceiver]:
    r = await PushReceiver().start()
    try:
        yield r
    finally:
        await r.stop()


async def start(tmp_path: Path, env: dict[str, str]) -> ServerProcess:
    server = ServerProcess(tmp_path, "--presence-grace", "0.3", env=env)
    await server.start()
    return server


def notify_url(server: ServerProcess, room: dict[str, Any], path: str = "") -> str:
    return f"{server.http_url}/v1/rooms/{room['room']}/notify{path}"


async def subscribe(server: ServerProcess, room: dict[str, Any], token: str, sub: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(notify_url(server, room, "/push"), json=sub, headers=bearer(token))


async def settings_of(server: ServerProcess, room: dict[str, Any], token: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.get(notify_url(server, room), headers=bearer(token))
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_web_push_reaches_a_real_receiver_and_a_410_removes_the_subscription(
    tmp_path: Path, push: PushReceiver
) -> None:
    server = await start(tmp_path, PUSH_ENV)
    try:
        room = await server.create_room()
        owner, _ = await RawClient.join(server.ws_url, room["token"])
        ana, ana_id, ana_token = await member(server, room, "Ana")
        bea, bea_id, bea_token = await member(server, room, "Bea")
        ana_line = await add_line(ana, "jacket-a")
        bea_line = await add_line(bea, "jacket-b")
        page = f"/r/{room['invite']['code']}"
        r = await subscribe(server, room, ana_token, {**push.subscription("ana").to_json(), "page": page})
        assert r.status_code == 200, r.text
        key = r.json()["push_key"]
        assert r.json()["subscriptions"] == 1 and key
        # Bea subscribes with the Python client
        bea_settings = await notify.subscribe(
            server.http_url, bea_token, room["room"], push.subscription("bea").to_json()
        )
        assert bea_settings.subscriptions == 1 and bea_settings.push_key == key
        push.status["bea"] = 410  # Bea's browser dropped the subscription
        assert (await settings_of(server, room, bea_token))["subscriptions"] == 1

        await vote(owner, ana_line)  # Ana is online: no push
        await ana.close()
        await bea.close()
        await gone(owner, ana_id)
        await gone(owner, bea_id)
        await vote(owner, ana_line, "down")
        [got] = await push.wait_for(1)
        assert got.name == "ana" and got.ttl == 3600
        assert got.vapid_key == key  # signed with the deployment's key, verified by the receiver
        assert got.payload == {
            "t": "notification",
            "room": room["room"],
            "reasons": {"vote": 1},
            "count": 1,
            "digest": False,
            "url": page,
        }
        assert push.refused == []

        await vote(owner, bea_line)  # the push service answers 410: the subscription goes
        deadline = time.monotonic() + 20
        while (await settings_of(server, room, bea_token))["subscriptions"] != 0:
            assert time.monotonic() < deadline, push.requests
            await asyncio.sleep(0.1)
        assert push.requests.count("bea") == 1 and push.refused == []
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(server.http_url + "/metrics")).text
        assert "cosession_push_deliveries_total 1.0" in metrics and "cosession_push_gone_total 1.0" in metrics
        assert (await settings_of(server, room, ana_token))["subscriptions"] == 1
        # unsubscribe (the Python client's DELETE with the endpoint)
        left = await notify.unsubscribe(server.http_url, ana_token, room["room"], push.subscribers["ana"].endpoint)
        assert left.subscriptions == 0 and left.muted is False
        # the key was made once and kept in the database: the CLI shows the same one
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cosession", "push", "keys", "--database-url", f"sqlite:///{server.db}",
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert json.loads(out) == {"public_key": key}
        await owner.close()
    finally:
        server.kill()


async def test_notify_routes_refuse_bad_input(tmp_path: Path, push: PushReceiver) -> None:
    server = await start(tmp_path, {**NOTIFY, "COSESSION_NOTIFY_API_PER_MINUTE": "30"})  # https only
    try:
        room = await server.create_room()
        other = await server.create_room()
        joined = await server.accept(room["invite"]["code"], "Ana")
        token = joined["token"]
        good = push.subscription("ana").to_json()
        https = {**good, "endpoint": "https://push.example.invalid/x"}  # never called: nobody is notified
        url = notify_url(server, room, "/push")

        async def post(body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> httpx.Response:
            async with httpx.AsyncClient() as http:
                if raw is not None:
                    return await http.post(url, content=raw, headers={**bearer(token), **(headers or {})})
                return await http.post(url, json=body, headers=bearer(token) if headers is None else headers)

        def code(r: httpx.Response) -> tuple[int, str]:
            return r.status_code, r.json()["error"]["code"]

        # unauthorized: no token, a forged one, another room's
        assert code(await post(https, headers={})) == (401, "unauthorized")
        assert code(await post(https, headers=bearer("v1.forged.token"))) == (401, "unauthorized")
        assert code(await post(https, headers=bearer(other["token"]))) == (403, "forbidden")
        # malformed and oversized
        assert code(await post(None, raw=b"{not json")) == (400, "bad_json")
        assert code(await post(None, raw=b'{"endpoint": "' + b"x" * 20_000 + b'"}')) == (413, "too_large")
        assert code(await post({**https, "extra": 1})) == (422, "invalid_field")
        assert code(await post({"endpoint": https["endpoint"]})) == (422, "invalid_field")
        assert code(await post(good)) == (422, "invalid_field")  # http:// is refused here
        assert code(await post({**https, "endpoint": "ftp://push.example.invalid/x"})) == (422, "invalid_field")
        bad_point = {**https, "keys": {**good["keys"], "p256dh": "A" + good["keys"]["p256dh"][1:]}}
        assert code(await post(bad_point)) == (422, "invalid_field")
        short_auth = {**https, "keys": {**good["keys"], "auth": "AAAAAAAAAAAAAAAAAAAAAA"[:20]}}
        assert code(await post(short_auth)) == (422, "invalid_field")
        assert code(await post({**https, "page": "https://evil.example/"})) == (422, "invalid_field")
        async with httpx.AsyncClient() as http:
            r = await http.put(notify_url(server, room), json={"muted": "yes"}, headers=bearer(token))
            assert code(r) == (422, "invalid_field")
        # at most 5 subscriptions per member and room
        for i in range(5):
            r = await post({**https, "endpoint": f"https://push.example.invalid/{i}"})
            assert r.status_code == 200, r.text
        assert code(await post({**https, "endpoint": "https://push.example.invalid/6"})) == (
            409,
            "too_many_subscriptions",
        )
        # flooding: 30 calls a minute per member, then 429 with Retry-After
        statuses = []
        async with httpx.AsyncClient() as http:
            for _ in range(40):
                r = await http.get(notify_url(server, room), headers=bearer(token))
                statuses.append(r.status_code)
        assert 429 in statuses and set(statuses) <= {200, 429}
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and "retry-after" in r.headers
    finally:
        server.kill()
