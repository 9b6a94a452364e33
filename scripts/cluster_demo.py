"""A local two-node cluster to try cluster mode: a private redis-server, a private PostgreSQL
(or one shared SQLite file with ``--db sqlite``) and two ``cosession serve`` nodes, all on
127.0.0.1. Run through ``scripts/cluster-demo``; Ctrl-C (or SIGTERM) stops everything.

Nothing is kept: Redis and PostgreSQL live in a temporary folder removed on exit (``--keep``
leaves it). The nodes get no ``--secret``: they share the one the first node stores in the
database, as production nodes do.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import FrameType

from loadtest.local_postgres import PostgresServer, postgres_bin_dir

HOST = "127.0.0.1"
READY_LINE = "cluster ready"


class DemoError(Exception):
    """The demo cannot start; the message says why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        return True


def redis_binary() -> str | None:
    override = os.environ.get("REDIS_SERVER_BIN")
    if override:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("redis-server")


class Demo:
    def __init__(self, ports: list[int], db: str, keep: bool) -> None:
        self.ports = ports
        self.db = db
        self.keep = keep
        self.root = Path(tempfile.mkdtemp(prefix="cosession-cluster-demo-"))
        self.redis: subprocess.Popen[bytes] | None = None
        self.redis_port = 0
        self.postgres: PostgresServer | None = None
        self.nodes: list[tuple[str, int, subprocess.Popen[bytes]]] = []

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def tail(self, name: str, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log(name).read_text(errors="replace").splitlines()[-lines:])
        return ""

    # ---- start ---------------------------------------------------------------------

    def start(self) -> None:
        redis = redis_binary()
        if redis is None:
            raise DemoError("needs redis-server (on PATH or $REDIS_SERVER_BIN; scripts/system-deps.sh installs it)")
        for port in self.ports:
            if not port_free(port):
                raise DemoError(f"port {port} is in use; choose others with --ports A,B")
        database_url = f"sqlite:///{self.root / 'cosession.db'}"
        if self.db == "postgres":
            bin_dir = postgres_bin_dir()
            if bin_dir is None:
                raise DemoError(
                    "needs PostgreSQL's server (initdb, postgres; scripts/system-deps.sh installs it), "
                    "or run with --db sqlite (one SQLite file shared by both nodes on this machine)"
                )
            self.postgres = PostgresServer(bin_dir, database="cosession", preexec_fn=os.setsid)
            self.postgres.start()
            database_url = self.postgres.url
        self._start_redis(redis)
        redis_url = f"redis://{HOST}:{self.redis_port}/0"
        print("cosession cluster demo (everything on 127.0.0.1; Ctrl-C stops it all)", flush=True)
        print(f"  redis        {redis_url}", flush=True)
        print(f"  database     {database_url}", flush=True)
        for i, port in enumerate(self.ports):
            name = "node-" + "abcdefgh"[i]
            cmd = [sys.executable, "-m", "cosession", "serve", "--host", HOST, "--port", str(port)]
            cmd += ["--node-id", name, "--redis-url", redis_url, "--database-url", database_url]
            cmd += ["--log-format", "json"]
            workdir = self.root / name
            workdir.mkdir()
            with self.log(name).open("wb") as out:
                proc = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=out, start_new_session=True)
            self.nodes.append((name, port, proc))
            if i == 0:
                self._wait_ready(name, port, proc)  # the first node runs the migrations alone
        for name, port, proc in self.nodes[1:]:
            self._wait_ready(name, port, proc)
        for name, port, _ in self.nodes:
            print(f"  {name}       http://{HOST}:{port}   (log: {self.log(name)})", flush=True)
        a, b = self.ports[0], self.ports[1]
        print(f"{READY_LINE}. Try it:", flush=True)
        print(f"  .venv/bin/cosession room create --server http://{HOST}:{a}    # a room, made on node-a", flush=True)
        print(f"  .venv/bin/cosession-client join http://{HOST}:{a}/r/CODE --name Ana   # Ana on node-a", flush=True)
        print(f"  .venv/bin/cosession-client join http://{HOST}:{b}/r/CODE --name Ben   # Ben on node-b", flush=True)
        print("  (the same invite code on either port: what one does, the other sees)", flush=True)

    def _start_redis(self, binary: str) -> None:
        data = self.root / "redis"
        data.mkdir()
        self.redis_port = free_port()
        cmd = [binary, "--port", str(self.redis_port), "--bind", HOST, "--dir", str(data)]
        cmd += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        with self.log("redis").open("wb") as out:
            self.redis = subprocess.Popen(cmd, stdout=out, stderr=out, start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            if self.redis.poll() is not None:
                raise DemoError(f"redis-server exited: {self.tail('redis')}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.redis_port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            if time.monotonic() > deadline:
                raise DemoError(f"redis-server not answering: {self.tail('redis')}")
            time.sleep(0.05)

    def _wait_ready(self, name: str, port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise DemoError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"http://{HOST}:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
            if time.monotonic() > deadline:
                raise DemoError(f"{name} not ready in {timeout:.0f}s:\n{self.tail(name)}")
            time.sleep(0.1)

    # ---- run and stop --------------------------------------------------------------

    def dead_node(self) -> str | None:
        for name, _, proc in self.nodes:
            if proc.poll() is not None:
                return name
        if self.redis is not None and self.redis.poll() is not None:
            return "redis"
        return None

    def stop(self) -> None:
        """Nodes first (they drain: clients are told to reconnect), then Redis, then the database."""
        for _, _, proc in self.nodes:
            if proc.poll() is None:
                proc.terminate()
        for _, _, proc in self.nodes:
            _wait_or_kill(proc, 10)
        if self.redis is not None:
            self.redis.terminate()
            _wait_or_kill(self.redis, 5)
        if self.postgres is not None:
            self.postgres.cleanup()
        if self.keep:
            print(f"cluster demo: stopped; logs and data kept in {self.root}", flush=True)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
            print("cluster demo: stopped", flush=True)


def _wait_or_kill(proc: subprocess.Popen[bytes], seconds: float) -> None:
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class _Stop(Exception):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/cluster-demo", description="Redis, PostgreSQL and two cosession nodes on 127.0.0.1"
    )
    parser.add_argument("--ports", default="8081,8082", help="the two nodes' ports (default 8081,8082)")
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--keep", action="store_true", help="keep the logs and data folder on exit")
    args = parser.parse_args(argv)
    try:
        ports = [int(p) for p in args.ports.split(",")]
    except ValueError:
        parser.error("--ports takes two numbers, e.g. 8081,8082")
    if len(ports) != 2 or ports[0] == ports[1]:
        parser.error("--ports takes two different numbers, e.g. 8081,8082")
    demo = Demo(ports, args.db, args.keep)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    status = 0
    try:
        demo.start()
        while (dead := demo.dead_node()) is None:
            time.sleep(0.2)
        print(f"cluster demo: {dead} exited:\n{demo.tail(dead)}", file=sys.stderr, flush=True)
        status = 1
    except _Stop:
        pass
    except (DemoError, RuntimeError, TimeoutError, OSError) as exc:
        print(f"cluster demo: {exc}", file=sys.stderr, flush=True)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        demo.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
