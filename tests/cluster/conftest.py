"""Cluster fixtures: a private Redis, a fresh PostgreSQL database and three nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster
from tests.support.redis_server import RedisServer


@pytest.fixture
async def cluster(tmp_path: Path, redis_server: RedisServer, postgres_url: str) -> AsyncIterator[Cluster]:
    nodes = Cluster(tmp_path, redis_server.url, postgres_url, 3)
    await nodes.start()
    try:
        yield nodes
    finally:
        nodes.kill()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Real Redis, PostgreSQL and three nodes are slow to start on a busy machine."""
    for item in items:
        if "tests/cluster/" in str(item.fspath) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(300))
