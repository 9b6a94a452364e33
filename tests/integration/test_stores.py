"""Stores and in-store QR codes on a real server: the admin API (and its bad input), QR
codes decoded with a real decoder (zxing-cpp), the CLI, and the ``/s/{tenant}/{store}``
join that opens a room with store context and marks its members in the store."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import PIL.Image
import zxingcpp

from cosession_client import RoomClient
from protocol.messages import StoreContext
from tests.support.admin import make_tenant, sk
from tests.support.server import ServerProcess

DOWNTOWN = {"name": "Downtown", "departments": ["Shoes", "Bags & Belts"]}


def decode_qr(png: bytes) -> str:
    found = zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(png)))
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode, found
    return str(found[0].text)


async def shop(server: ServerProcess) -> dict[str, str]:
    tenant = await make_tenant(f"sqlite:///{server.db}")
    async with httpx.AsyncClient(base_url=server.http_url, headers=sk(tenant["sk"])) as http:
        r = await http.put("/v1/admin/stores/downtown", json=DOWNTOWN)
        assert r.status_code == 200, r.text
    return tenant


async def test_store_admin_api_and_its_bad_input(server: ServerProcess) -> None:
    tenant = await shop(server)
    other = await make_tenant(f"sqlite:///{server.db}", "Other shop")
    async with httpx.AsyncClient(base_url=server.http_url, headers=sk(tenant["sk"])) as http:
        r = await http.get("/v1/admin/stores/downtown")
        assert r.status_code == 200
        assert r.json()["name"] == "Downtown" and r.json()["departments"] == ["Shoes", "Bags & Belts"]
        r = await http.put("/v1/admin/stores/mall-2", json={"name": "Mall", "departments": ["Shoes", "Shoes", " "]})
        assert r.status_code == 200 and r.json()["departments"] == ["Shoes"]
        assert [s["store"] for s in (await http.get("/v1/admin/stores")).json()["stores"]] == ["downtown", "mall-2"]
        bad_bodies: list[Any] = [
            {},
            {"name": ""},
            {"name": "x" * 101},
            {"name": "Ok", "departments": ["x" * 101]},
            {"name": "Ok", "departments": ["d"] * 51},
            {"name": "Ok", "departments": "Shoes"},
            {"name": "Ok", "extra": 1},
            {"name": "a\x00b"},
        ]
        for body in bad_bodies:
            r = await http.put("/v1/admin/stores/x", json=body)
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_field", (body, r.text)
        r = await http.put("/v1/admin/stores/x", content=b"{nope", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_json"
        r = await http.put("/v1/admin/stores/x", content=b"{" + b" " * 20_000 + b"}")
        assert r.status_code == 413
        for bad_id in ("Upper", "-dash", "x" * 65, "a%20b", "ä"):
            r = await http.put(f"/v1/admin/stores/{bad_id}", json={"name": "Ok"})
            assert r.status_code == 422, (bad_id, r.text)
            assert (await http.get(f"/v1/admin/stores/{bad_id}")).status_code == 404
        r = await http.get("/v1/admin/stores/nope")
        assert r.status_code == 404 and r.json()["error"]["code"] == "store_not_found"
        r = await http.get("/v1/admin/stores/downtown/qr", params={"department": "Toys"})
        assert r.status_code == 422
        r = await http.get("/v1/admin/stores/downtown/qr", params={"format": "gif"})
        assert r.status_code == 422
        r = await http.get("/v1/admin/stores/downtown/qr", params={"invite": "bad code!"})
        assert r.status_code == 422
        assert (await http.delete("/v1/admin/stores/mall-2")).json() == {"store": "mall-2", "deleted": True}
        assert (await http.delete("/v1/admin/stores/mall-2")).status_code == 404
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        for headers in ({}, sk("sk_nope")):
            r = await http.get("/v1/admin/stores/downtown", headers=headers)
            assert r.status_code == 401, r.text
        r = await http.get("/v1/admin/stores/downtown", headers=sk(tenant["pk"]))
        assert r.status_code == 403  # a publishable key is public
        # another tenant does not see (or print codes for) this tenant's store
        r = await http.get("/v1/admin/stores/downtown/qr", headers=sk(other["sk"]))
        assert r.status_code == 404


async def test_qr_codes_decode_to_the_store_url(server: ServerProcess) -> None:
    tenant = await shop(server)
    async with httpx.AsyncClient(base_url=server.http_url, headers=sk(tenant["sk"])) as http:
        r = await http.get("/v1/admin/stores/downtown/qr", params={"department": "Bags & Belts", "format": "png"})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        url = decode_qr(r.content)
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == server.http_url
        assert parts.path == f"/s/{tenant['id']}/downtown" and parse_qs(parts.query) == {"d": ["Bags & Belts"]}
        svg = await http.get("/v1/admin/stores/downtown/qr")
        assert svg.headers["content-type"] == "image/svg+xml" and svg.text.startswith("<svg")
        sheet = await http.get("/v1/admin/stores/downtown/qr-sheet")
        assert sheet.headers["content-type"].startswith("text/html")
        assert sheet.text.count("<svg") == 3 and "Bags &amp; Belts" in sheet.text
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
    assert page.status_code == 200 and "data-store-name='Downtown'" in page.text
    assert "data-department='Bags &amp; Belts'" in page.text


async def test_the_cli_prints_a_qr_code(server: ServerProcess, tmp_path: Path) -> None:
    tenant = await shop(server)
    out = tmp_path / "shoes.png"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cosession", "qr", "--tenant", tenant["id"], "--store", "downtown",
        "--department", "Shoes", "--format", "png", "--out", str(out), "--public-url", "https://rooms.example",
        "--database-url", f"sqlite:///{server.db}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        _, err = await proc.communicate()
    assert proc.returncode == 0, err
    assert decode_qr(out.read_bytes()) == f"https://rooms.example/s/{tenant['id']}/downtown?d=Shoes"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cosession", "qr", "--tenant", tenant["id"], "--store", "nope",
        "--database-url", f"sqlite:///{server.db}", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        _, err = await proc.communicate()
    assert proc.returncode == 2 and b"no store" in err


async def join_in_store(server: ServerProcess, tenant: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        return await http.post(f"/s/{tenant}/downtown/join", json=body)


async def test_a_store_qr_opens_a_room_with_store_context_and_in_store_presence(server: ServerProcess) -> None:
    tenant = await shop(server)
    r = await join_in_store(server, tenant["id"], {"name": "Ana", "department": "Shoes"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["store"] == {"store": "downtown", "name": "Downtown", "department": "Shoes"}
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        assert ana.state.store == StoreContext(store="downtown", name="Downtown", department="Shoes")
        assert ana.state.name == "Downtown, Shoes"
        # a friend at home joins through the share link: remote
        bo_joined = await server.accept(created["invite"], "Bo")
        # a second shopper joins the same room through an in-store QR with the invite
        r = await join_in_store(server, tenant["id"], {"name": "Cy", "invite": created["invite"]})
        assert r.status_code == 201, r.text
        cy_joined = r.json()
        async with (
            RoomClient.connect(bo_joined["token"], server=server.http_url) as bo,
            RoomClient.connect(cy_joined["token"], server=server.http_url),
        ):
            async with asyncio.timeout(10):
                while len(bo.presence) < 3:
                    await asyncio.sleep(0.02)
            in_store = {p.name: p.in_store for p in bo.presence.values()}
            assert in_store == {"Ana": True, "Bo": False, "Cy": True}


async def test_in_store_join_bad_input(server: ServerProcess) -> None:
    tenant = await shop(server)
    other = await make_tenant(f"sqlite:///{server.db}", "Other")
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.post("/v1/rooms", json={"name": "Elsewhere"}, headers=sk(other["sk"]))
        foreign_invite = r.json()["invite"]["code"]
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({}, 422, "invalid_field"),
        ({"name": ""}, 422, "invalid_field"),
        ({"name": "Ana", "department": "Toys"}, 422, "invalid_field"),
        ({"name": "Ana", "invite": "no such!"}, 422, "invalid_field"),
        ({"name": "Ana", "invite": "i_doesnotexist"}, 404, "invite_not_found"),
        ({"name": "Ana", "invite": foreign_invite}, 404, "invite_not_found"),  # another tenant's room
        ({"name": "Ana", "extra": True}, 422, "invalid_field"),
    ]
    for body, status, code in cases:
        r = await join_in_store(server, tenant["id"], body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (body, r.text)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.post(f"/s/{tenant['id']}/nope/join", json={"name": "Ana"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "store_not_found"
        r = await http.post(f"/s/{other['id']}/downtown/join", json={"name": "Ana"})
        assert r.status_code == 404
        r = await http.post(f"/s/{tenant['id']}/downtown/join", content=b"{x")
        assert r.status_code == 400
        assert (await http.get(f"/s/{tenant['id']}/nope")).status_code == 404
        assert (await http.get(f"/s/{tenant['id']}/UPPER")).status_code == 404


async def test_new_in_store_rooms_are_rate_limited(server_factory: Any) -> None:
    server = await server_factory("--rooms-per-minute", "3")
    tenant = await shop(server)
    statuses = [(await join_in_store(server, tenant["id"], {"name": "Ana"})).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
