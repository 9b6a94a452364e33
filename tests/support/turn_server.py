"""A private coturn ``turnserver`` per test, on 127.0.0.1 with TURN REST credentials
(``use-auth-secret``), and ``turnutils_uclient`` to try an allocation with a credential.

The binary is ``$TURNSERVER_BIN`` if set, else ``turnserver`` on ``PATH`` (Debian's
``coturn`` package, installed by ``scripts/system-deps.sh``). Relay ports come from a
small range of their own per server, so parallel servers do not share one.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.support.server import free_port

REALM = "cosession.test"


def turnserver_binary() -> str | None:
    override = os.environ.get("TURNSERVER_BIN")
    if override:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("turnserver")


def uclient_binary() -> str | None:
    found = shutil.which("turnutils_uclient")
    if found is None and turnserver_binary() is not None:
        sibling = Path(turnserver_binary() or "").with_name("turnutils_uclient")
        return str(sibling) if sibling.exists() else None
    return found


class TurnServer:
    """One ``turnserver`` process: ``url`` for an IceServer, ``secret`` for the server."""

    def __init__(self, workdir: Path, secret: str = "turn-test-secret") -> None:
        self.workdir = workdir
        self.secret = secret
        self.port = free_port()
        self.min_port = random.randrange(20000, 40000, 50)
        self.max_port = self.min_port + 40
        self.log_path = workdir / "turnserver.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.last_client_output = ""

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def command(self) -> list[str]:
        return [
            turnserver_binary() or "turnserver",
            "-n",  # no configuration file
            "--listening-ip",
            "127.0.0.1",
            "--listening-port",
            str(self.port),
            "--relay-ip",
            "127.0.0.1",
            "--min-port",
            str(self.min_port),
            "--max-port",
            str(self.max_port),
            "--use-auth-secret",
            "--static-auth-secret",
            self.secret,
            "--realm",
            REALM,
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--allow-loopback-peers",  # our peers are on 127.0.0.1
            "--pidfile",
            str(self.workdir / "turnserver.pid"),
            "--userdb",
            str(self.workdir / "turndb"),
            "--log-file",
            "stdout",
            "--simple-log",
        ]

    async def start(self, timeout: float = 20.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        log.close()
        deadline = time.monotonic() + timeout
        while True:  # its TCP listener (same port as UDP) accepts once it serves
            if self.proc.poll() is not None:
                raise RuntimeError(f"turnserver exited with {self.proc.returncode}: {self.log_tail()}")
            with socket.socket() as probe:
                probe.settimeout(0.2)
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"turnserver not listening in {timeout}s: {self.log_tail()}")
            await asyncio.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    async def allocates(self, username: str, credential: str, timeout: float = 20.0) -> bool:
        """Whether ``turnutils_uclient`` gets an allocation with these credentials (it
        also sends a little data through the relay to a peer on 127.0.0.1)."""
        binary = uclient_binary() or "turnutils_uclient"
        proc = await asyncio.create_subprocess_exec(
            binary,
            "-y",  # the peer is another client of the same server (loopback)
            "-n",
            "3",
            "-m",
            "1",
            "-u",
            username,
            "-w",
            credential,
            "-p",
            str(self.port),
            "127.0.0.1",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with asyncio.timeout(timeout):
                out, _ = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return False
        text = out.decode(errors="replace")
        self.last_client_output = text
        totals = re.findall(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", text, re.MULTILINE)
        received = int(totals[-1][1]) if totals else 0
        return proc.returncode == 0 and "Cannot complete Allocation" not in text and received > 0
