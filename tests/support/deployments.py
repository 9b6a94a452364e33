"""One node or three: the same limit tests run against both (``deployment`` fixture in
``tests/integration/test_limits_shared.py``), the way the store conformance suite runs
against SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.support.cluster import Cluster
from tests.support.server import ServerProcess


@dataclass
class Deployment:
    kind: str
    nodes: list[ServerProcess]
    cluster: Cluster | None = None

    def node(self, i: int) -> ServerProcess:
        """Node ``i`` of a cluster; the only node when there is one."""
        return self.nodes[i % len(self.nodes)]

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()


def one_node(root: Path, *flags: str) -> Deployment:
    """An embedded server (SQLite, in-memory hub), not started yet."""
    root.mkdir(parents=True, exist_ok=True)
    return Deployment("one_node", [ServerProcess(root, "--presence-grace", "0.5", *flags)])


def three_nodes(root: Path, redis_url: str, database_url: str, *flags: str) -> Deployment:
    """Three cluster nodes on one Redis and one PostgreSQL database, not started yet."""
    cluster = Cluster(root, redis_url, database_url, 3, *flags)
    return Deployment("three_nodes", cluster.nodes, cluster)


async def start(deployment: Deployment) -> Deployment:
    try:
        if deployment.cluster is not None:
            await deployment.cluster.start()
        else:
            await deployment.nodes[0].start()
    except BaseException:
        deployment.kill()
        raise
    return deployment
