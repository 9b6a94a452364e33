"""Cart revalidation through a tenant's catalog endpoint (a real HTTP server in this test
process on 127.0.0.1): price and stock changes reach every member's line, a hanging
catalog never delays room ops, and the breaker opens after failures and recovers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cosession_client import RoomClient
from protocol.messages import CartAdd, PriceChange, Product
from tests.conftest import ServerFactory
from tests.integration.test_checkout import join, tenant_room, wait_until
from tests.integration.test_tenants import bearer, cli, create_tenant
from tests.support.catalog_server import CatalogServer
from tests.support.server import ServerProcess

SHIRT = Product(id="shirt", name="Linen shirt", price=4900, currency="EUR")


@pytest.fixture
async def catalog() -> AsyncIterator[CatalogServer]:
    server = CatalogServer(hang_seconds=30.0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def configure(server: ServerProcess, tenant: dict[str, Any], url: str | None) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.http_url, headers=bearer(tenant["secret_key"])) as http:
        r = await http.put("/v1/tenant/catalog", json={"url": url})
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data


async def catalog_status(server: ServerProcess, tenant: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.http_url, headers=bearer(tenant["secret_key"])) as http:
        data: dict[str, Any] = (await http.get("/v1/tenant/catalog")).json()
        return data


async def test_a_price_change_shows_on_every_members_line(
    server_factory: ServerFactory, catalog: CatalogServer
) -> None:
    server = await server_factory("--catalog-interval", "0.3")
    tenant, created = await tenant_room(server)
    assert (await configure(server, tenant, catalog.url))["url"] == catalog.url
    catalog.prices["shirt"] = 5200  # the retailer's price moved since the page was rendered
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        bo = await join(server, created, "Bo")
        try:
            line = await bo.submit(CartAdd(product=SHIRT))  # checked on add
            for client in (ana, bo):
                await wait_until(lambda c=client: bool(c.state.cart) and c.state.cart[0].price_changed is not None)
                assert client.state.cart[0].price_changed == PriceChange(old=4900, new=5200)
                assert client.state.cart[0].line == line and not client.state.cart[0].out_of_stock
            assert catalog.requests[0]["products"] == [{"id": "shirt", "price": 4900, "currency": "EUR"}]
            assert catalog.requests[0]["tenant"] == tenant["id"] and catalog.requests[0]["room"] == created["room"]

            catalog.out_of_stock.add("shirt")  # found by the periodic re-check
            for client in (ana, bo):
                await wait_until(lambda c=client: c.state.cart[0].out_of_stock)
            snapshot = await ana.request_checkout("all")  # the snapshot carries the price as shown
            assert snapshot.lines[0].price == 5200 and snapshot.lines[0].out_of_stock

            catalog.prices["shirt"] = 4900
            catalog.out_of_stock.clear()
            for client in (ana, bo):
                await wait_until(lambda c=client: c.state.cart[0].price_changed is None)
                await wait_until(lambda c=client: not c.state.cart[0].out_of_stock)
        finally:
            await bo.close()


async def test_a_hanging_catalog_never_delays_room_ops(server_factory: ServerFactory, catalog: CatalogServer) -> None:
    # every call hangs 30 s and the server waits up to 30 s for it: 20 adds must still ack at once
    server = await server_factory("--catalog-timeout", "30", "--catalog-interval", "3600")
    tenant, created = await tenant_room(server)
    await configure(server, tenant, catalog.url)
    catalog.mode = "hang"
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        first = await ana.submit(CartAdd(product=SHIRT))
        await wait_until(lambda: catalog.hanging == 1)  # the check of the first add is stuck
        async with asyncio.timeout(10):  # far below the 30 s hang
            seqs = await asyncio.gather(
                *(
                    ana.submit(CartAdd(product=Product(id=f"p{i}", name=f"P{i}", price=100 + i, currency="EUR")))
                    for i in range(20)
                )
            )
        assert sorted(seqs) == list(range(first + 1, first + 21))
        assert catalog.answered == 0 and catalog.hanging >= 1  # all acked while the catalog still hangs
        assert len(ana.state.cart) == 21 and all(ln.price_changed is None for ln in ana.state.cart)
        catalog.release()


async def test_the_breaker_opens_after_failures_and_recovers(
    server_factory: ServerFactory, catalog: CatalogServer
) -> None:
    server = await server_factory(
        "--catalog-interval",
        "0.2",
        "--catalog-breaker-failures",
        "3",
        "--catalog-breaker-cooldown",
        "4",
        "--catalog-timeout",
        "2",
    )
    tenant, created = await tenant_room(server)
    await configure(server, tenant, catalog.url)
    catalog.mode = "fail"
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        await ana.submit(CartAdd(product=SHIRT))
        async with asyncio.timeout(10):
            while (await catalog_status(server, tenant))["breaker"]["state"] != "open":
                await asyncio.sleep(0.05)
        calls = catalog.calls
        assert calls in (3, 4)  # three failures in a row (a fourth may have been in flight)
        await asyncio.sleep(1.0)  # ~5 periodic passes: none reaches the catalog while open
        assert catalog.calls == calls
        assert (await ana.submit(CartAdd(product=SHIRT, qty=1))) > 0  # the room goes on meanwhile

        catalog.mode = "ok"
        catalog.prices["shirt"] = 5100
        await wait_until(lambda: ana.state.cart[0].price_changed is not None, timeout=15)  # the half-open probe
        assert ana.state.cart[0].price_changed == PriceChange(old=4900, new=5100)
        status = await catalog_status(server, tenant)
        assert status["breaker"] == {"state": "closed", "failures": 0}


async def test_catalog_settings_need_the_secret_key_and_a_valid_url(server: ServerProcess) -> None:
    tenant, created = await tenant_room(server)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        assert (await http.put("/v1/tenant/catalog", json={"url": "http://x"})).status_code == 401
        member = await http.put("/v1/tenant/catalog", json={"url": "http://x"}, headers=bearer(created["token"]))
        assert member.status_code == 401
        sk = bearer(tenant["secret_key"])
        for body, status, code in (
            ({"url": "ftp://shop.example/c"}, 422, "invalid_field"),
            ({"url": "/relative"}, 422, "invalid_field"),
            ({"url": 7}, 422, "invalid_field"),
            ({"url": "http://a", "extra": 1}, 422, "invalid_field"),
        ):
            r = await http.put("/v1/tenant/catalog", json=body, headers=sk)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code)
        r = await http.put("/v1/tenant/catalog", content=b"{nope", headers=sk)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_json")
        r = await http.put("/v1/tenant/catalog", content=b"x" * 20_000, headers=sk)
        assert r.status_code == 413
        r = await http.put("/v1/tenant/catalog", json={"url": "https://shop.example/check"}, headers=sk)
        assert r.json()["url"] == "https://shop.example/check"
        r = await http.put("/v1/tenant/catalog", json={"url": None}, headers=sk)
        assert r.json() == {"tenant": tenant["id"], "url": None}


@pytest.mark.parametrize("mode", ["garbage", "huge"])
async def test_answers_off_the_contract_count_as_failures(
    server_factory: ServerFactory, catalog: CatalogServer, mode: str
) -> None:
    server = await server_factory("--catalog-interval", "0.2", "--catalog-breaker-failures", "2")
    tenant, created = await tenant_room(server)
    await configure(server, tenant, catalog.url)
    catalog.mode = mode  # type: ignore[assignment]
    catalog.prices["shirt"] = 1
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        await ana.submit(CartAdd(product=SHIRT))
        async with asyncio.timeout(10):
            while (await catalog_status(server, tenant))["breaker"]["state"] != "open":
                await asyncio.sleep(0.05)
        assert catalog.calls in (2, 3)  # the add's check and a periodic one may overlap
        assert ana.state.cart[0].price_changed is None and not ana.state.cart[0].out_of_stock


async def test_checkout_re_checks_the_lines_before_freezing_them(
    server_factory: ServerFactory, catalog: CatalogServer
) -> None:
    server = await server_factory("--catalog-interval", "3600")  # no periodic pass in this test
    tenant, created = await tenant_room(server)
    await configure(server, tenant, catalog.url)
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        bo = await join(server, created, "Bo")
        try:
            await bo.submit(CartAdd(product=SHIRT))
            await wait_until(lambda: catalog.answered == 1)  # the add's check: no price known
            assert ana.state.cart[0].price_changed is None
            catalog.prices["shirt"] = 5600  # changed since: only the checkout's check can see it
            snapshot = await ana.request_checkout("all")
            assert snapshot.lines[0].price == 5600 and catalog.calls == 2
            for client in (ana, bo):  # and the room shows it too
                await wait_until(lambda c=client: c.state.cart[0].price_changed is not None)
                assert client.state.cart[0].price_changed == PriceChange(old=4900, new=5600)
        finally:
            await bo.close()


async def test_a_checkout_waits_at_most_the_catalog_timeout_and_never_holds_other_ops(
    server_factory: ServerFactory, catalog: CatalogServer
) -> None:
    server = await server_factory("--catalog-timeout", "5", "--catalog-interval", "3600")
    tenant, created = await tenant_room(server)
    await configure(server, tenant, catalog.url)
    catalog.mode = "hang"
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        await ana.submit(CartAdd(product=SHIRT))
        order: list[str] = []

        async def checkout() -> None:
            snap = await ana.request_checkout("all")
            assert snap.lines[0].price == 4900  # as shown: the catalog did not answer in time
            order.append("checkout")

        async def others() -> None:
            for i in range(5):
                await ana.submit(CartAdd(product=Product(id=f"o{i}", name="O", price=1, currency="EUR")))
            order.append("others")

        async with asyncio.timeout(20):
            waiting = asyncio.create_task(checkout())
            await wait_until(lambda: catalog.calls >= 2)  # the checkout's check is out (and hangs)
            await others()
            await waiting
        assert order == ["others", "checkout"]
        catalog.release()


async def test_the_tenant_cli_sets_and_clears_the_catalog(server: ServerProcess, tmp_path: Path) -> None:
    tenant = await create_tenant(server)
    db = ["--database-url", f"sqlite:///{server.db}"]
    code, out, _ = await cli(
        "tenant", "catalog", "--tenant", tenant["id"], "--url", "https://shop.example/c", *db, cwd=tmp_path
    )
    assert code == 0 and out.strip() == "catalog: https://shop.example/c"
    assert (await catalog_status(server, tenant))["url"] == "https://shop.example/c"
    code, out, _ = await cli("tenant", "catalog", "--tenant", tenant["id"], *db, cwd=tmp_path)
    assert code == 0 and out.strip() == "catalog: https://shop.example/c"
    code, _, err = await cli("tenant", "catalog", "--tenant", tenant["id"], "--url", "gopher://x", *db, cwd=tmp_path)
    assert code == 2 and "http(s)" in err
    code, _, err = await cli("tenant", "catalog", "--tenant", "t_nobody", "--clear", *db, cwd=tmp_path)
    assert code == 2 and "no tenant" in err
    code, out, _ = await cli("tenant", "catalog", "--tenant", tenant["id"], "--clear", *db, cwd=tmp_path)
    assert code == 0 and out.strip() == "catalog: (none)"
    assert (await catalog_status(server, tenant))["url"] is None
