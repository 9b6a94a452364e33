"""``cosession serve`` as a new user runs it: a start that cannot work fails first, with one
clear line, no traceback and a non-zero exit status; a missing database folder is made and
the server says so."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port


def _serve(workdir: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "cosession", "serve", "--log-format", "json", *args]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    out = (result.stdout + result.stderr).strip()
    assert result.returncode != 0, out
    assert "Traceback" not in out, out
    assert len(out.splitlines()) == 1, out
    assert out.startswith("cosession: "), out
    for needle in needles:
        assert needle in out, out


def test_port_in_use_fails_first_and_clearly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = tmp_path / "c.db"
        result = _serve(tmp_path, "--port", str(port), "--database-url", f"sqlite:///{db}")
    _assert_one_clear_line(result, f"127.0.0.1:{port}", "already in use", "--port")
    assert "serving on" not in result.stderr and "cosession ready" not in result.stderr
    assert not db.exists()  # nothing was written before the port was known to be free


def test_a_file_in_the_database_path_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = _serve(tmp_path, "--port", str(free_port()), "--database-url", f"sqlite:///{tmp_path}/afile/x.db")
    _assert_one_clear_line(result, "afile is a file, not a folder", "--database-url")


def test_an_impossible_database_path_is_refused_clearly(tmp_path: Path) -> None:
    result = _serve(tmp_path, "--port", str(free_port()), "--database-url", "sqlite:////etc/hostname/x.db")
    _assert_one_clear_line(result, "/etc/hostname", "--database-url")


def test_an_unwritable_database_folder_is_refused_clearly(tmp_path: Path) -> None:
    # sysfs refuses new files even to root: a stand-in for a read-only file system
    if not Path("/sys/kernel").is_dir():
        pytest.skip("needs Linux sysfs")
    result = _serve(tmp_path, "--port", str(free_port()), "--database-url", "sqlite:////sys/cosession-test.db")
    _assert_one_clear_line(result, "/sys/cosession-test.db", "--database-url")


@pytest.mark.timeout(60)
async def test_a_missing_database_folder_is_created_and_said(tmp_path: Path) -> None:
    db = tmp_path / "data" / "deeper" / "c.db"
    port = free_port()
    log = tmp_path / "server.log"
    cmd = [sys.executable, "-m", "cosession", "serve", "--port", str(port), "--database-url", f"sqlite:///{db}"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 40
        async with httpx.AsyncClient() as http:
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/readyz", timeout=1)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 15)
    text = log.read_text()
    assert f"created the folder {db.parent} for the database" in text, text
    assert db.exists()


def test_an_unparseable_database_url_is_refused_clearly_without_echoing_it(tmp_path: Path) -> None:
    result = _serve(tmp_path, "--port", str(free_port()), "--database-url", "not-a-url:Pw-do-not-echo")
    _assert_one_clear_line(result, "--database-url could not be parsed")
    assert "Pw-do-not-echo" not in result.stdout + result.stderr
