"""Several real ``cosession serve`` nodes sharing one Redis and one PostgreSQL database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.server import ServerProcess


class Cluster:
    def __init__(self, root: Path, redis_url: str, database_url: str, size: int = 3, *extra: str) -> None:
        self.root = root
        self.redis_url = redis_url
        self.database_url = database_url
        self.nodes: list[ServerProcess] = []
        for i in range(size):
            workdir = root / f"node{i}"
            workdir.mkdir(parents=True, exist_ok=True)
            self.nodes.append(self._node(workdir, f"node{i}", redis_url, *extra))

    def _node(self, workdir: Path, name: str, redis_url: str, *extra: str) -> ServerProcess:
        return ServerProcess(
            workdir,
            "--redis-url",
            redis_url,
            "--database-url",
            self.database_url,
            "--node-id",
            name,
            "--presence-grace",
            "0.5",
            "--ops-per-second",
            "1000",
            "--ops-burst",
            "1000",
            *extra,
        )

    async def start(self) -> None:
        # the first node runs the migrations alone; the others start together
        await self.nodes[0].start()
        await asyncio.gather(*(node.start() for node in self.nodes[1:]))

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()

    async def ready(self, node: ServerProcess) -> bool:
        async with httpx.AsyncClient() as http:
            try:
                response = await http.get(node.http_url + "/readyz", timeout=2.0)
            except httpx.HTTPError:
                return False
            return response.status_code == 200

    def logs(self) -> str:
        return "\n".join(f"--- {n.workdir.name}\n{n.log_tail(15)}" for n in self.nodes)
