"""Checkout hand-off against a real server: the signed snapshot verifies with the recipe
of docs/checkout.md (and a tampered one does not), scope rules, REST lookup, bad input."""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest

from cosession_client import OpRejected, RoomClient
from protocol.errors import ErrorCode
from protocol.messages import CartAdd, CheckoutRequest, CheckoutStart, Error, Event, Op, Product
from tests.conftest import ServerFactory
from tests.integration.test_tenants import bearer, create_tenant
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

SHIRT = Product(id="shirt", name="Linen shirt", price=4900, currency="EUR")
MUG = Product(id="mug", name="Café mug ☕", price=1200, currency="EUR", variant="blue")


def verify_checkout(snapshot: dict[str, Any], key: str) -> bool:
    """The ten-line recipe from docs/checkout.md, verbatim (standard library only)."""
    doc = {k: v for k, v in snapshot.items() if k != "sig"}
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    mac = hmac.new(key.encode("utf-8"), canonical, hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
    if not hmac.compare_digest(expected, str(snapshot.get("sig", ""))):
        return False  # forged or altered
    return int(snapshot["expires_at"]) > time.time() * 1000  # not expired


async def tenant_room(server: ServerProcess) -> tuple[dict[str, Any], dict[str, Any]]:
    tenant = await create_tenant(server)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.post(
            "/v1/rooms", json={"name": "Brunch", "owner_name": "Ana"}, headers=bearer(tenant["secret_key"])
        )
        assert r.status_code == 201, r.text
        return tenant, r.json()


async def join(server: ServerProcess, created: dict[str, Any], name: str, role: str = "member") -> RoomClient:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.post(
            f"/v1/rooms/{created['room']}/invites",
            json={"role": role},
            headers=bearer(created["token"]),
        )
        assert r.status_code == 201, r.text
    joined = await server.accept(r.json()["code"], name)
    return await RoomClient.connect(joined["token"], server=server.http_url)


async def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_snapshot_verifies_with_the_documented_recipe_and_a_tampered_one_does_not(
    server: ServerProcess,
) -> None:
    tenant, created = await tenant_room(server)
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        bo = await join(server, created, "Bo")
        try:
            await bo.submit(CartAdd(product=SHIRT, qty=2))
            await ana.submit(CartAdd(product=MUG))
            events = bo.events()
            snapshot = await ana.request_checkout("all")
            # every member sees "checkout started by Ana", with the frozen lines
            async with asyncio.timeout(10):
                async for item in events:
                    if isinstance(item, Event) and isinstance(item.op, CheckoutStart):
                        assert item.op == snapshot and item.by == ana.member
                        break
            assert snapshot.requested_by_name == "Ana" and snapshot.scope == "all"
            assert [(ln.product.id, ln.qty, ln.price, ln.added_by_name) for ln in snapshot.lines] == [
                ("shirt", 2, 4900, "Bo"),
                ("mug", 1, 1200, "Ana"),
            ]
            assert snapshot.room == created["room"] and snapshot.tenant == tenant["id"]
            assert snapshot.expires_at > snapshot.created_at
            assert [c.id for c in bo.state.checkouts] == [snapshot.id]

            async with httpx.AsyncClient(base_url=server.http_url, headers=bearer(tenant["secret_key"])) as http:
                key = (await http.get("/v1/tenant/checkout-key")).json()["key"]
                fetched = (await http.get(f"/v1/checkouts/{snapshot.id}")).json()
            doc = fetched["checkout"]
            assert fetched["valid"] is True and fetched["expired"] is False
            assert doc["t"] == "checkout.start" and doc["id"] == snapshot.id
            assert verify_checkout(doc, key)

            for tamper in (
                lambda d: d["lines"][0].__setitem__("price", 1),
                lambda d: d["lines"][0].__setitem__("qty", 3),
                lambda d: d.__setitem__("expires_at", d["expires_at"] + 1),
                lambda d: d["lines"].pop(),
                lambda d: d.__setitem__("sig", d["sig"][:-2] + ("AA" if not d["sig"].endswith("AA") else "BB")),
            ):
                bad = copy.deepcopy(doc)
                tamper(bad)
                assert not verify_checkout(bad, key)
            assert not verify_checkout(doc, key[:-1] + ("A" if key[-1] != "A" else "B"))  # another key
        finally:
            await bo.close()


async def test_rooms_without_a_tenant_sign_with_the_server_secret_and_verify_over_rest(
    server: ServerProcess,
) -> None:
    created = await server.create_room(owner_name="Ana")
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        await ana.submit(CartAdd(product=SHIRT))
        snapshot = await ana.request_checkout("mine")
        assert snapshot.tenant == "" and len(snapshot.lines) == 1
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            ok = await http.get(f"/v1/checkouts/{snapshot.id}", headers=bearer(created["token"]))
            assert ok.status_code == 200 and ok.json()["valid"] is True
            assert (await http.get(f"/v1/checkouts/{snapshot.id}")).status_code == 401
            missing = await http.get(f"/v1/checkouts/co.{created['room']}.nope", headers=bearer(created["token"]))
            assert missing.status_code == 404 and missing.json()["error"]["code"] == "checkout_not_found"
            garbage = await http.get("/v1/checkouts/whatever", headers=bearer(created["token"]))
            assert garbage.status_code == 404
            other = await server.create_room(owner_name="Zed")
            foreign = await http.get(f"/v1/checkouts/{snapshot.id}", headers=bearer(other["token"]))
            assert foreign.status_code == 403


async def test_scope_rules(server: ServerProcess) -> None:
    created = await server.create_room(owner_name="Ana")
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        bo = await join(server, created, "Bo")
        vic = await join(server, created, "Vic", role="viewer")
        try:
            with pytest.raises(OpRejected) as empty:
                await ana.request_checkout("all")  # nothing in the cart
            assert empty.value.code == ErrorCode.EMPTY_CHECKOUT
            await ana.submit(CartAdd(product=SHIRT))
            with pytest.raises(OpRejected) as viewer:
                await vic.request_checkout("mine")
            assert viewer.value.code == ErrorCode.FORBIDDEN
            with pytest.raises(OpRejected) as member_all:
                await bo.request_checkout("all")
            assert member_all.value.code == ErrorCode.FORBIDDEN
            with pytest.raises(OpRejected) as none_of_mine:
                await bo.request_checkout("mine")
            assert none_of_mine.value.code == ErrorCode.EMPTY_CHECKOUT
            await bo.submit(CartAdd(product=MUG))
            mine = await bo.request_checkout("mine")
            assert [ln.product.id for ln in mine.lines] == ["mug"] and mine.requested_by_name == "Bo"
            everything = await ana.request_checkout("all")
            assert [ln.product.id for ln in everything.lines] == ["shirt", "mug"]
            owner_mine = await ana.request_checkout("mine")
            assert [ln.product.id for ln in owner_mine.lines] == ["shirt"]
            assert [c.id for c in vic.state.checkouts] == [mine.id, everything.id, owner_mine.id]
        finally:
            await bo.close()
            await vic.close()


async def test_bad_checkout_requests_get_documented_errors(server_factory: ServerFactory) -> None:
    server = await server_factory("--ops-burst", "5", "--ops-per-second", "1")
    created = await server.create_room(owner_name="Ana")
    raw, _ = await RawClient.join(server.ws_url, created["token"], fmt="json")
    try:
        # malformed: unknown scope, missing scope, an extra field, server-only bodies
        for frame in (
            {"t": "op", "ref": "a", "op": {"t": "checkout.request", "scope": "everything"}},
            {"t": "op", "ref": "b", "op": {"t": "checkout.request"}},
            {"t": "op", "ref": "c", "op": {"t": "checkout.request", "scope": "all", "lines": []}},
            {"t": "op", "ref": "d", "op": {"t": "checkout.start", "id": "co.x.y", "sig": "forged"}},
            {"t": "op", "ref": "e", "op": {"t": "cart.revalidate", "line": 1, "price": 0}},
        ):
            await raw.send_raw(json.dumps(frame))
            err = await raw.expect(Error)
            assert err.code == ErrorCode.INVALID_FIELD
        # oversized: over max_frame_bytes closes with 1009, like any frame
        big, _ = await RawClient.join(server.ws_url, created["token"], fmt="json")
        await big.send_raw(
            json.dumps({"t": "op", "ref": "x" * 70_000, "op": {"t": "checkout.request", "scope": "all"}})
        )
        assert await big.closed_with() == 1009
    finally:
        await raw.close()
    # flooding: past the bucket, checkout requests get rate_limited with their ref
    flood, _ = await RawClient.join(server.ws_url, created["token"], fmt="msgpack")
    try:
        for i in range(12):
            await flood.send(Op(ref=f"f{i}", op=CheckoutRequest(scope="all")))
        codes = []
        async with asyncio.timeout(10):
            while len(codes) < 12:
                msg = await flood.recv()
                if isinstance(msg, Error) and msg.ref is not None:
                    codes.append(msg.code)
        assert ErrorCode.RATE_LIMITED in codes  # and the rest: empty_checkout (nothing in the cart)
        assert set(codes) <= {ErrorCode.RATE_LIMITED, ErrorCode.EMPTY_CHECKOUT}
    finally:
        await flood.close()
