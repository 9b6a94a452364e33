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
