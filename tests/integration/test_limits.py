"""Bounds that hold whatever runs the app (issue 9, item 9): the frame-size limit under a
plain uvicorn whose own ``ws_max_size`` is far larger, and the commit queue while the
database cannot be written (a real SQLite file locked by another connection)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from cosession.config import Settings
from protocol.errors import CloseCode, ErrorCode
from protocol.messages import Ack, Chat, Error, Hello, Op
from tests.support.inprocess import running_app
from tests.support.raw import RawClient

WAIT = 20.0
LIMIT = 4096


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
async def test_a_frame_over_max_frame_bytes_closes_1009_under_plain_uvicorn(tmp_path: Path, fmt: str) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", max_frame_bytes=LIMIT)
    async with running_app(settings, ws_max_size=16 << 20) as server:  # uvicorn would take 16 MiB
        room = await server.create_room()
        # after the hello: a chat op of LIMIT + 1000 bytes
        client, _ = await RawClient.join(server.ws_url, room["token"], fmt=fmt, max_size=None)
        try:
            ref = await client.op(Chat(text="ok"))
            await client.expect(Ack, timeout=WAIT, ref=ref)
            await client.send(Op(ref="big", op=Chat(text="x" * (LIMIT + 1000))))
            assert await client.closed_with(WAIT) == CloseCode.MESSAGE_TOO_BIG
        finally:
            await client.close()
        # as the first frame
        client = await RawClient.open(server.ws_url, fmt)
        try:
            await client.send(Hello(token=room["token"] + "x" * (LIMIT + 10)))
            assert await client.closed_with(WAIT) == CloseCode.MESSAGE_TOO_BIG
        finally:
            await client.close()


async def test_a_text_frame_is_measured_in_utf8_bytes(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", max_frame_bytes=LIMIT)
    async with running_app(settings, ws_max_size=16 << 20) as server:
        room = await server.create_room()
        client, _ = await RawClient.join(server.ws_url, room["token"], fmt="json")
        try:
            # under the limit in characters, over it in bytes (3 bytes each)
            await client.send(Op(ref="big", op=Chat(text="€" * (LIMIT // 2))))
            assert await client.closed_with(WAIT) == CloseCode.MESSAGE_TOO_BIG
        finally:
            await client.close()
        client, _ = await RawClient.join(server.ws_url, room["token"], fmt="json")
        try:  # just under the limit in bytes: accepted
            ref = await client.op(Chat(text="€" * ((LIMIT - 200) // 3)))
            assert isinstance(await client.expect(Ack, timeout=WAIT, ref=ref), Ack)
        finally:
            await client.close()


async def test_the_commit_queue_is_bounded_while_the_database_is_locked(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    settings = Settings(database_url=f"sqlite:///{db}", commit_queue_max=5, ops_burst=100, max_chat_chars=100)
    async with running_app(settings) as server:
        room = await server.create_room()
        client, _ = await RawClient.join(server.ws_url, room["token"])
        blocker = sqlite3.connect(db, isolation_level=None, timeout=10)
        try:
            blocker.execute("BEGIN IMMEDIATE")  # holds the file's write lock: every commit fails
            refs = [await client.op(Chat(text=f"m{i}")) for i in range(12)]
            refused: list[Error] = []
            async with asyncio.timeout(WAIT):
                while len(refused) < 7:
                    msg = await client.recv(WAIT)
                    assert not isinstance(msg, Ack), f"acked while the database is locked: {msg}"
                    if isinstance(msg, Error):
                        refused.append(msg)
            assert [e.code for e in refused] == [ErrorCode.UNAVAILABLE] * 7
            assert [e.ref for e in refused] == refs[5:]
            assert server.services.committer.backlog == 5
            blocker.execute("ROLLBACK")
            acked = [await client.expect(Ack, timeout=WAIT, ref=ref) for ref in refs[:5]]
            assert [a.seq for a in acked] == sorted(a.seq for a in acked)
            # the refused ops, retried with the same refs, now go through
            for ref, i in zip(refs[5:], range(5, 12), strict=True):
                await client.send(Op(ref=ref, op=Chat(text=f"m{i}")))
                await client.expect(Ack, timeout=WAIT, ref=ref)
        finally:
            blocker.close()
            await client.close()
