"""The backend fixtures do what the cluster tests rely on: real processes that can be killed,
frozen and restarted, and a proxy that cuts or blackholes one client's link."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from loadtest.local_postgres import PostgresServer
from tests.support.redis_server import RedisServer
from tests.support.tcp_proxy import TcpProxy

RedisDown = (RedisConnectionError, RedisTimeoutError, OSError)


def client(port: int, timeout: float = 0.5) -> aioredis.Redis:
    # no retries: each call shows the link's state as it is now
    return aioredis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


async def reconnect(r: aioredis.Redis) -> None:
    """Drop the pooled connections: the ones from before a restart are dead."""
    await r.connection_pool.disconnect()


async def run_id(r: aioredis.Redis) -> str:
    info = await r.info("server")
    return str(info["run_id"])


async def test_redis_server_answers_and_restarts_empty(redis_server: RedisServer) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    r = aioredis.Redis.from_url(redis_server.url)
    try:
        assert await r.ping()
        await r.set("k", "v")
        first = await run_id(r)
        await redis_server.restart(keep_data=False)
        await reconnect(r)
        assert await r.get("k") is None
        assert await run_id(r) != first
    finally:
        await r.aclose()


async def test_redis_kill_then_restart_with_saved_data(redis_server: RedisServer) -> None:
    r = client(redis_server.port)
    try:
        await r.set("k", "v")
        await redis_server.restart(keep_data=True)  # SHUTDOWN SAVE, then load the dump
        await reconnect(r)
        assert await r.get("k") == b"v"
        redis_server.kill()
        assert not redis_server.running
        with pytest.raises(RedisDown):
            await r.ping()
        await redis_server.restart(keep_data=True)  # not persistent: only the last dump is there
        await reconnect(r)
        assert await r.get("k") == b"v"
    finally:
        await r.aclose()


async def test_persistent_redis_keeps_acknowledged_writes_across_kill_9(
    redis_server_factory: Callable[..., Awaitable[RedisServer]],
) -> None:
    server = await redis_server_factory(persistent=True)
    r = client(server.port)
    try:
        for _ in range(100):
            await r.incr("counter")
        server.kill()
        await server.restart(keep_data=True)
        await reconnect(r)
        assert await r.get("counter") == b"100"
    finally:
        await r.aclose()


async def test_redis_pause_and_resume(redis_server: RedisServer) -> None:
    r = client(redis_server.port, timeout=0.3)
    try:
        assert await r.ping()
        redis_server.pause()
        with pytest.raises(RedisDown):
            await r.ping()
        assert not await redis_server.ping(timeout=0.2)
        redis_server.resume()
        assert await redis_server.ping()
        await reconnect(r)  # the timed-out connection may still hold the late PONG
        assert await r.ping()
    finally:
        await r.aclose()


async def test_proxy_forwards_cuts_and_restores(
    redis_server: RedisServer, tcp_proxy_factory: Callable[[int], Awaitable[TcpProxy]]
) -> None:
    proxy = await tcp_proxy_factory(redis_server.port)
    r = client(proxy.port)
    direct = client(redis_server.port)
    try:
        await r.set("k", "through the proxy")
        assert await direct.get("k") == b"through the proxy"
        assert proxy.connections == 1

        proxy.cut()
        with pytest.raises(RedisDown):
            await r.ping()  # the open connection was reset
        with pytest.raises(RedisDown):
            await r.ping()  # a new one is accepted and closed
        assert proxy.connections == 0
        assert await direct.ping()  # only this link is down

        proxy.restore()
        assert await r.get("k") == b"through the proxy"
    finally:
        await r.aclose()
        await direct.aclose()


async def test_proxy_blackhole_holds_then_delivers(
    redis_server: RedisServer, tcp_proxy_factory: Callable[[int], Awaitable[TcpProxy]]
) -> None:
    proxy = await tcp_proxy_factory(redis_server.port)
    r = client(proxy.port, timeout=5.0)
    direct = client(redis_server.port)
    try:
        assert await r.ping()
        proxy.blackhole()

        async def incr() -> int:
            return await r.incr("n")

        pending = asyncio.create_task(incr())
        await asyncio.sleep(0.3)
        assert not pending.done()  # nothing flows...
        assert await direct.get("n") is None  # ...not even the request
        proxy.restore()
        assert await asyncio.wait_for(pending, 5) == 1  # held, not lost
        # a connection opened during a blackhole is held too
        proxy.blackhole()
        fresh = client(proxy.port, timeout=0.3)
        with pytest.raises(RedisDown):
            await fresh.ping()
        await fresh.aclose()
        proxy.restore()
        assert await r.get("n") == b"1"
    finally:
        await r.aclose()
        await direct.aclose()


async def test_postgres_gives_each_test_a_fresh_database(postgres_server: PostgresServer, postgres_url: str) -> None:
    assert postgres_url.startswith(f"postgresql://postgres@127.0.0.1:{postgres_server.port}/test_")
    engine = create_async_engine(postgres_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT current_database()")) == postgres_url.rsplit("/", 1)[1]
            tables = await conn.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
            assert tables == 0
            assert await conn.scalar(text("SHOW fsync")) == "off"
    finally:
        await engine.dispose()
