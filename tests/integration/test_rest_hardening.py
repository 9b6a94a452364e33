"""REST hardening against a real server: request bodies are capped before they are read,
kicked members are refused on every member-token endpoint, the publishable key mints
only member invites (and none into a room someone was kicked from), per-address rate
limits answer 429 with Retry-After, and /readyz never shows exception text."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

from loadtest.local_postgres import PostgresServer
from protocol.errors import CloseCode
from protocol.messages import Ack, MemberKick
from tests.conftest import ServerFactory
from tests.support.raw import RawClient
from tests.support.server import ServerProcess
from tests.support.tcp_proxy import TcpProxy

SHOP = "https://shop.example"
HUGE = 256 * 1024 * 1024  # what an attacker sends
CHUNK = b"x" * (64 * 1024)


async def create_tenant(server: ServerProcess, *origins: str) -> dict[str, str]:
    """A tenant in the server's database, made in-process."""
    from cosession.store.store_sql import SqlStore
    from cosession.tenants.store import TenantStore

    store = SqlStore(f"sqlite:///{server.db}")
    await store.start()
    try:
        made = await TenantStore(store).create("Shop", origins)
    finally:
        await store.close()
    return {"secret_key": made.secret_key, "publishable_key": made.tenant.publishable_key}


def bearer(key: str, origin: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {key}"}
    if origin is not None:
        headers["origin"] = origin
    return headers


# ---- bodies are capped before they are read ------------------------------------------------


def _peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM) in bytes, or its current RSS where the
    kernel does not report a peak."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    rss: int = psutil.Process(pid).memory_info().rss
    return rss


def _chunks(total: int) -> Iterator[bytes]:
    """``total`` bytes, 64 KiB at a time, generated lazily."""
    sent = 0
    while sent < total:
        piece = CHUNK[: min(len(CHUNK), total - sent)]
        sent += len(piece)
        yield piece


async def _post_huge(port: int, path: str, *, chunked: bool) -> tuple[int, dict[str, Any], int]:
    """POST a ``HUGE`` body over a raw socket while reading the answer; stop sending as
    soon as the server has answered (or hung up). Returns (status, JSON body, bytes sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {HUGE}\r\n"
    writer.write((head + "\r\n").encode())
    answer = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
    sent = 0
    try:
        async with asyncio.timeout(90):
            for piece in _chunks(HUGE):
                if answer.done():
                    break
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
                sent += len(piece)
                try:
                    await writer.drain()
                except ConnectionError:
                    break
                await asyncio.sleep(0)  # drain() need not yield: let the reader see an early answer
            else:
                if chunked:
                    writer.write(b"0\r\n\r\n")
            async with asyncio.timeout(30):
                header = await answer
            lines = header.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            length = next(int(h.split(":", 1)[1]) for h in lines[1:] if h.lower().startswith("content-length:"))
            body = json.loads(await reader.readexactly(length))
    finally:
        answer.cancel()
        writer.transport.abort()
    return status, body, sent


async def test_huge_bodies_are_refused_without_being_read(server: ServerProcess) -> None:
    room = await server.create_room()
    assert server.proc is not None
    pid = server.proc.pid
    before = _peak_rss(pid)
    code = room["invite"]["code"]
    sent_with_length = []
    for path, chunked in (
        (f"/v1/invites/{code}/accept", False),
        (f"/v1/invites/{code}/accept", True),
        ("/v1/rooms", True),
        ("/v1/rooms", False),
    ):
        status, body, sent = await _post_huge(server.port, path, chunked=chunked)
        assert status == 413, (path, chunked, body)
        assert body["error"]["code"] == "too_large"
        if not chunked:
            sent_with_length.append(sent)
    grown = _peak_rss(pid) - before
    assert grown < 50 * 1024 * 1024, f"server peak RSS grew by {grown / 1e6:.0f} MB"
    # refused on its Content-Length: long before the body arrived
    assert all(sent < HUGE // 4 for sent in sent_with_length), sent_with_length
    # the server is fine, and small bodies still work
    assert (await server.accept(code, "Bea"))["role"] == "member"


# ---- kicked members over REST ----------------------------------------------------------------


async def _kick(server: ServerProcess, room: dict[str, Any], member: str) -> None:
    owner, _ = await RawClient.join(server.ws_url, room["token"])
    ref = await owner.op(MemberKick(member=member))
    await owner.expect(Ack, ref=ref)
    await owner.close()


async def test_kicked_member_is_refused_on_every_member_token_endpoint(server: ServerProcess) -> None:
    room = await server.create_room()
    bea = await server.accept(room["invite"]["code"], "Bea")
    friend, _ = await RawClient.join(server.ws_url, bea["token"])
    auth = {"authorization": f"Bearer {bea['token']}"}
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        before = await http.get(f"/v1/rooms/{room['room']}/snapshot", headers=auth)
        assert before.status_code == 200
        await _kick(server, room, bea["member"])
        assert await friend.closed_with() == CloseCode.FORBIDDEN
        for method, path, body in (
            ("GET", f"/v1/rooms/{room['room']}/snapshot", None),
            ("POST", f"/v1/rooms/{room['room']}/invites", {}),
            ("POST", f"/v1/rooms/{room['room']}/invites", {"role": "viewer"}),
        ):
            r = await http.request(method, path, json=body, headers=auth)
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["error"]["code"] == "kicked", (method, path, r.text)
        # the others are unaffected
        owner_auth = {"authorization": f"Bearer {room['token']}"}
        assert (await http.get(f"/v1/rooms/{room['room']}/snapshot", headers=owner_auth)).status_code == 200


# ---- what the publishable key may do ---------------------------------------------------------


async def test_publishable_key_mints_member_invites_only(server: ServerProcess) -> None:
    tenant = await create_tenant(server, SHOP)
    pk, sk = tenant["publishable_key"], tenant["secret_key"]
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        made = await http.post("/v1/rooms", json={"owner_name": "Ana"}, headers=bearer(pk, SHOP))
        assert made.status_code == 201
        room = made.json()
        path = f"/v1/rooms/{room['room']}/invites"
        for role in ("associate", "viewer"):  # an Origin header is not authentication
            r = await http.post(path, json={"role": role}, headers=bearer(pk, SHOP))
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (role, r.text)
        member = await http.post(path, json={"role": "member"}, headers=bearer(pk, SHOP))
        assert member.status_code == 201 and member.json()["role"] == "member"
        # associates: the secret key, or the owner's token
        by_secret = await http.post(path, json={"role": "associate"}, headers=bearer(sk))
        assert by_secret.status_code == 201 and by_secret.json()["role"] == "associate"
        by_owner = await http.post(path, json={"role": "associate"}, headers=bearer(room["token"]))
        assert by_owner.status_code == 201 and by_owner.json()["role"] == "associate"


async def test_kicked_person_cannot_get_back_in_through_the_publishable_key(server: ServerProcess) -> None:
    tenant = await create_tenant(server, SHOP)
    pk = tenant["publishable_key"]
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        room = (await http.post("/v1/rooms", json={"owner_name": "Ana"}, headers=bearer(pk, SHOP))).json()
        path = f"/v1/rooms/{room['room']}/invites"
        bea = await server.accept(room["invite"]["code"], "Bea")
        friend, _ = await RawClient.join(server.ws_url, bea["token"], origin=SHOP)
        # Bea keeps a publishable-key invite for later, then is kicked
        kept = (await http.post(path, json={}, headers=bearer(pk, SHOP))).json()
        await _kick(server, room, bea["member"])
        assert await friend.closed_with() == CloseCode.FORBIDDEN
        fresh = await http.post(path, json={}, headers=bearer(pk, SHOP))
        assert fresh.status_code == 403 and fresh.json()["error"]["code"] == "forbidden", fresh.text
        reuse = await http.post(f"/v1/invites/{kept['code']}/accept", json={"name": "Not Bea"})
        assert reuse.status_code == 403 and reuse.json()["error"]["code"] == "forbidden", reuse.text
        # the owner can still invite with their own token, and those invites work
        by_owner = await http.post(path, json={}, headers=bearer(room["token"]))
        assert by_owner.status_code == 201
        ok = await http.post(f"/v1/invites/{by_owner.json()['code']}/accept", json={"name": "Cy"})
        assert ok.status_code == 201


# ---- per-address rate limits -----------------------------------------------------------------


def _assert_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 60


async def test_room_creation_is_rate_limited_per_address(server_factory: ServerFactory) -> None:
    server = await server_factory("--rooms-per-minute", "3")
    tenant = await create_tenant(server, SHOP)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        for _ in range(3):
            assert (await http.post("/v1/rooms", json={})).status_code == 201
        _assert_limited(await http.post("/v1/rooms", json={}))
        # the publishable key shares the address's allowance
        _assert_limited(await http.post("/v1/rooms", json={}, headers=bearer(tenant["publishable_key"], SHOP)))
        # another client address has its own (behind a trusted proxy: X-Forwarded-For)
        other = await http.post("/v1/rooms", json={}, headers={"x-forwarded-for": "203.0.113.7"})
        assert other.status_code == 201, other.text
        # the secret key is a tenant's server, not a browser: not limited per address
        for _ in range(4):
            assert (await http.post("/v1/rooms", json={}, headers=bearer(tenant["secret_key"]))).status_code == 201


async def test_invite_accept_and_publishable_invites_are_rate_limited(server_factory: ServerFactory) -> None:
    server = await server_factory("--accepts-per-minute", "2", "--pk-invites-per-minute", "2")
    tenant = await create_tenant(server, SHOP)
    pk = tenant["publishable_key"]
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        room = (await http.post("/v1/rooms", json={}, headers=bearer(pk, SHOP))).json()
        code = room["invite"]["code"]
        for name in ("A", "B"):
            assert (await http.post(f"/v1/invites/{code}/accept", json={"name": name})).status_code == 201
        _assert_limited(await http.post(f"/v1/invites/{code}/accept", json={"name": "C"}))
        path = f"/v1/rooms/{room['room']}/invites"
        for _ in range(2):
            assert (await http.post(path, json={}, headers=bearer(pk, SHOP))).status_code == 201
        _assert_limited(await http.post(path, json={}, headers=bearer(pk, SHOP)))
        # the owner's token is not a publishable key: not limited by it
        assert (await http.post(path, json={}, headers=bearer(room["token"]))).status_code == 201


# ---- /readyz ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _watch_log(server: ServerProcess) -> AsyncIterator[Callable[[], str]]:
    start = server.log_path.stat().st_size if server.log_path.exists() else 0

    def new_text() -> str:
        with server.log_path.open("rb") as f:
            f.seek(start)
            return f.read().decode(errors="replace")

    yield new_text


async def test_readyz_does_not_leak_database_errors(
    server_factory: ServerFactory,
    postgres_server: PostgresServer,
    postgres_url: str,
    tcp_proxy_factory: Callable[[int], Awaitable[TcpProxy]],
) -> None:
    proxy = await tcp_proxy_factory(postgres_server.port)
    url = postgres_url.replace(f"127.0.0.1:{postgres_server.port}/", f"127.0.0.1:{proxy.port}/")
    server = await server_factory("--database-url", url)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http, _watch_log(server) as log_text:
        proxy.cut()
        deadline = time.monotonic() + 30
        while True:
            r = await http.get("/readyz")
            if r.status_code == 503 and "database unreachable" in r.json()["problems"]:
                break
            assert time.monotonic() < deadline, r.text
            await asyncio.sleep(0.1)
        problems = r.json()["problems"]
        assert all(p in {"database unreachable", "database writes failing"} for p in problems), problems
        assert str(proxy.port) not in r.text and "Error" not in r.text
        # the detail is in the server's log (warning level and above are logged)
        async with asyncio.timeout(10):
            while "database unreachable" not in log_text():
                await asyncio.sleep(0.1)
        proxy.restore()
