"""A Redis password given in ``--redis-url`` never reaches the server's log output.

Real ``cosession serve`` subprocesses against a real ``redis-server`` started with
``--requirepass``: one node with the right password (ready, then SIGTERM), one with a wrong
one (never ready: it logs that Redis is not reachable, which is where the URL used to be
printed whole).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cosession.app import redact_url
from tests.conftest import RedisServerFactory
from tests.support.redis_server import RedisServer
from tests.support.server import free_port

PASSWORD = "Pw-4a9c-do-not-log"


class PasswordRedis(RedisServer):
    def command(self) -> list[str]:
        return [*super().command(), "--requirepass", PASSWORD]

    async def ping(self, timeout: float = 1.0) -> bool:
        reply = await self.command_raw("PING", timeout=timeout)
        return reply is not None and reply.startswith(b"-NOAUTH")  # up, and asking for the password


def _serve(workdir: Path, redis_url: str, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "cosession", "serve", "--port", str(port), "--secret", "s"]
    cmd += ["--database-url", f"sqlite:///{workdir / 'c.db'}", "--redis-url", redis_url]
    cmd += ["--log-format", "json", "--log-level", "debug"]
    with (workdir / "server.log").open("wb") as log:
        return subprocess.Popen(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())


async def _password_redis(redis_server_factory: RedisServerFactory, tmp_path: Path) -> RedisServer:
    await redis_server_factory()  # skips (or fails under CI) when redis-server is missing
    server = PasswordRedis(tmp_path / "pwredis")
    server.workdir.mkdir()
    redis_server_factory.started.append(server)
    await server.start()
    return server


async def _wait_for(what: str, check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not seen in {seconds}s")
        await asyncio.sleep(0.1)


def test_redact_url_hides_userinfo_and_query_passwords() -> None:
    for url in (
        f"redis://:{PASSWORD}@127.0.0.1:6379/0",
        f"redis://user:{PASSWORD}@127.0.0.1/0",
        f"rediss://127.0.0.1:6380/0?password={PASSWORD}",
        f"postgresql://u:{PASSWORD}@db/cosession",
    ):
        assert PASSWORD not in redact_url(url)
        assert "***" in redact_url(url) or "%2A%2A%2A" in redact_url(url)


@pytest.mark.timeout(90)
async def test_unreachable_redis_is_logged_without_its_password(
    tmp_path: Path, redis_server_factory: RedisServerFactory
) -> None:
    redis = await _password_redis(redis_server_factory, tmp_path)
    log_path = tmp_path / "server.log"
    # a wrong password: Redis refuses AUTH, the node waits 10 s and says Redis is not reachable
    proc = _serve(tmp_path, f"redis://:wrong-{PASSWORD}@127.0.0.1:{redis.port}/0", free_port())
    try:
        await _wait_for("the warning", lambda: b"redis not reachable" in log_path.read_bytes(), 40)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 15)
    out = log_path.read_text(errors="replace")
    assert PASSWORD not in out, out
    assert "127.0.0.1" in out  # the redacted URL is still there, useful for the reader


@pytest.mark.timeout(90)
async def test_cluster_node_log_never_contains_the_redis_password(
    tmp_path: Path, redis_server_factory: RedisServerFactory
) -> None:
    redis = await _password_redis(redis_server_factory, tmp_path)
    port = free_port()
    proc = _serve(tmp_path, f"redis://:{PASSWORD}@127.0.0.1:{redis.port}/0", port)
    try:
        async with httpx.AsyncClient() as http:

            async def ready() -> bool:
                try:
                    return (await http.get(f"http://127.0.0.1:{port}/readyz", timeout=1)).status_code == 200
                except httpx.HTTPError:
                    return False

            deadline = time.monotonic() + 40
            while not await ready():
                assert proc.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, "node not ready"
                await asyncio.sleep(0.1)
            created = await http.post(f"http://127.0.0.1:{port}/v1/rooms", json={"name": "r"}, timeout=10)
            assert created.status_code in (200, 201), created.text
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 15)
    out = (tmp_path / "server.log").read_text(errors="replace")
    assert "cosession ready" in out
    assert PASSWORD not in out, out
