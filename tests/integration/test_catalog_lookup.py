"""``GET /v1/catalog/lookup`` and ``/v1/catalog/search`` on a real server: the demo
catalog for rooms without a catalog endpoint, the tenant's endpoint (a real HTTP server
on 127.0.0.1) when configured, and bad input (malformed 422, unknown 404, no or a bad
token 401, a kicked member 403, flooding 429, a failing catalog 503)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cosession.retail.demo_catalog import DEMO, gtin_check_digit, normalize_code
from cosession_client import RoomClient
from tests.conftest import ServerFactory
from tests.integration.test_catalog_revalidation import configure
from tests.integration.test_checkout import join, tenant_room
from tests.integration.test_tenants import bearer
from tests.support.catalog_server import CatalogServer
from tests.support.server import ServerProcess

SHOES = "4006381334327"


@pytest.fixture
async def catalog() -> AsyncIterator[CatalogServer]:
    server = CatalogServer(hang_seconds=30.0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def anonymous_room(server: ServerProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.post("/v1/rooms", json={"name": "Shoes", "owner_name": "Ana"})
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data


async def get(server: ServerProcess, path: str, token: str | None, **params: Any) -> httpx.Response:
    headers = bearer(token) if token else {}
    async with httpx.AsyncClient(base_url=server.http_url, headers=headers) as http:
        return await http.get(path, params=params)


def test_codes_normalize_and_every_demo_code_is_a_valid_ean13() -> None:
    for item in DEMO:
        code = item.product.id
        assert len(code) == 13 and gtin_check_digit(code[:-1]) == code[-1]
    assert len(DEMO) >= 30 and len({i.product.id for i in DEMO}) == len(DEMO)
    assert normalize_code("036000291452") == "0036000291452"  # UPC-A -> EAN-13
    assert normalize_code(" 4006381-334327 ") == SHOES
    assert normalize_code("https://shop.example/p/1") == "https://shop.example/p/1"
    for bad in ("4006381334328", "12345", "", "a\x01b", "x" * 513):
        with pytest.raises(ValueError):
            normalize_code(bad)


async def test_lookup_and_search_in_the_demo_catalog(server: ServerProcess) -> None:
    created = await anonymous_room(server)
    r = await get(server, "/v1/catalog/lookup", created["token"], code=SHOES)
    assert r.status_code == 200, r.text
    assert r.json() == {"products": [{"id": SHOES, "name": "Running shoes", "price": 12999, "currency": "EUR"}]}
    # a QR code whose text is a product URL ending in the code
    r = await get(server, "/v1/catalog/lookup", created["token"], code=f"https://shop.example/p/{SHOES}")
    assert r.status_code == 200 and r.json()["products"][0]["id"] == SHOES
    r = await get(server, "/v1/catalog/search", created["token"], q="shoes")
    assert r.status_code == 200
    names = [p["name"] for p in r.json()["products"]]
    assert "Running shoes" in names and "Leather boots" in names and "Linen shirt" not in names
    r = await get(server, "/v1/catalog/search", created["token"], q="", limit=3)
    assert len(r.json()["products"]) == 3


async def test_lookup_bad_input(server_factory: ServerFactory) -> None:
    server = await server_factory("--catalog-lookups-per-minute", "12")
    created = await anonymous_room(server)
    token = created["token"]
    malformed = [{"code": "4006381334328"}, {"code": "123"}, {"code": "x" * 600}, {"code": ""}, {}, {"code": "a\x07"}]
    for params in malformed:
        r = await get(server, "/v1/catalog/lookup", token, **params)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_field", (params, r.text)
    r = await get(server, "/v1/catalog/lookup", token, code="5901234123457")  # valid EAN, not in the catalog
    assert r.status_code == 404 and r.json()["error"]["code"] == "product_not_found"
    for bad_token in (None, "v1.nope.nope", token[:-2] + "xx"):
        r = await get(server, "/v1/catalog/lookup", bad_token, code=SHOES)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", r.text
    r = await get(server, "/v1/catalog/search", token, limit=0)
    assert r.status_code == 422
    r = await get(server, "/v1/catalog/search", token, q="x" * 101)
    assert r.status_code == 422
    # flooding: the member's bucket (12 a minute) runs dry; 429 with Retry-After
    statuses = [(await get(server, "/v1/catalog/search", token, q="shirt")).status_code for _ in range(12)]
    assert statuses[-1] == 429 and 200 in statuses
    r = await get(server, "/v1/catalog/lookup", token, code=SHOES)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
    # another member of the room has a bucket of its own
    other = await anonymous_room(server)
    assert (await get(server, "/v1/catalog/lookup", other["token"], code=SHOES)).status_code == 200


async def test_a_tenants_catalog_endpoint_answers_lookups_and_searches(
    server: ServerProcess, catalog: CatalogServer
) -> None:
    tenant, created = await tenant_room(server)
    token = created["token"]
    await configure(server, tenant, catalog.url)
    catalog.products = {
        "0036000291452": {"id": "0036000291452", "name": "Trail shoe", "price": 8900, "currency": "USD"},
        "sku-9": {"id": "sku-9", "name": "Trail sock", "price": 900, "currency": "USD"},
    }
    r = await get(server, "/v1/catalog/lookup", token, code="036000291452")  # UPC-A, asked as EAN-13
    assert r.status_code == 200, r.text
    assert r.json()["products"][0]["name"] == "Trail shoe"
    assert catalog.requests[-1] == {"tenant": tenant["id"], "lookup": "0036000291452"}
    r = await get(server, "/v1/catalog/lookup", token, code=SHOES)  # a demo code is not the shop's
    assert r.status_code == 404
    r = await get(server, "/v1/catalog/search", token, q="trail", limit=1)
    assert r.status_code == 200 and len(r.json()["products"]) == 1
    assert catalog.requests[-1] == {"tenant": tenant["id"], "search": "trail", "limit": 1}
    catalog.mode = "fail"
    r = await get(server, "/v1/catalog/lookup", token, code="036000291452")
    assert r.status_code == 503 and r.json()["error"]["code"] == "catalog_unavailable"
    catalog.mode = "garbage"
    r = await get(server, "/v1/catalog/search", token, q="trail")
    assert r.status_code == 503 and r.json()["error"]["code"] == "catalog_unavailable"


async def test_a_kicked_member_may_not_look_up(server: ServerProcess) -> None:
    _, created = await tenant_room(server)
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        bo = await join(server, created, "Bo")
        bo_token = bo.token
        await bo.close()
        await ana.kick(bo.member)
    r = await get(server, "/v1/catalog/lookup", bo_token, code=SHOES)
    assert r.status_code == 403 and r.json()["error"]["code"] == "kicked"


async def test_an_associate_token_searches_its_tenants_catalog(server_factory: ServerFactory) -> None:
    """The associate console searches before it is in any room: an ``at_`` token is a
    caller of its own (its tenant's catalog, its own bucket); a revoked one is refused."""
    server = await server_factory()
    tenant, _ = await tenant_room(server)
    async with httpx.AsyncClient(base_url=server.http_url, headers=bearer(tenant["secret_key"])) as http:
        r = await http.post("/v1/tenant/associates", json={"name": "Sam"})
        assert r.status_code == 201, r.text
        associate = r.json()
    found = await get(server, "/v1/catalog/lookup", associate["token"], code=SHOES)
    assert found.status_code == 200, found.text
    assert [p["id"] for p in found.json()["products"]] == [SHOES]
    search = await get(server, "/v1/catalog/search", associate["token"], q="shoe")
    assert search.status_code == 200 and search.json()["products"]
    token = associate["token"]
    forged = await get(server, "/v1/catalog/search", token[:-1] + ("A" if token[-1] != "A" else "B"), q="shoe")
    assert forged.status_code == 401
    async with httpx.AsyncClient(base_url=server.http_url, headers=bearer(tenant["secret_key"])) as http:
        r = await http.delete(f"/v1/tenant/associates/{associate['associate']}")
        assert r.status_code in (200, 204), r.text
    revoked = await get(server, "/v1/catalog/search", associate["token"], q="shoe")
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "token_revoked"
