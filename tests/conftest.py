"""Fixtures: a real cosession server subprocess per test (temp SQLite, random port), and
private Redis and PostgreSQL servers and a TCP proxy for the cluster tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from loadtest.local_postgres import PostgresServer, postgres_bin_dir
from tests.support.backends import missing_backend
from tests.support.redis_server import RedisServer, redis_binary
from tests.support.server import ServerProcess
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path)
    try:
        await proc.start()
        yield proc
    finally:
        proc.kill()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path)
    yield factory
    for proc in factory.started:
        proc.kill()


class ServerFactory:
    """For tests that need non-default flags: ``await server_factory("--ops-burst", "5")``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[ServerProcess] = []

    async def __call__(self, *args: str) -> ServerProcess:
        workdir = self.root / f"srv{len(self.started)}"
        workdir.mkdir()
        proc = ServerProcess(workdir, *args)
        self.started.append(proc)
        await proc.start()
        return proc


# ---- real backends: Redis, PostgreSQL, and a TCP proxy to cut a node off ----------------
#
# Tests that need one of them skip with the reason when its binaries are not installed
# (``scripts/system-deps.sh`` installs them); in CI (CI=true, set by ``.ci/run``) they fail
# instead, so a missing package can never turn the cluster tests into silent skips
# (``tests.support.backends``).


@pytest.fixture
def redis_server_factory(tmp_path: Path) -> Iterator[RedisServerFactory]:
    factory = RedisServerFactory(tmp_path)
    yield factory
    for server in factory.started:
        server.kill()


class RedisServerFactory:
    """``await redis_server_factory(persistent=True)``: more servers, or non-default ones."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[RedisServer] = []

    async def __call__(self, *, persistent: bool = False) -> RedisServer:
        if redis_binary() is None:
            missing_backend("redis-server (or $REDIS_SERVER_BIN)")
        workdir = self.root / f"redis{len(self.started)}"
        workdir.mkdir()
        server = RedisServer(workdir, persistent=persistent)
        self.started.append(server)
        await server.start()
        return server


@pytest.fixture
async def redis_server(redis_server_factory: RedisServerFactory) -> RedisServer:
    """A private redis-server on a free port, killed after the test."""
    return await redis_server_factory()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session (initdb takes seconds); see ``postgres_url``."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        missing_backend("PostgreSQL (initdb, postgres; or set $PG_BIN_DIR)")
    server = PostgresServer(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, empty database on the session's PostgreSQL, dropped after the test."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    name = postgres_server.next_database_name()

    admin = create_async_engine(
        postgres_server.url.replace("postgresql://", "postgresql+asyncpg://", 1),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,  # a test may restart PostgreSQL: never reuse a connection
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield postgres_server.url_for(name)
        # best effort: a test that leaves PostgreSQL down must fail for its own reason, and
        # whatever is left is deleted with the server's folder at the end of the session
        with contextlib.suppress(Exception):
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture
async def tcp_proxy_factory() -> AsyncIterator[Callable[[int], Awaitable[TcpProxy]]]:
    """``proxy = await tcp_proxy_factory(redis_server.port)``; every proxy is closed after the test."""
    proxies: list[TcpProxy] = []

    async def make(target_port: int) -> TcpProxy:
        proxy = await TcpProxy(target_port).start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        await proxy.close()
