"""``GET /v1/trends``: a tenant's anonymous trends over real rooms, as JSON and CSV, with
the minimum group size k enforced, a time window, and bad input, keys and floods refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from cosession.config import Settings
from cosession.tenants.store import TenantStore
from protocol.messages import Ack, CartAdd, Focus, Product
from tests.support.inprocess import InProcessServer, running_app
from tests.support.raw import RawClient
from tests.support.trend_rooms import RoomPlan, write_room

NOW = int(time.time() * 1000)
OLD = int(dt.datetime(2025, 3, 10, 12, tzinfo=dt.UTC).timestamp() * 1000)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[InProcessServer]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 't.db'}", trends_min_group=3, trends_per_minute=1000)
    async with running_app(settings) as server:
        yield server


async def _tenant(server: InProcessServer, name: str, *origins: str) -> dict[str, Any]:
    made = await TenantStore(server.services.store).create(name, origins)
    return {"id": made.tenant.id, "sk": made.secret_key, "pk": made.tenant.publishable_key}


def _auth(key: str, **extra: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", **extra}


async def _live_room(server: InProcessServer, sk: str, product: str) -> None:
    """A room made over REST with the tenant's key, whose owner looks at boots and then
    ``product`` (focus signals), and adds ``product``, over the WebSocket."""
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        made = (await http.post("/v1/rooms", json={}, headers=_auth(sk))).json()
    client, _ = await RawClient.join(server.ws_url, made["token"])
    shoe = Product(id=product, name="Shoe", price=5000, currency="EUR")
    for looked in (Product(id="sku-boot", name="Boot", price=9000, currency="EUR"), shoe, shoe):
        await client.send(Focus(product=looked))
    ref = await client.op(CartAdd(product=shoe))  # answered after the focus frames were handled
    await client.expect(Ack, ref=ref)
    await client.close()


async def test_trends_json_and_csv_over_live_and_stored_rooms(app: InProcessServer) -> None:
    shop, other = await _tenant(app, "Shop"), await _tenant(app, "Other")
    for _ in range(4):
        await _live_room(app, shop["sk"], "sku-shoe")
    for _ in range(3):  # converted rooms that also bought shoes and socks, and liked the shoes
        await write_room(
            app.services.store,
            RoomPlan(shop["id"], NOW, people=3, products=["sku-shoe", "sku-sock"], upvote_first=True, checkout=True),
        )
    for _ in range(3):  # another tenant's rooms never show
        await write_room(app.services.store, RoomPlan(other["id"], NOW, products=["sku-secret"], checkout=True))
    await write_room(app.services.store, RoomPlan(shop["id"], OLD, products=["sku-old"]))  # outside the window
    await app.services.focus.flush()  # the recorder writes every few seconds; now, for the test
    async with httpx.AsyncClient(base_url=app.http_url, timeout=10) as http:
        r = await http.get("/v1/trends", headers=_auth(shop["sk"]))
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        body = r.json()
        assert body["tenant"] == shop["id"] and body["window"]["days"] == 30 and not body["window"]["truncated"]
        t = body["trends"]
        assert t["k"] == 3 and t["rooms"] == 7 and t["people"] == 4 * 1 + 3 * 3
        assert [(p["product"], p["rooms"], p["units"]) for p in t["products"]] == [
            ("sku-shoe", 7, 7),
            ("sku-sock", 3, 3),
        ]
        # shoe-and-sock in 3 rooms, but shoe without sock in 4: both >= k, so the pair shows
        assert t["pairs"] == [{"a": "sku-shoe", "b": "sku-sock", "rooms": 3}]
        assert t["viewed_together"] == [{"a": "sku-boot", "b": "sku-shoe", "rooms": 4}]
        assert t["votes"] == [{"product": "sku-shoe", "up": 9, "down": None}]
        assert t["conversion"] == {"rooms": 7, "converted": 3, "rate": round(3 / 7, 4)}
        assert {b["size"]: b["rooms"] for b in t["group_sizes"]} == {
            "1": 4,
            "2": 0,
            "3": 3,
            "4": 0,
            "5-9": 0,
            "10+": 0,
        }
        assert "sku-secret" not in r.text and "sku-old" not in r.text

        old = (await http.get("/v1/trends?from=2025-03-01&to=2025-03-31", headers=_auth(shop["sk"]))).json()
        assert old["trends"]["rooms"] is None  # one room in that window: nothing published

        for request in (
            http.get("/v1/trends", headers=_auth(shop["sk"], accept="text/csv")),
            http.get("/v1/trends?format=csv", headers=_auth(shop["sk"])),
        ):
            got = await request
            assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
            assert "attachment" in got.headers["content-disposition"]
            rows = list(csv.reader(io.StringIO(got.text)))
            assert rows[0] == ["figure", "a", "b", "value"]
            assert ["rooms", "", "", "7"] in rows and ["product_rooms", "sku-shoe", "", "7"] in rows
            assert ["pair_rooms", "sku-shoe", "sku-sock", "3"] in rows and ["votes_down", "sku-shoe", "", ""] in rows

        # k above the server's floor is honoured: with k=4 the 3-room figures disappear
        strict = (await http.get("/v1/trends?k=4", headers=_auth(shop["sk"]))).json()["trends"]
        assert [p["product"] for p in strict["products"]] == ["sku-shoe"] and strict["pairs"] == []
        assert strict["conversion"]["converted"] is None and strict["votes"] == []


async def test_default_k_suppresses_small_tenants(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}")  # default k = 10
    async with running_app(settings) as server:
        shop = await _tenant(server, "Shop")
        for _ in range(9):
            await write_room(server.services.store, RoomPlan(shop["id"], NOW, products=["sku-a"], checkout=True))
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
            nine = (await http.get("/v1/trends", headers=_auth(shop["sk"]))).json()["trends"]
            assert nine["k"] == 10 and nine["rooms"] is None and nine["products"] == []
            assert nine["conversion"]["converted"] is None
            await write_room(server.services.store, RoomPlan(shop["id"], NOW, products=["sku-a"], checkout=True))
            ten = (await http.get("/v1/trends", headers=_auth(shop["sk"]))).json()["trends"]
            assert ten["rooms"] == 10 and ten["products"][0]["rooms"] == 10
            assert ten["conversion"]["converted"] == 10


async def test_bad_input_and_keys_are_refused(app: InProcessServer) -> None:
    shop = await _tenant(app, "Shop", "https://shop.example")
    room = await app.create_room()
    async with httpx.AsyncClient(base_url=app.http_url, timeout=10) as http:
        cases: list[tuple[dict[str, str], str, int, str]] = [
            ({}, "", 401, "unauthorized"),
            (_auth("sk_nope"), "", 401, "unauthorized"),
            (_auth(room["token"]), "", 401, "unauthorized"),  # a member token is not a tenant key
            (_auth(shop["pk"], origin="https://shop.example"), "", 403, "forbidden"),
        ]
        sk = _auth(shop["sk"])
        for query in (
            "from=2025-13-01",
            "from=yesterday",
            "from=2025-03-02&to=2025-03-01",
            "from=2020-01-01&to=2025-01-01",
            "k=2",  # below the server's k
            "k=abc",
            "limit=0",
            "limit=101",
            "format=xml",
            "tenant=t_other",
            "from=" + "9" * 5000,
        ):
            cases.append((sk, query, 422, "invalid_field"))
        for headers, query, status, code in cases:
            r = await http.get("/v1/trends?" + query, headers=headers)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), query
        assert (await http.post("/v1/trends", headers=sk)).status_code == 405


async def test_flood_is_limited_per_tenant(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'f.db'}", trends_per_minute=6)
    async with running_app(settings) as app, httpx.AsyncClient(base_url=app.http_url, timeout=10) as http:
        shop, other = await _tenant(app, "Shop"), await _tenant(app, "Other")
        statuses = [(await http.get("/v1/trends", headers=_auth(shop["sk"]))).status_code for _ in range(8)]
        assert statuses[:6] == [200] * 6 and statuses[6:] == [429, 429]
        refused = await http.get("/v1/trends", headers=_auth(shop["sk"]))
        assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["retry-after"]) >= 1
        assert (await http.get("/v1/trends", headers=_auth(other["sk"]))).status_code == 200


async def test_focus_is_recorded_without_members(app: InProcessServer) -> None:
    """The room_focus table has no column that could hold who looked, and a product
    focused by many members of a room is one row."""
    shop = await _tenant(app, "Shop")
    await _live_room(app, shop["sk"], "sku-shoe")
    await app.services.focus.flush()

    def read(conn: Connection) -> tuple[set[str], list[tuple[str, ...]]]:
        columns = {c["name"] for c in inspect(conn).get_columns("room_focus")}
        return columns, [tuple(r) for r in conn.execute(text("SELECT product FROM room_focus ORDER BY product"))]

    engine = app.services.store.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        columns, rows = await conn.run_sync(read)
    assert columns == {"room_id", "product", "first_ts"}
    assert rows == [("sku-boot",), ("sku-shoe",)]


async def test_a_tenant_raises_its_own_k_never_below_the_servers(app: InProcessServer) -> None:
    """``PUT /v1/admin/trends {"min_group"}``: the tenant's trends then use that k by
    default and refuse a smaller one; below the server's floor (3 here) is 422; another
    tenant keeps the server's k; DELETE goes back to it."""
    shop, other = await _tenant(app, "Shop"), await _tenant(app, "Other")
    for tenant in (shop, other):
        for _ in range(4):
            await write_room(app.services.store, RoomPlan(tenant["id"], NOW, products=["sku-a"], checkout=True))
    async with httpx.AsyncClient(base_url=app.http_url, timeout=10) as http:
        h = _auth(shop["sk"])
        state = (await http.get("/v1/admin/trends", headers=h)).json()
        assert state == {"min_group": None, "floor": 3, "effective": 3}
        assert (await http.get("/v1/trends", headers=h)).json()["trends"]["rooms"] == 4
        for bad, code in (({"min_group": 2}, 422), ({"min_group": 0}, 422), ({"min_group": "9"}, 422), ({}, 422)):
            r = await http.put("/v1/admin/trends", json=bad, headers=h)
            assert (r.status_code, r.json()["error"]["code"]) == (code, "invalid_field"), (bad, r.text)
        assert (await http.put("/v1/admin/trends", json={"min_group": 5}, headers=_auth(shop["pk"]))).status_code == 403
        assert (await http.put("/v1/admin/trends", json={"min_group": 5})).status_code == 401
        r = await http.put("/v1/admin/trends", json={"min_group": 5}, headers=h)
        assert r.status_code == 200 and r.json() == {"min_group": 5, "floor": 3, "effective": 5}
        mine = (await http.get("/v1/trends", headers=h)).json()["trends"]
        assert mine["k"] == 5 and mine["rooms"] is None and mine["products"] == []  # 4 rooms < 5
        r = await http.get("/v1/trends?k=4", headers=h)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_field"
        assert (await http.get("/v1/trends?k=6", headers=h)).json()["trends"]["k"] == 6  # more is allowed
        theirs = (await http.get("/v1/trends", headers=_auth(other["sk"]))).json()["trends"]
        assert theirs["k"] == 3 and theirs["rooms"] == 4
        r = await http.delete("/v1/admin/trends", headers=h)
        assert r.json() == {"min_group": None, "floor": 3, "effective": 3}
        assert (await http.get("/v1/trends", headers=h)).json()["trends"]["rooms"] == 4
