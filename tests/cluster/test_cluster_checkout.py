"""Checkout and revalidation across two cluster nodes (real Redis and PostgreSQL): the
snapshot signed on one node verifies on the other, and a price change found by the node
of the member who added the line reaches the member on the other node, once."""

from __future__ import annotations

from pathlib import Path

import httpx

from cosession_client import RoomClient
from protocol.messages import CartAdd, PriceChange, Product
from tests.integration.test_checkout import verify_checkout, wait_until
from tests.integration.test_tenants import bearer
from tests.support.catalog_server import CatalogServer
from tests.support.cluster import Cluster
from tests.support.redis_server import RedisServer

SHIRT = Product(id="shirt", name="Linen shirt", price=4900, currency="EUR")


def snapshot_seq(client: RoomClient, checkout_id: str) -> int:
    return next(c.seq for c in client.state.checkouts if c.id == checkout_id)


async def test_checkout_and_revalidation_across_nodes(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> None:
    from cosession.store.store_sql import SqlStore
    from cosession.tenants.store import TenantStore

    catalog = CatalogServer()
    await catalog.start()
    cluster = Cluster(tmp_path, redis_server.url, postgres_url, 2, "--catalog-interval", "3600")
    await cluster.start()
    try:
        store = SqlStore(postgres_url)
        await store.start()
        try:
            made = await TenantStore(store).create("Shop", [])
        finally:
            await store.close()
        sk = bearer(made.secret_key)
        a, b = cluster.nodes
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.put(a.http_url + "/v1/tenant/catalog", json={"url": catalog.url}, headers=sk)).is_success
            r = await http.post(a.http_url + "/v1/rooms", json={"name": "R", "owner_name": "Ana"}, headers=sk)
            created = r.json()
            joined = await b.accept(created["invite"]["code"], "Bo")
        catalog.prices["shirt"] = 5300
        async with (
            RoomClient.connect(created["token"], server=a.http_url) as ana,
            RoomClient.connect(joined["token"], server=b.http_url) as bo,
        ):
            await bo.submit(CartAdd(product=SHIRT))
            for client in (ana, bo):
                await wait_until(lambda c=client: bool(c.state.cart) and c.state.cart[0].price_changed is not None)
                assert client.state.cart[0].price_changed == PriceChange(old=4900, new=5300)
            snapshot = await ana.request_checkout("all")
            await bo.wait_for_seq(ana.seq)
            async with httpx.AsyncClient(timeout=10, headers=sk) as http:
                key = (await http.get(b.http_url + "/v1/tenant/checkout-key")).json()["key"]
                fetched = (await http.get(b.http_url + f"/v1/checkouts/{snapshot.id}")).json()
            assert fetched["valid"] is True and verify_checkout(fetched["checkout"], key)
            assert fetched["checkout"]["lines"][0]["price"] == 5300
            await wait_until(lambda: catalog.calls >= 2)
            assert catalog.calls == 2  # the add (on Bo's node only) and the checkout (on Ana's only)
            assert ana.seq == snapshot_seq(ana, snapshot.id)  # no cart.revalidate after the checkout
    finally:
        cluster.kill()
        await catalog.stop()
