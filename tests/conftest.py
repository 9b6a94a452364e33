"""Fixtures: a real cosession server subprocess per test (temp SQLite, random port)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path)
    await proc.start()
    try:
        yield proc
    finally:
        proc.kill()


@pytest.fixture
def server_factory(tmp_path: Path) -> ServerFactory:
    return ServerFactory(tmp_path)


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
