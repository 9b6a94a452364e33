"""``--spawn N``: a throw-away local cluster on free 127.0.0.1 ports.

N = 1: one embedded node (in-memory hub, SQLite in a temp dir). N > 1: a private
``redis-server`` plus N nodes sharing it and one SQLite file. ``--spawn-db postgres``
starts a private PostgreSQL instead of the SQLite file (what production clusters use;
needs PostgreSQL's server binaries), and ``--spawn-redis`` puts a single node behind a
Redis too (a one-node cluster, to compare with the embedded hub). Limits are raised
(``--ops-per-second``, ``--ops-burst``, ``--max-members``) so the generator is never
rate-limited. Servers are started like ``cosession serve`` from a shell, in their own
session (a Ctrl-C in the terminal reaches the load tool only, which then still runs its
final checks against them), and they die with the load tool if it is killed (Linux
``PR_SET_PDEATHSIG``). ``stop()`` always tears everything down.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from loadtest.local_postgres import PostgresServer, postgres_bin_dir

HOST = "127.0.0.1"
RAISED_LIMITS = (
    "--ops-per-second", "1000000", "--ops-burst", "1000000", "--max-members", "100000",
    "--max-room-members", "1000000", "--rooms-per-minute", "0", "--accepts-per-minute", "0",
)  # fmt: skip


class SpawnError(Exception):
    """The local cluster did not come up."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def parse_cpus(text: str) -> set[int]:
    """``"0"``, ``"0,2"``, ``"0-3"`` → CPU numbers (for ``--spawn-cpus`` / ``--cpus``)."""
    cpus: set[int] = set()
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ValueError(f"expected CPU numbers like 0 or 0,1 or 0-3, got {text!r}")
        cpus.update(range(int(lo), int(hi if sep else lo) + 1))
    return cpus


def pin_process(cpus: set[int]) -> None:
    """Run every thread of this process (and what it starts from now on) on ``cpus`` only."""
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(tid), cpus)


def _child_setup(cpus: set[int] | None) -> Callable[[], None]:
    def setup() -> None:  # runs in the child between fork and exec
        _die_with_parent()
        if cpus:
            os.sched_setaffinity(0, cpus)  # inherited by the server's every thread

    return setup


def redis_binary() -> str | None:
    override = os.environ.get("REDIS_SERVER_BIN")
    if override:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("redis-server")


class _Proc:
    def __init__(self, name: str, cmd: list[str], workdir: Path, cpus: set[int] | None = None) -> None:
        self.name = name
        self.cmd = cmd
        self.workdir = workdir
        self.cpus = cpus
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.cmd,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_child_setup(self.cpus) if sys.platform == "linux" else None,
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def terminate(self) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)

    def wait_or_kill(self, timeout: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


DATABASES = ("sqlite", "postgres")


class LocalCluster:
    def __init__(
        self,
        nodes: int,
        *,
        server_args: list[str] | None = None,
        keep_dir: bool = False,
        database: str = "sqlite",
        redis: bool | None = None,
        cpus: set[int] | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError("--spawn needs at least 1 node")
        if database not in DATABASES:
            raise ValueError(f"--spawn-db must be one of {', '.join(DATABASES)}")
        self.size = nodes
        self.database = database
        self.with_redis = bool(redis) or nodes > 1
        self.postgres: PostgresServer | None = None
        self.server_args = list(server_args or [])
        self.cpus = cpus  # the nodes run on these CPUs only (sched_setaffinity before exec)
        self.keep_dir = keep_dir
        self.workdir = Path(tempfile.mkdtemp(prefix="cosession-loadtest-"))
        self.secret = secrets.token_hex(16)
        self.redis: _Proc | None = None
        self.redis_port = 0
        self.nodes: list[_Proc] = []
        self.ports: list[int] = []

    @property
    def urls(self) -> list[str]:
        return [f"http://{HOST}:{port}" for port in self.ports]

    @property
    def database_url(self) -> str:
        if self.postgres is not None:
            return self.postgres.url
        return f"sqlite:///{self.workdir / 'cosession.db'}"

    def describe(self) -> str:
        db = "PostgreSQL" if self.database == "postgres" else "SQLite"
        if not self.with_redis:
            return f"1 embedded node (in-memory hub, {db})"
        nodes = "1 node" if self.size == 1 else f"{self.size} nodes"
        if self.database == "postgres":
            return f"{nodes} + redis-server + PostgreSQL"
        return f"{nodes} + redis-server, one shared SQLite file (production: PostgreSQL, --spawn-db postgres)"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.redis_port}/0"

    def service_pids(self) -> dict[str, int]:
        """PIDs of the spawned servers by role: ``node0`` …, ``redis``, ``postgres`` (its postmaster)."""
        out = {p.name: p.proc.pid for p in self.nodes if p.proc is not None}
        if self.redis is not None and self.redis.proc is not None:
            out["redis"] = self.redis.proc.pid
        if self.postgres is not None and self.postgres.proc is not None:
            out["postgres"] = self.postgres.proc.pid
        return out

    async def start(self, timeout: float = 90.0) -> None:
        try:
            if self.database == "postgres":
                await self._start_postgres()
            if self.with_redis:
                await self._start_redis()
            for i in range(self.size):
                self.ports.append(free_port())
                self.nodes.append(_Proc(f"node{i}", self._node_cmd(i), self.workdir, self.cpus))
            # the first node runs the database migrations alone, the others start together
            self.nodes[0].start()
            await self._ready(self.nodes[0], self.ports[0], timeout)
            for node in self.nodes[1:]:
                node.start()
            rest = zip(self.nodes[1:], self.ports[1:], strict=True)
            await asyncio.gather(*(self._ready(node, port, timeout) for node, port in rest))
        except BaseException:
            await self.stop()
            raise

    def _node_cmd(self, i: int) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "cosession",
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.ports[i]),
            "--database-url",
            self.database_url,
            "--secret",
            self.secret,
            "--log-format",
            "json",
            "--log-level",
            "warning",
            *RAISED_LIMITS,
        ]
        if self.with_redis:
            cmd += ["--redis-url", self.redis_url, "--node-id", f"lt-node{i}"]
        return cmd + self.server_args

    async def _start_postgres(self) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise SpawnError("--spawn-db postgres needs PostgreSQL's server (initdb, postgres: $PG_BIN_DIR or PATH)")
        preexec = _die_with_parent if sys.platform == "linux" else None
        self.postgres = PostgresServer(bin_dir, database="cosession", preexec_fn=preexec)
        try:
            # on this thread: PR_SET_PDEATHSIG fires when the *thread* that forked the
            # server ends, and an executor thread may end before the load tool does
            # (it blocks the event loop for initdb's 2-3 s, during setup only)
            self.postgres.start()
        except (OSError, RuntimeError, TimeoutError, subprocess.SubprocessError) as exc:
            raise SpawnError(f"PostgreSQL did not start: {exc}") from None

    async def _start_redis(self) -> None:
        binary = redis_binary()
        if binary is None:
            raise SpawnError("--spawn N>1 needs redis-server (on PATH, or $REDIS_SERVER_BIN)")
        for _ in range(3):
            self.redis_port = free_port()
            data = self.workdir / "redis"
            data.mkdir(exist_ok=True)
            cmd = [binary, "--port", str(self.redis_port), "--bind", HOST, "--dir", str(data)]
            cmd += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
            self.redis = _Proc("redis", cmd, self.workdir)
            self.redis.start()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.redis.running:
                if await self._redis_ping():
                    return
                await asyncio.sleep(0.02)
            if self.redis.running:
                break
        raise SpawnError(f"redis-server did not start: {self.redis.log_tail() if self.redis else ''}")

    async def _redis_ping(self) -> bool:
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(0.5):
                reader, writer = await asyncio.open_connection(HOST, self.redis_port)
                writer.write(b"*1\r\n$4\r\nPING\r\n")
                await writer.drain()
                return (await reader.readline()).startswith(b"+PONG")
        except (OSError, TimeoutError):
            return False
        finally:
            if writer is not None:
                writer.transport.abort()

    async def _ready(self, node: _Proc, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while True:
                if not node.running:
                    raise SpawnError(f"{node.name} exited: {node.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    response = await http.get(f"http://{HOST}:{port}/readyz", timeout=1.0)
                    if response.status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise SpawnError(f"{node.name} not ready in {timeout:.0f}s: {node.log_tail()}")
                await asyncio.sleep(0.05)

    def logs(self) -> str:
        procs = [*self.nodes, *([self.redis] if self.redis else [])]
        return "\n".join(f"--- {p.name}\n{p.log_tail()}" for p in procs)

    async def stop(self) -> None:
        """SIGTERM everything, SIGKILL what is still up after 10 s, remove the temp dir."""
        procs = [*self.nodes, *([self.redis] if self.redis else [])]
        for proc in self.nodes:
            proc.terminate()
        deadline = time.monotonic() + 10
        await asyncio.gather(*(asyncio.to_thread(p.wait_or_kill, deadline - time.monotonic()) for p in self.nodes))
        if self.redis is not None:
            self.redis.terminate()
            await asyncio.to_thread(self.redis.wait_or_kill, 5.0)
        for proc in procs:
            if proc.running and proc.proc is not None:
                proc.proc.kill()
        if self.postgres is not None:
            await asyncio.to_thread(self.postgres.cleanup)
        if not self.keep_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def kill_now(self) -> None:
        """Synchronous last resort (atexit)."""
        for proc in [*self.nodes, *([self.redis] if self.redis else [])]:
            if proc.running and proc.proc is not None:
                proc.proc.kill()
        if self.postgres is not None:
            self.postgres.kill()
