"""A private, throw-away PostgreSQL server: ``initdb`` into /tmp, a free 127.0.0.1 port.

Used by ``cosession-loadtest --spawn N --spawn-db postgres`` and by the test fixtures
(one server per test session, a fresh database per test: ``next_database_name``).
``initdb`` takes about 2 s. The server runs with ``fsync=off`` and
``synchronous_commit=off``: durability across an OS crash is PostgreSQL's business, not
something a test or a load run can observe, and it keeps the disk out of the figures.

``initdb`` and ``postgres`` refuse to run as root: as root they are started as the
``postgres`` user (``Popen(user=...)``, so the PID held here is the server's own) in a
folder under /tmp owned by that user. The binaries are found in ``$PG_BIN_DIR``, else the
newest ``/usr/lib/postgresql/*/bin``, else on ``PATH``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

READY_LINE = "database system is ready to accept connections"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def postgres_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``, or None if PostgreSQL is not installed."""
    override = os.environ.get("PG_BIN_DIR")
    if override:
        path = Path(override)
        return path if (path / "initdb").exists() and (path / "postgres").exists() else None

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", p.parent.name))

    candidates = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists() and (p / "postgres").exists()),
        key=version,
    )
    if candidates:
        return candidates[-1]
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).parent
    return None


class PostgresServer:
    def __init__(
        self,
        bin_dir: Path,
        *,
        user: str = "postgres",
        database: str = "cosession",
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.bin_dir = bin_dir
        self.database = database
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        # the OS user the server runs as; when not root, ourselves
        self.os_user = user if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self.root = Path(tempfile.mkdtemp(prefix="cosession-pg-", dir="/tmp"))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log_path = self.root / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.preexec_fn = preexec_fn  # run in the server's child process before exec
        self._databases = 0

    @property
    def db_user(self) -> str:
        """The database superuser (initdb names it after the OS user)."""
        return self.os_user

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql://{self.db_user}@127.0.0.1:{self.port}/{database}"

    def _popen_kwargs(self) -> dict[str, Any]:
        return {"user": self.os_user} if self.as_root else {}

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        result = subprocess.run(list(args), capture_output=True, timeout=timeout, cwd=self.root, **self._popen_kwargs())
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.decode(errors='replace')}")

    def start(self, timeout: float = 60.0) -> None:
        """initdb (first time only), start, wait for connections, create the main database."""
        self.socket_dir.mkdir(exist_ok=True)
        if self.as_root:
            for path in (self.root, self.socket_dir):
                shutil.chown(path, user=self.os_user)
        self.root.chmod(0o700)
        if not self.data_dir.exists():
            self._run(
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                self.db_user,
            )
            self._run_server(timeout)
            self._run(
                str(self.bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.db_user,
                self.database,
            )
        else:
            self._run_server(timeout)

    def _run_server(self, timeout: float) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        if self.as_root and not self.log_path.exists():
            self.log_path.touch()
            shutil.chown(self.log_path, user=self.os_user)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(self.bin_dir / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.socket_dir),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                preexec_fn=self.preexec_fn,
                **self._popen_kwargs(),
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}: {self.log_tail()}")
            if READY_LINE in self._log_since(offset):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"postgres not ready in {timeout}s: {self.log_tail()}")
            time.sleep(0.02)

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def next_database_name(self) -> str:
        self._databases += 1
        return f"test_{self._databases}"

    def kill(self) -> None:
        """SIGKILL the postmaster (its backends exit on their own once it is gone)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """Fast shutdown (SIGINT): roll back open transactions, close connections."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self, timeout: float = 60.0) -> None:
        """Stop and start on the same port and data (for tests that take PostgreSQL away)."""
        self.stop()
        self._run_server(timeout)

    def cleanup(self) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
