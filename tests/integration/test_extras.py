"""The embedded server runs without the optional libraries (``[cluster]``, ``[postgres]``,
``[loadtest]`` extras), and asking for a feature whose extra is missing says which to install.

Each test runs a real process in which a ``sys.meta_path`` finder makes redis, asyncpg,
rich, hdrh and psutil look uninstalled.
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

from protocol.messages import Chat, Event
from tests.support.raw import RawClient
from tests.support.server import free_port

BLOCKER = """
import sys
BLOCKED = {"redis", "asyncpg", "rich", "hdrh", "psutil"}

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
"""

SERVE = BLOCKER + "from cosession.cli import main\nsys.exit(main())\n"
LOADTEST = BLOCKER + "sys.argv[0] = 'cosession-loadtest'\nfrom loadtest.entry import main\nsys.exit(main())\n"


def _run(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=os.environ.copy()
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    out = (result.stdout + result.stderr).strip()
    assert result.returncode != 0, out
    assert "Traceback" not in out, out
    assert len(out.splitlines()) == 1, out
    return out


def test_the_app_imports_without_optional_libraries(tmp_path: Path) -> None:
    code = BLOCKER + (
        "from cosession.app import create_app\n"
        "from cosession.config import Settings\n"
        f"create_app(Settings(database_url='sqlite:///{tmp_path}/c.db'))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED))\n"
    )
    result = _run(code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.timeout(90)
async def test_embedded_server_serves_without_optional_libraries(tmp_path: Path) -> None:
    port = free_port()
    args = ["serve", "--port", str(port), "--database-url", f"sqlite:///{tmp_path}/c.db", "--log-format", "json"]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVE, *args], cwd=tmp_path, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + 40
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    if (await http.get(base + "/healthz", timeout=1)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.05)
            room = (await http.post(base + "/v1/rooms", json={"name": "r", "owner_name": "Olga"})).json()
        client, _ = await RawClient.join(f"ws://127.0.0.1:{port}/v1/ws", room["token"])
        await client.op(Chat(text="no extras"))
        event = await client.expect(Event, timeout=10)
        while not isinstance(event.op, Chat):
            event = await client.expect(Event, timeout=10)
        await client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 15)


def test_cluster_mode_without_redis_names_the_extra(tmp_path: Path) -> None:
    result = _run(SERVE, "serve", "--port", str(free_port()), "--redis-url", "redis://127.0.0.1:1/0", cwd=tmp_path)
    out = _one_line(result)
    assert "--redis-url" in out and "pip install 'cosession[cluster]'" in out, out


def test_postgres_without_asyncpg_names_the_extra(tmp_path: Path) -> None:
    result = _run(
        SERVE, "serve", "--port", str(free_port()), "--database-url", "postgresql://u@127.0.0.1:1/db", cwd=tmp_path
    )
    out = _one_line(result)
    assert "asyncpg" in out and "pip install 'cosession[postgres]'" in out, out


def test_tenant_command_on_postgres_without_asyncpg_names_the_extra(tmp_path: Path) -> None:
    result = _run(SERVE, "tenant", "list", "--database-url", "postgresql://u@127.0.0.1:1/db", cwd=tmp_path)
    out = _one_line(result)
    assert "pip install 'cosession[postgres]'" in out, out


def test_load_tool_without_its_libraries_names_the_extra(tmp_path: Path) -> None:
    out = _one_line(_run(LOADTEST, "list", cwd=tmp_path))
    assert "pip install 'cosession[loadtest]'" in out, out
