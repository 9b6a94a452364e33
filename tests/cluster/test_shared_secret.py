"""Cluster nodes started without ``--secret`` agree on the token secret: it is kept in the
shared PostgreSQL database, inserted by whichever node gets there first.

Two real nodes (real Redis, real PostgreSQL), each in its own working folder, started at
the same moment; a token issued by either is accepted by the other over REST and WebSocket.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from protocol.messages import Chat, Event
from tests.support.cluster import Cluster
from tests.support.raw import RawClient
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess


class NoSecretServer(ServerProcess):
    def command(self) -> list[str]:
        cmd = super().command()
        i = cmd.index("--secret")
        return cmd[:i] + cmd[i + 2 :]


class NoSecretCluster(Cluster):
    def _node(self, workdir: Path, name: str, redis_url: str, *extra: str) -> ServerProcess:
        node = super()._node(workdir, name, redis_url, *extra)
        return NoSecretServer(node.workdir, *node.extra_args)


async def _snapshot(node: ServerProcess, room: str, token: str) -> int:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{node.http_url}/v1/rooms/{room}/snapshot", headers={"authorization": f"Bearer {token}"}, timeout=10
        )
        return response.status_code


async def test_nodes_without_secret_accept_each_others_tokens(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> None:
    cluster = NoSecretCluster(tmp_path, redis_server.url, postgres_url, 2)
    a, b = cluster.nodes
    try:
        await asyncio.gather(a.start(), b.start())  # at once: both race to store the secret
        room = await a.create_room(owner_name="Olga")
        friend = await b.accept(room["invite"]["code"], "Bea")  # a token issued by node B
        assert await _snapshot(b, room["room"], room["token"]) == 200  # A's token on B
        assert await _snapshot(a, room["room"], friend["token"]) == 200  # B's token on A
        olga, _ = await RawClient.join(b.ws_url, room["token"])
        bea, _ = await RawClient.join(a.ws_url, friend["token"])
        await olga.op(Chat(text="signed on A, spoken on B"))
        seen = await bea.expect(Event, timeout=10)
        while not isinstance(seen.op, Chat):
            seen = await bea.expect(Event, timeout=10)
        assert seen.op.text == "signed on A, spoken on B"
        await olga.close()
        await bea.close()
    finally:
        cluster.kill()
    # the secret lives in the database, not in a file per node
    assert not (a.workdir / ".cosession-secret").exists()
    assert not (b.workdir / ".cosession-secret").exists()
    engine = create_async_engine(postgres_url.replace("postgresql://", "postgresql+asyncpg://", 1), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT name FROM server_secrets"))).all()
    finally:
        await engine.dispose()
    # one token secret for every node; and the Web Push VAPID key (SPEC 18), also one per deployment
    assert sorted(name for (name,) in rows) == ["token", "vapid"]


async def test_a_restarted_node_keeps_accepting_its_old_tokens(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> None:
    cluster = NoSecretCluster(tmp_path, redis_server.url, postgres_url, 1)
    (node,) = cluster.nodes
    try:
        await node.start()
        room = await node.create_room()
        await node.restart()
        assert await _snapshot(node, room["room"], room["token"]) == 200
    finally:
        cluster.kill()
