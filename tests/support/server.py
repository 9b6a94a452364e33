"""Run ``cosession serve`` as a real subprocess on a free 127.0.0.1 port.

Tests can ``kill()`` it (SIGKILL, like a crash) and ``restart()`` it on the same SQLite
file, which is how durability is checked.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    def __init__(self, workdir: Path, *extra_args: str, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.extra_args = list(extra_args)
        self.env = env or {}
        self.port = free_port()
        self.db = workdir / "cosession.db"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "server.log"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "cosession",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database-url",
            f"sqlite:///{self.db}",
            "--secret",
            "test-secret",
            "--log-format",
            "json",
            "--log-level",
            "warning",
            *self.extra_args,
        ]

    async def start(self, timeout: float = 60.0) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.command(), cwd=self.workdir, stdout=log, stderr=log, env={**os.environ, **self.env}
        )
        log.close()
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
                try:
                    response = await client.get(self.http_url + "/readyz", timeout=1.0)
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    self.kill()  # never leave an orphan behind
                    raise TimeoutError(f"server not ready in {timeout}s: {self.log_tail()}")
                await asyncio.sleep(0.05)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(self.proc.wait), 10)
            except TimeoutError:
                self.kill()

    async def restart(self) -> None:
        self.kill()
        await self.start()

    async def create_room(self, name: str = "Test room", owner_name: str = "Olga") -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            response = await client.post(self.http_url + "/v1/rooms", json={"name": name, "owner_name": owner_name})
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data

    async def accept(self, invite_code: str, name: str) -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            response = await client.post(self.http_url + f"/v1/invites/{invite_code}/accept", json={"name": name})
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data
