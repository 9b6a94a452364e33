"""REST: rooms, invites (roles, expiry, max uses), tokens, snapshots, health, and the CLI."""

from __future__ import annotations

import asyncio
import json
import sys

import httpx

from tests.support.server import ServerProcess


async def test_room_invite_and_accept_flow(server: ServerProcess) -> None:
    room = await server.create_room(name="Sneakers", owner_name="Ana")
    assert room["role"] == "owner" and room["invite"]["url"].endswith("/r/" + room["invite"]["code"])
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        info = (await http.get(f"/v1/invites/{room['invite']['code']}")).json()
        assert info["name"] == "Sneakers" and info["role"] == "member"
        auth = {"authorization": f"Bearer {room['token']}"}
        r = await http.post(f"/v1/rooms/{room['room']}/invites", json={"role": "viewer", "max_uses": 1}, headers=auth)
        assert r.status_code == 201
        code = r.json()["code"]
        first = await http.post(f"/v1/invites/{code}/accept", json={"name": "Vic"})
        assert first.status_code == 201 and first.json()["role"] == "viewer"
        second = await http.post(f"/v1/invites/{code}/accept", json={"name": "Val"})
        assert second.status_code == 410 and second.json()["error"]["code"] == "invite_used_up"
        missing = await http.post("/v1/invites/i_nope/accept", json={"name": "X"})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "invite_not_found"
        page = await http.get(f"/r/{room['invite']['code']}")
        assert page.status_code == 200 and "Sneakers" in page.text
        snap = (await http.get(f"/v1/rooms/{room['room']}/snapshot", headers=auth)).json()
        assert snap["seq"] == 1 and snap["state"]["name"] == "Sneakers"


async def test_invite_permissions_and_validation(server: ServerProcess) -> None:
    room = await server.create_room()
    other = await server.create_room()
    member = await server.accept(room["invite"]["code"], "Bea")
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        url = f"/v1/rooms/{room['room']}/invites"
        no_auth = await http.post(url, json={})
        assert no_auth.status_code == 401 and no_auth.json()["error"]["code"] == "unauthorized"
        forged = await http.post(url, json={}, headers={"authorization": "Bearer v1.x.y"})
        assert forged.status_code == 401
        foreign = await http.post(url, json={}, headers={"authorization": f"Bearer {other['token']}"})
        assert foreign.status_code == 403
        as_member = {"authorization": f"Bearer {member['token']}"}
        assoc = await http.post(url, json={"role": "associate"}, headers=as_member)
        assert assoc.status_code == 403
        bad = await http.post(url, json={"role": "owner"}, headers=as_member)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_field"
        junk = await http.post("/v1/rooms", content=b"{nope")
        assert junk.status_code == 400 and junk.json()["error"]["code"] == "bad_json"
        long_name = await http.post("/v1/rooms", json={"name": "x" * 500})
        assert long_name.status_code == 422
        big = await http.post("/v1/rooms", content=b"{" + b" " * 20000 + b"}")
        assert big.status_code == 413
        snap = await http.get(f"/v1/rooms/{room['room']}/snapshot")
        assert snap.status_code == 401


async def test_expired_invite(server: ServerProcess) -> None:
    room = await server.create_room()
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.post(
            f"/v1/rooms/{room['room']}/invites",
            json={"expires_in": 30},
            headers={"authorization": f"Bearer {room['token']}"},
        )
        assert r.status_code == 422  # at least 60 s


async def test_health_ready_metrics(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        assert (await http.get("/readyz")).json() == {"status": "ready"}
        metrics = (await http.get("/metrics")).text
        assert "cosession_connections 0" in metrics and "cosession_ops_total" in metrics


async def test_cli_room_create_prints_invite(server: ServerProcess) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cosession",
        "room",
        "create",
        "--server",
        server.http_url,
        "--name",
        "Cli room",
        "--json",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    data = json.loads(out)
    assert data["invite"]["url"].startswith(server.http_url + "/r/")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cosession",
        "room",
        "create",
        "--server",
        "http://127.0.0.1:9",
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1 and b"cannot reach" in err
