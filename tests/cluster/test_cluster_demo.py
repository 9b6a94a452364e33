"""``scripts/cluster-demo`` as a user runs it: Redis, PostgreSQL and two nodes come up, a room
made on node A is joined on node B and an event crosses, and Ctrl-C (SIGINT) stops it all."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from loadtest.local_postgres import postgres_bin_dir
from protocol.messages import Chat, Event
from tests.support.backends import missing_backend
from tests.support.raw import RawClient
from tests.support.redis_server import redis_binary
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(240)
async def test_cluster_demo_starts_crosses_and_stops(tmp_path: Path) -> None:
    if redis_binary() is None:
        missing_backend("redis-server (or $REDIS_SERVER_BIN)")
    if postgres_bin_dir() is None:
        missing_backend("PostgreSQL (initdb, postgres; or set $PG_BIN_DIR)")
    a_port, b_port = free_port(), free_port()
    out_path = tmp_path / "demo.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "cluster-demo"), "--ports", f"{a_port},{b_port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
    try:
        deadline = time.monotonic() + 150
        while "cluster ready" not in out_path.read_text():
            assert proc.poll() is None, out_path.read_text()
            assert time.monotonic() < deadline, out_path.read_text()
            await asyncio.sleep(0.2)
        text = out_path.read_text()
        redis_port = int(re.search(r"redis://127\.0\.0\.1:(\d+)/", text).group(1))  # type: ignore[union-attr]
        pg_port = int(re.search(r"postgresql://\S+@127\.0\.0\.1:(\d+)/", text).group(1))  # type: ignore[union-attr]
        workdir = Path(re.search(r"log: (\S+)/node-a\.log", text).group(1))  # type: ignore[union-attr]
        a, b = f"http://127.0.0.1:{a_port}", f"http://127.0.0.1:{b_port}"
        async with httpx.AsyncClient(timeout=10) as http:
            made = await http.post(a + "/v1/rooms", json={"name": "demo", "owner_name": "Ana"})
            assert made.status_code == 201, made.text
            room = made.json()
            joined = await http.post(b + f"/v1/invites/{room['invite']['code']}/accept", json={"name": "Ben"})
            assert joined.status_code == 201, joined.text
        ana, _ = await RawClient.join(f"ws://127.0.0.1:{a_port}/v1/ws", room["token"])
        ben, _ = await RawClient.join(f"ws://127.0.0.1:{b_port}/v1/ws", joined.json()["token"])
        await ana.op(Chat(text="from node A"))
        seen = await ben.expect(Event, timeout=15)
        while not isinstance(seen.op, Chat):
            seen = await ben.expect(Event, timeout=15)
        assert seen.op.text == "from node A"
        await ana.close()
        await ben.close()
        assert all(_listening(p) for p in (a_port, b_port, redis_port, pg_port))
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert await asyncio.to_thread(proc.wait, 60) == 0, out_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert "cluster demo: stopped" in out_path.read_text()
    assert not any(_listening(p) for p in (a_port, b_port, redis_port, pg_port))
    assert not await asyncio.to_thread(workdir.exists)
