"""Receiver worker processes for the fan-out benchmark.

Each worker (``multiprocessing``, spawn) runs a uvloop event loop holding many
:class:`~benchmarks.wsraw.WsClient` connections. Most of them only count complete
messages and bytes; a few (``latency=True``) decode every message and record the
op→delivery latency from the timestamp the sender embedded. The orchestrator drives a
worker through a pipe, one command at a time, each answered by one reply:

``("connect", host, port, [ConnSpec, ...], concurrency, timeout)``
    open connections, send each its first message; with ``wait_first`` wait for the
    first server message (our welcome). Reply ``{"ok": n, "failed": n, "errors": [...]}``.
``("stats", group)``
    ``{"count", "nbytes", "conns", "open", "reached", "closes", "t_ns"}``: ``count`` and
    ``nbytes`` over every connection; ``conns``, ``open`` and ``reached`` over the
    connections of ``group`` (a room; ``None``: all). ``reached`` counts those that
    received a message since the last ``("mark",)``.
``("mark",)``, ``("latency", on)``
    ``("latency", False)`` replies with the samples recorded since ``("latency", True)``.
``("close_all", timeout)``, ``("exit",)``
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing.connection
import resource
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from benchmarks.payloads import bare_ts, chat_ts
from benchmarks.wsraw import WsClient, perf_ns

MAX_LIFETIME = 30 * 60.0  # a worker never outlives this, whatever happens to its parent


@dataclass(frozen=True)
class ConnSpec:
    kind: str  # "ours" | "bare"
    path: str
    subprotocol: str | None
    first: bytes  # sent right after the handshake (hello, or join:<room>)
    wait_first: bool  # wait for the server's first message (welcome) before counting it connected
    latency: bool = False
    group: str = ""  # the room, for per-room stats


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class _Worker:
    def __init__(self, conn: multiprocessing.connection.Connection) -> None:
        self.pipe = conn
        self.clients: list[WsClient] = []
        self.groups: list[str] = []
        self.marks: list[int] = []
        self.recording = False
        self.samples: list[int] = []
        self.stop = asyncio.get_running_loop().create_future()
        self._decoder: Any = None

    # ---- latency receivers -------------------------------------------------------------

    def _on_ours(self, opcode: int, payload: bytes, now: int) -> None:
        if not self.recording:
            return
        from protocol.messages import Chat, Event

        msg = self._decoder.decode_server(payload)
        if isinstance(msg, Event) and isinstance(msg.op, Chat):
            ts = chat_ts(msg.op.text)
            if ts is not None:
                self.samples.append(now - ts)

    def _on_bare(self, opcode: int, payload: bytes, now: int) -> None:
        if self.recording:
            ts = bare_ts(payload)
            if ts is not None:
                self.samples.append(now - ts)

    # ---- commands ----------------------------------------------------------------------

    async def connect(
        self, host: str, port: int, specs: list[ConnSpec], concurrency: int, timeout: float
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        sem = asyncio.Semaphore(concurrency)
        errors: list[str] = []
        ok = 0
        if any(s.kind == "ours" for s in specs):
            from protocol.codec import MSGPACK

            self._decoder = MSGPACK

        async def one(spec: ConnSpec) -> None:
            nonlocal ok
            async with sem:
                on_message = None
                if spec.latency:
                    on_message = self._on_ours if spec.kind == "ours" else self._on_bare
                try:
                    _, client = await asyncio.wait_for(
                        loop.create_connection(
                            lambda: WsClient(
                                host, port, spec.path, spec.subprotocol, decode=spec.latency, on_message=on_message
                            ),
                            host,
                            port,
                        ),
                        timeout,
                    )
                    await asyncio.wait_for(asyncio.shield(client.opened), timeout)
                    client.send_binary(spec.first)
                    if spec.wait_first:
                        first = await asyncio.wait_for(asyncio.shield(client.first), timeout)
                        if spec.kind == "ours":
                            from protocol.messages import Welcome

                            msg = self._decoder.decode_server(first)
                            if not isinstance(msg, Welcome):
                                raise ConnectionError(f"expected welcome, got {msg!r}"[:200])
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    return
                self.clients.append(client)
                self.groups.append(spec.group)
                self.marks.append(client.count)
                ok += 1

        await asyncio.gather(*(one(s) for s in specs))
        return {"ok": ok, "failed": len(errors), "errors": errors[:5]}

    def stats(self, group: str | None = None) -> dict[str, Any]:
        count = nbytes = conns = reached = open_ = 0
        closes: Counter[int] = Counter()
        for client, mark, g in zip(self.clients, self.marks, self.groups, strict=True):
            count += client.count
            nbytes += client.nbytes
            if client.close_code is not None:
                closes[client.close_code] += 1
            if group is not None and g != group:
                continue
            conns += 1
            if client.count > mark:
                reached += 1
            if not client.done.done():
                open_ += 1
        return {
            "count": count,
            "nbytes": nbytes,
            "conns": conns,
            "open": open_,
            "reached": reached,
            "closes": dict(closes),
            "t_ns": perf_ns(),
        }

    async def close_all(self, timeout: float) -> int:
        clients, self.clients, self.marks, self.groups = self.clients, [], [], []
        await asyncio.gather(*(c.aclose(timeout) for c in clients))
        return len(clients)

    async def handle(self, cmd: tuple[Any, ...]) -> Any:
        name = cmd[0]
        if name == "connect":
            return await self.connect(*cmd[1:])
        if name == "stats":
            return self.stats(*cmd[1:])
        if name == "mark":
            self.marks = [c.count for c in self.clients]
            return None
        if name == "latency":
            if cmd[1]:
                self.samples = []
                self.recording = True
                return None
            self.recording = False
            samples, self.samples = self.samples, []
            return samples
        if name == "close_all":
            return await self.close_all(cmd[1])
        if name == "exit":
            await self.close_all(1.0)
            if not self.stop.done():
                self.stop.set_result(None)
            return None
        raise ValueError(f"unknown command {name!r}")

    async def serve(self, cmd: tuple[Any, ...]) -> None:
        try:
            reply: Any = ("ok", await self.handle(cmd))
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}")
        with contextlib.suppress(OSError):
            self.pipe.send(reply)

    def _read_commands(self, loop: asyncio.AbstractEventLoop) -> None:
        """Reader thread: blocking reads on the pipe (an event-loop reader would make the
        descriptor non-blocking, and a large command would then fail half-read)."""
        try:
            while True:
                cmd = self.pipe.recv()
                loop.call_soon_threadsafe(self._spawn, cmd)
        except (EOFError, OSError):  # the orchestrator is gone
            pass
        with contextlib.suppress(RuntimeError):  # the loop already closed
            loop.call_soon_threadsafe(self._stop)

    def _spawn(self, cmd: tuple[Any, ...]) -> None:
        asyncio.get_running_loop().create_task(self.serve(cmd))

    def _stop(self) -> None:
        if not self.stop.done():
            self.stop.set_result(None)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._read_commands, args=(loop,), daemon=True, name="commands").start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.stop), MAX_LIFETIME)
        for c in self.clients:
            if c.transport is not None:
                c.transport.abort()


async def _main(conn: multiprocessing.connection.Connection) -> None:
    await _Worker(conn).run()


def worker_main(conn: multiprocessing.connection.Connection, _index: int) -> None:
    import uvloop

    raise_nofile()
    uvloop.run(_main(conn))


class WorkerPool:
    """The orchestrator's side: ``n`` spawned workers and an async request/reply per worker."""

    def __init__(self, n: int) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[multiprocessing.connection.Connection] = []
        self.procs: list[Any] = []
        self.locks = [asyncio.Lock() for _ in range(n)]
        for i in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child, i), daemon=True, name=f"fanout-worker-{i}")
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def __len__(self) -> int:
        return len(self.pipes)

    async def call(self, i: int, cmd: tuple[Any, ...], timeout: float = 60.0) -> Any:
        pipe = self.pipes[i]
        async with self.locks[i]:
            pipe.send(cmd)
            if not await asyncio.to_thread(pipe.poll, timeout):
                raise TimeoutError(f"worker {i} did not answer {cmd[0]!r} within {timeout}s")
            status, value = pipe.recv()
        if status != "ok":
            raise RuntimeError(f"worker {i} failed {cmd[0]!r}: {value}")
        return value

    async def all(self, cmd: tuple[Any, ...], timeout: float = 60.0) -> list[Any]:
        return list(await asyncio.gather(*(self.call(i, cmd, timeout) for i in range(len(self)))))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.all(("exit",), timeout=10.0)
        deadline = time.monotonic() + 5.0
        for proc in self.procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(2.0)
