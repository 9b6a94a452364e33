"""Tenants against a real server: keys from the CLI, the publishable/secret key rules,
per-tenant CORS, the WebSocket Origin check, and the browser-facing routes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol.errors import CloseCode, ErrorCode
from protocol.messages import Error, Hello, Welcome
from tests.conftest import ServerFactory
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

SHOP = "https://shop.example"
EVIL = "https://evil.example"


async def cli(*args: str, cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cosession",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def create_tenant(server: ServerProcess, *origins: str, name: str = "Shop") -> dict[str, Any]:
    """A tenant in the server's database, made in-process (the CLI test covers the command)."""
    from cosession.store.store_sql import SqlStore
    from cosession.tenants.store import TenantStore

    store = SqlStore(f"sqlite:///{server.db}")
    await store.start()
    try:
        made = await TenantStore(store).create(name, origins)
    finally:
        await store.close()
    t = made.tenant
    return {
        "id": t.id,
        "name": t.name,
        "origins": list(t.origins),
        "secret_key": made.secret_key,
        "publishable_key": t.publishable_key,
    }


def bearer(key: str, origin: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {key}"}
    if origin is not None:
        headers["origin"] = origin
    return headers


async def test_cli_prints_both_keys_and_stores_only_the_secret_hash(server: ServerProcess) -> None:
    code, out, err = await cli(
        "tenant",
        "create",
        "--name",
        "Acme",
        "--origin",
        "HTTPS://Shop.Example:443/",
        "--origin",
        "http://127.0.0.1:9000",
        "--database-url",
        f"sqlite:///{server.db}",
        cwd=server.workdir,
    )
    assert code == 0, err
    secret = next(line.split()[-1] for line in out.splitlines() if line.startswith("secret key:"))
    publishable = next(line.split()[-1] for line in out.splitlines() if line.startswith("publishable key:"))
    assert secret.startswith("sk_") and publishable.startswith("pk_")
    assert "https://shop.example" in out and "http://127.0.0.1:9000" in out
    assert secret.encode() not in server.db.read_bytes()  # only its sha256 is stored
    code, out, _ = await cli("tenant", "list", "--database-url", f"sqlite:///{server.db}", cwd=server.workdir)
    assert code == 0 and publishable in out and "Acme" in out
    code, out, err = await cli(
        "tenant",
        "create",
        "--name",
        "Json",
        "--origin",
        SHOP,
        "--json",
        "--database-url",
        f"sqlite:///{server.db}",
        cwd=server.workdir,
    )
    assert code == 0, err
    made = json.loads(out)
    assert made["origins"] == [SHOP] and made["secret_key"].startswith("sk_")
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:  # the running server sees it
        me = await http.get("/v1/tenant", headers=bearer(made["secret_key"]))
        assert me.status_code == 200 and me.json()["name"] == "Json"
    bad, _, err = await cli(
        "tenant",
        "create",
        "--name",
        "X",
        "--origin",
        "ftp://x",
        "--database-url",
        f"sqlite:///{server.db}",
        cwd=server.workdir,
    )
    assert bad == 2 and "origin" in err


async def test_publishable_key_creates_rooms_only_from_allowed_origins(server: ServerProcess) -> None:
    tenant = await create_tenant(server, SHOP)
    pk, sk = tenant["publishable_key"], tenant["secret_key"]
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        ok = await http.post("/v1/rooms", json={"owner_name": "Ana"}, headers=bearer(pk, SHOP))
        assert ok.status_code == 201
        assert ok.headers["access-control-allow-origin"] == SHOP and "Origin" in ok.headers["vary"]
        room = ok.json()
        # ... and invites into its own rooms, from the allowed origin
        inv = await http.post(f"/v1/rooms/{room['room']}/invites", json={}, headers=bearer(pk, SHOP))
        assert inv.status_code == 201 and inv.headers["access-control-allow-origin"] == SHOP

        for headers in (bearer(pk), bearer(pk, EVIL), bearer(pk, "null")):
            refused = await http.post("/v1/rooms", json={}, headers=headers)
            assert refused.status_code == 403, headers
            assert refused.json()["error"]["code"] == "origin_not_allowed"
            assert "access-control-allow-origin" not in refused.headers
        unknown = await http.post("/v1/rooms", json={}, headers=bearer("pk_nope", SHOP))
        assert unknown.status_code == 401

        # the room is the tenant's: its secret key reads it, another tenant's does not
        snap = await http.get(f"/v1/rooms/{room['room']}/snapshot", headers=bearer(sk))
        assert snap.status_code == 200 and snap.json()["state"]["owner"] == room["member"]
        other = await create_tenant(server, "https://other.example", name="Other")
        foreign = await http.get(f"/v1/rooms/{room['room']}/snapshot", headers=bearer(other["secret_key"]))
        assert foreign.status_code == 404
        foreign_inv = await http.post(f"/v1/rooms/{room['room']}/invites", json={}, headers=bearer(other["secret_key"]))
        assert foreign_inv.status_code == 404


async def test_publishable_key_cannot_call_anything_else(server: ServerProcess) -> None:
    tenant = await create_tenant(server, SHOP)
    pk = tenant["publishable_key"]
    room = await server.create_room()
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        calls = [
            ("GET", "/v1/tenant"),
            ("GET", f"/v1/rooms/{room['room']}/snapshot"),
            ("GET", f"/v1/invites/{room['invite']['code']}"),
            ("POST", f"/v1/invites/{room['invite']['code']}/accept"),
            ("GET", "/metrics"),
        ]
        for method, url in calls:
            r = await http.request(
                method, url, json={"name": "X"} if method == "POST" else None, headers=bearer(pk, SHOP)
            )
            assert r.status_code == 403, (method, url, r.text)
            assert r.json()["error"] == {
                "code": "forbidden",
                "message": "publishable keys can only create rooms and invites",
            }
        # the secret key works server to server, without an Origin
        me = await http.get("/v1/tenant", headers=bearer(tenant["secret_key"]))
        assert me.status_code == 200 and me.json()["origins"] == [SHOP] and me.json()["id"] == tenant["id"]
        made = await http.post("/v1/rooms", json={}, headers=bearer(tenant["secret_key"]))
        assert made.status_code == 201
        wrong = await http.get("/v1/tenant", headers=bearer("sk_wrong"))
        assert wrong.status_code == 401


async def test_cors_preflight_is_answered_only_for_tenant_origins(server: ServerProcess) -> None:
    await create_tenant(server, SHOP)
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
    }
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        for path in ("/v1/rooms", "/v1/rooms/r_x/invites"):
            ok = await http.options(path, headers={**preflight, "origin": SHOP})
            assert ok.status_code == 204
            assert ok.headers["access-control-allow-origin"] == SHOP
            assert "authorization" in ok.headers["access-control-allow-headers"]
            no = await http.options(path, headers={**preflight, "origin": EVIL})
            assert no.status_code == 403 and "access-control-allow-origin" not in no.headers
        # anonymous creation from a browser on any origin gets no CORS grant either
        anon = await http.post("/v1/rooms", json={}, headers={"origin": SHOP})
        assert anon.status_code == 201 and "access-control-allow-origin" not in anon.headers


async def test_require_tenant_mode(server_factory: ServerFactory) -> None:
    server = await server_factory("--require-tenant")
    tenant = await create_tenant(server, SHOP)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        anon = await http.post("/v1/rooms", json={})
        assert anon.status_code == 401 and "tenant" in anon.json()["error"]["message"]
        ok = await http.post("/v1/rooms", json={}, headers=bearer(tenant["secret_key"]))
        assert ok.status_code == 201


async def test_websocket_origin_check_for_tenant_rooms(server: ServerProcess) -> None:
    tenant = await create_tenant(server, SHOP)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        made = (await http.post("/v1/rooms", json={}, headers=bearer(tenant["secret_key"]))).json()
    token = made["token"]

    client = await RawClient.open(server.ws_url, origin=EVIL)
    await client.send(Hello(token=token, client="test"))
    error = await client.expect(Error)
    assert error.code == ErrorCode.FORBIDDEN and "origin" in error.message
    assert await client.closed_with() == CloseCode.FORBIDDEN

    for origin in (SHOP, server.http_url, None):  # the tenant's, the server's own, no browser
        kwargs: dict[str, Any] = {"origin": origin} if origin else {}
        ok, welcome = await RawClient.join(server.ws_url, token, **kwargs)
        assert isinstance(welcome, Welcome) and welcome.room == made["room"]
        await ok.close()

    # rooms without a tenant keep working from anywhere (the embedded quick start)
    plain = await server.create_room()
    ok, _ = await RawClient.join(server.ws_url, plain["token"], origin=EVIL)
    await ok.close()


async def test_room_page_qr_and_bundles(server: ServerProcess, tmp_path: Path) -> None:
    room = await server.create_room(name="Birthday <gift>")
    code = room["invite"]["code"]
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        page = await http.get(f"/r/{code}")
        assert page.status_code == 200 and "Birthday &lt;gift&gt;" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        qr = await http.get(f"/r/{code}/qr.svg")
        assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"
        assert qr.text.lstrip().startswith("<svg") and "path" in qr.text
        assert (await http.get("/r/i_missing/qr.svg")).status_code == 404
        assert (await http.get("/r/i_missing")).status_code == 404
        assert (await http.get("/demo")).status_code == 404  # only with --demo
        assert (await http.get("/static/../pyproject.toml")).status_code == 404


async def test_missing_bundles_give_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "no-dist"
    empty.mkdir()
    server = ServerProcess(tmp_path, env={**os.environ, "COSESSION_JS_DIST": str(empty)})
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
            widget = await http.get("/widget.js")
            assert widget.status_code == 503
            assert widget.headers["content-type"].startswith("text/javascript")
            assert "scripts/build-js.sh" in widget.text
            room = await server.create_room()
            page = await http.get(f"/r/{room['invite']['code']}")
            assert page.status_code == 200 and "scripts/build-js.sh" in page.text
    finally:
        server.kill()
    assert "not built" in server.log_path.read_text()


@pytest.mark.parametrize("path", ["/widget.js", "/static/room.js"])
async def test_bundles_are_served_with_cache_headers(server: ServerProcess, path: str) -> None:
    from cosession.web.assets import Assets

    if Assets().missing():
        pytest.fail("JS bundles not built: run scripts/build-js.sh", pytrace=False)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        first = await http.get(path)
        assert first.status_code == 200 and first.headers["content-type"].startswith("text/javascript")
        etag = first.headers["etag"]
        again = await http.get(path, headers={"if-none-match": etag})
        assert again.status_code == 304
        if path.startswith("/static/"):
            page = await http.get(f"/r/{(await server.create_room())['invite']['code']}")
            # the page pins the bundle: its hashed file (room-<hash>.js), else room.js?v=<hash>
            found = re.search(r"/static/room[-.][^'\"\s>]+", page.text)
            assert found is not None, page.text
            pinned = await http.get(found.group(0))
            assert pinned.status_code == 200 and "immutable" in pinned.headers["cache-control"]
