"""The generated token secret's file: mode 0600 from the start, one secret for every
process that creates it at the same moment."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cosession.config import Settings, resolve_secret
from cosession.signing.shared import read_or_create_secret_file


@pytest.fixture
def lax_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_secret_file_is_created_0600_without_a_later_chmod(
    tmp_path: Path, lax_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_chmod(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file must be created with its mode, not chmod-ed afterwards")

    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(Path, "chmod", no_chmod)
    settings = resolve_secret(Settings(database_url=f"sqlite:///{tmp_path}/data/c.db"))
    path = tmp_path / "data" / "c.db.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == settings.secret
    assert [p.name for p in path.parent.iterdir()] == ["c.db.secret"]  # no temporary file left
    assert resolve_secret(Settings(database_url=f"sqlite:///{tmp_path}/data/c.db")).secret == settings.secret


def test_processes_creating_the_file_at_once_get_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "c.db.secret"
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from cosession.signing.shared import read_or_create_secret_file\n"
        "start = float(sys.argv[2])\n"
        "time.sleep(max(0.0, start - time.time()))\n"
        "print(read_or_create_secret_file(Path(sys.argv[1])))\n"
    )
    import time

    start = str(time.time() + 1.0)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path), start], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    outputs = {p.communicate(timeout=30)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert outputs == {path.read_text().strip()}


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.db.secret"
    path.write_text("\n")
    with pytest.raises(ValueError, match="empty"):
        read_or_create_secret_file(path)


def test_postgres_without_secret_is_resolved_at_start_not_in_a_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = resolve_secret(Settings(database_url="postgresql://u@127.0.0.1:1/db"))
    assert settings.secret == ""  # the server reads it from the database at start-up
    assert not (tmp_path / ".cosession-secret").exists()
