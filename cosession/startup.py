"""Checks ``cosession serve`` makes before it announces anything, each failing with one clear line.

* The listening socket is bound first (``bind_listener``), so a port already in use stops
  the server before "serving on …" and before any database work.
* A SQLite database's folder is created when missing (and the server says so on stderr);
  a folder or file the server cannot write to, or a path that cannot be a folder, is
  refused with what to do instead (``check_sqlite_path``).

Errors are ``StartupError``: the CLI prints the message and exits with status 1, no traceback.
"""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class StartupError(Exception):
    """The server cannot start; the message says why and what to change."""


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, ready to hand to uvicorn."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"cannot listen on {host}:{port}: the port is already in use (another server runs there; "
                "stop it or choose another port with --port)"
            ) from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL (``None`` for in-memory SQLite and other databases)."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))


def check_sqlite_path(database_url: str) -> None:
    """Make sure a SQLite database can be created and written where the URL says."""
    path = sqlite_file(database_url)
    if path is None:
        return
    where = f"database {path}"
    folder = path.parent
    if not folder.is_dir():
        existing = next((p for p in [folder, *folder.parents] if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise StartupError(f"{where}: {existing} is a file, not a folder; choose another --database-url")
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise StartupError(f"{where}: cannot create the folder {folder}: {_why(exc)}") from None
        print(f"cosession: created the folder {folder} for the database", file=sys.stderr, flush=True)
    if path.exists() and not path.is_file():
        raise StartupError(f"{where}: {path} exists and is not a file; choose another --database-url")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StartupError(f"{where}: the folder {folder} is not writable; choose another --database-url")
    try:
        conn = sqlite3.connect(path, timeout=5)
        try:
            conn.execute("BEGIN IMMEDIATE")  # takes the write lock: fails on a read-only file or folder
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StartupError(f"{where}: cannot write to it ({exc}); choose another --database-url") from None


def _why(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else str(exc)
