"""Fan-out benchmark: ``cosession serve`` against a bare ``websockets`` broadcast server.

    .venv/bin/python -m benchmarks.fanout [--quick] [--markdown PATH] [--json PATH]

One run starts everything itself on free 127.0.0.1 ports: each server as a subprocess,
and receiver worker processes (multiprocessing, spawn) that hold the member connections
as raw asyncio protocols (see ``benchmarks/wsraw.py``: a hand-made WebSocket handshake,
then frame headers counted, no decoding). The sender lives in this process. Measured for
each server, the same way, in the same run:

a. fan-out throughput, one room of ``R`` members (100 and 1,000): one sender pushes chat
   ops (ours) or same-size binary messages (bare) as fast as the server takes them, with
   a bounded window of un-acknowledged ops (ours: un-acked; bare: un-echoed); delivered
   messages per second are summed over every member, the sender included, over a fixed
   window after a warm-up. That rate is the saturation rate.
b. op→ack and op→delivery latency (p50/p99) at half of the saturation op rate, R=100,
   from a fixed-rate (open loop) sender. Each op carries ``time.perf_counter_ns()``
   (``CLOCK_MONOTONIC``, one clock for all processes); a few latency receivers decode
   every message and subtract. Bare: op→ack is the sender's own echo.
c. server RSS per idle connection: RSS after N members joined (rooms of 100, idle, after
   a quiet second) minus RSS before they connected, over N.

Our server runs with ``--sqlite-synchronous NORMAL`` and its rate limits raised; a
``--no-direct-send`` run shows what the direct-write path gains, and a ``FULL`` run shows
the cost of the fsync per group commit on op→ack. Member tokens are signed here with the
secret passed to the server (``cosession.auth.TokenSigner``) instead of accepting an
invite per member over HTTP: the server cannot tell the difference.

All traffic stays on 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psutil

from benchmarks import report
from benchmarks.payloads import CHAT_CHARS, bare_payload, chat_text
from benchmarks.report import REPO, log
from benchmarks.workers import ConnSpec, WorkerPool, raise_nofile
from benchmarks.wsraw import WsClient, open_ws, perf_ns
from cosession.auth import TokenSigner, new_id
from protocol.codec import MSGPACK, MSGPACK_SUBPROTOCOL
from protocol.messages import Ack, Chat, Error, Event, Hello, MemberJoin, Op, Welcome

HOST = "127.0.0.1"
SECRET = "fanout-bench-secret"
OURS_LIMITS = ("--ops-per-second", "1000000", "--ops-burst", "1000000", "--max-members", "5000")
MAX_OPS = 5_000_000  # a sender never sends more than this in one phase


# ---- parameters ---------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    sizes: tuple[int, ...] = (100, 1000)
    warmup: float = 1.0
    window: float = 5.0
    lat_seconds: float = 3.0
    lat_receivers: int = 10
    rss_conns: int = 2000
    rss_room: int = 100
    inflight: int = 64
    workers: int = 2
    chat_chars: int = CHAT_CHARS
    connect_concurrency: int = 50
    rounds: int = 2  # fan-out windows per server and size, taken in turn; the best counts


FULL_RUN = Params()
QUICK_RUN = Params(sizes=(50, 200), warmup=0.5, window=1.5, lat_seconds=1.0, rss_conns=400, rounds=1)


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    ours: bool
    args: tuple[str, ...] = ()


BARE = Kind("bare", "bare websockets", False)
OURS = Kind("ours", "cosession", True, ("--sqlite-synchronous", "NORMAL"))
ASGI = Kind("asgi", "cosession --no-direct-send", True, ("--sqlite-synchronous", "NORMAL", "--no-direct-send"))
FSYNC = Kind("full", "cosession FULL", True, ("--sqlite-synchronous", "FULL"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


# ---- servers ------------------------------------------------------------------------


class ServerProc:
    def __init__(self, kind: Kind, workdir: Path) -> None:
        self.kind = kind
        self.workdir = workdir
        self.port = free_port()
        self.db = workdir / f"{kind.key}-{self.port}.db"
        self.log_path = workdir / f"{kind.key}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ps: psutil.Process | None = None

    @property
    def http(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        if not self.kind.ours:
            return [sys.executable, "-m", "benchmarks.bare_server", "--host", HOST, "--port", str(self.port)]
        return [
            sys.executable, "-m", "cosession", "serve",
            "--host", HOST, "--port", str(self.port),
            "--database-url", f"sqlite:///{self.db}",
            "--secret", SECRET,
            "--log-format", "json", "--log-level", "warning",
            *OURS_LIMITS, *self.kind.args,
        ]  # fmt: skip

    async def start(self, timeout: float = 90.0) -> None:
        """Start the server and wait until it serves; on any failure it is stopped again."""
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(self.command(), cwd=REPO, stdout=out, stderr=out)
        self.ps = psutil.Process(self.proc.pid)
        try:
            await self._wait_ready(timeout)
        except BaseException:
            await self.stop()
            raise

    async def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last = ""
        async with httpx.AsyncClient() as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.kind.label} exited with {self.proc.returncode}: {self.log_tail()}")
                try:
                    if self.kind.ours:
                        response = await client.get(self.http + "/readyz", timeout=5.0)
                        if response.status_code == 200:
                            return
                        last = f"/readyz answered {response.status_code}: {response.text[:300]}"
                    else:
                        _, writer = await asyncio.open_connection(HOST, self.port)
                        writer.close()
                        return
                except (OSError, httpx.HTTPError) as exc:
                    last = repr(exc)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.kind.label} not ready in {timeout}s ({last}); log: {self.log_tail()}")
                await asyncio.sleep(0.1)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def rss(self) -> int:
        assert self.ps is not None
        return int(self.ps.memory_info().rss)

    def cpu(self) -> float:
        assert self.ps is not None
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(proc.wait), 15)
        except (TimeoutError, asyncio.CancelledError):
            proc.kill()
            proc.wait(5)


# ---- the sender ---------------------------------------------------------------------


class Sender:
    """One member that sends: saturating (windowed) or at a fixed rate (open loop).

    Ours: chat ops whose text starts with the send time; an ack ends an op. Bare: binary
    messages of the same size as our event frame, starting with the send time; the
    sender's own echo ends an op.
    """

    def __init__(self, ours: bool, window: int, chat_chars: int, bare_size: int) -> None:
        self.ours = ours
        self.window = window
        self.chat_chars = chat_chars
        self.bare_size = bare_size
        self.ws: WsClient | None = None
        self.running = False
        self.inflight = 0
        self.sent = 0
        self.acked = 0
        self.events = 0  # broadcast messages this member received (its deliveries)
        self.joins = 0  # member.join events seen (ours)
        self.errors = 0
        self.last_error = ""
        self.pending: dict[str, int] = {}
        self.recording = False
        self.ack_lat: list[int] = []
        self._ref = 0
        self._enc = msgspec.msgpack.Encoder()

    async def connect(self, port: int, first: bytes) -> None:
        path, sub = ("/v1/ws", MSGPACK_SUBPROTOCOL) if self.ours else ("/", None)
        self.ws = await open_ws(HOST, port, path, sub, decode=True, on_message=self.on_message)
        self.ws.send_binary(first)
        if self.ours:
            first_msg = MSGPACK.decode_server(await asyncio.wait_for(asyncio.shield(self.ws.first), 30))
            if not isinstance(first_msg, Welcome):
                raise RuntimeError(f"sender not welcomed: {first_msg!r}")

    def send_op(self, probe: bool = False) -> None:
        assert self.ws is not None
        ns = perf_ns()
        if self.ours:
            self._ref += 1
            ref = f"b{self._ref}"
            self.pending[ref] = ns
            text = "probe" if probe else chat_text(ns, self.chat_chars)
            self.ws.send_binary(self._enc.encode(Op(ref=ref, op=Chat(text=text))))
        else:
            payload = bare_payload(ns, self.bare_size)
            self.ws.send_binary(b"P" + payload[1:] if probe else payload)
        self.inflight += 1
        self.sent += 1

    def on_message(self, opcode: int, payload: bytes, now: int) -> None:
        if not self.ours:
            self.events += 1
            if payload[:1] in (b"T", b"P") and len(payload) >= 9:
                self.inflight -= 1
                self.acked += 1
                if self.recording and payload[0] == 0x54:
                    self.ack_lat.append(now - int.from_bytes(payload[1:9], "big"))
                if self.running:
                    self.pump()
            return
        msg = MSGPACK.decode_server(payload)
        kind = type(msg)
        if kind is Ack:
            ns = self.pending.pop(msg.ref, None)  # type: ignore[union-attr,arg-type]
            if ns is None:
                return
            self.inflight -= 1
            self.acked += 1
            if self.recording:
                self.ack_lat.append(now - ns)
            if self.running:
                self.pump()
        elif kind is Event:
            self.events += 1
            if type(msg.op) is MemberJoin:  # type: ignore[union-attr]
                self.joins += 1
        elif kind is Error:
            self.errors += 1
            self.last_error = f"{msg.code}: {msg.message}"  # type: ignore[union-attr]
            if msg.ref is not None and self.pending.pop(msg.ref, None) is not None:  # type: ignore[union-attr]
                self.inflight -= 1

    def pump(self) -> None:
        while self.running and self.inflight < self.window and self.sent < MAX_OPS:
            self.send_op()

    def start(self) -> None:
        self.running = True
        self.pump()

    def stop(self) -> None:
        self.running = False

    async def run_rate(self, rate: float, seconds: float) -> int:
        """Send ``rate`` ops/s for ``seconds`` regardless of acks (open loop)."""
        total = max(1, int(rate * seconds))
        interval = 1e9 / rate
        t0 = perf_ns()
        i = 0
        while i < total:
            now = perf_ns()
            due = t0 + i * interval
            if due <= now:
                self.send_op()
                i += 1
                if self.inflight > 100_000:
                    raise RuntimeError("server stopped acknowledging (100k ops in flight)")
                continue
            await asyncio.sleep((due - now) / 1e9)
        return total

    async def wait_idle(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.inflight > 0 and time.monotonic() < deadline:  # noqa: ASYNC110 - a bounded poll
            await asyncio.sleep(0.02)
        if self.inflight > 0:
            log(f"  warning: {self.inflight} ops still unacknowledged after {timeout}s ({self.last_error})")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.aclose(2.0)


# ---- rooms --------------------------------------------------------------------------


def event_frame_size(chat_chars: int) -> int:
    """Bytes of one of our chat event payloads, as the receivers get it."""
    sample = Event(seq=123_456, ts=int(time.time() * 1000), by=new_id("m"), op=Chat(text=chat_text(0, chat_chars)))
    return len(MSGPACK.encode(sample))


@dataclass
class Room:
    server: ServerProc
    group: str
    size: int
    sender: Sender


class Bench:
    def __init__(self, params: Params, pool: WorkerPool, workdir: Path) -> None:
        self.p = params
        self.pool = pool
        self.workdir = workdir
        self.signer = TokenSigner(SECRET)
        self.bare_size = event_frame_size(params.chat_chars)
        self.gen_procs = [psutil.Process(pid) for pid in pool.pids] + [psutil.Process()]
        self._rooms = 0
        self.profile_dir: Path | None = None
        self.profiles: dict[str, str] = {}

    # -- profiling (py-spy, optional)

    def start_profile(self, server: ServerProc, name: str) -> tuple[subprocess.Popen[bytes], str, Path] | None:
        if self.profile_dir is None or server.proc is None:
            return None
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        out = self.profile_dir / f"{name}.txt"
        cmd = [spy, "record", "--pid", str(server.proc.pid), "--duration", str(max(1, round(self.p.window))),
               "--rate", "200", "--format", "raw", "--nonblocking", "--output", str(out)]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return proc, name, out

    async def finish_profile(self, proc: subprocess.Popen[bytes], name: str, out: Path) -> None:
        try:
            await asyncio.wait_for(asyncio.to_thread(proc.wait), self.p.window + 20)
        except TimeoutError:
            proc.kill()
            proc.wait(5)
        if out.exists():  # noqa: ASYNC240 - one stat after py-spy exited
            self.profiles[name] = summarize_profile(out)
            log(f"  profile {name}:\n{self.profiles[name]}")
        else:
            err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
            log(f"  profile {name} failed: {err}")

    def gen_cpu(self) -> float:
        total = 0.0
        for proc in self.gen_procs:
            t = proc.cpu_times()
            total += t.user + t.system
        return total

    # -- members

    async def new_room(self, server: ServerProc, members: int) -> tuple[str, bytes, list[bytes]]:
        """(room, the sender's first message, the other members' first messages)."""
        self._rooms += 1
        if not server.kind.ours:
            room = f"room{self._rooms}"
            first = f"join:{room}".encode()
            return room, first, [first] * members
        async with httpx.AsyncClient() as client:
            response = await client.post(
                server.http + "/v1/rooms", json={"name": f"bench {self._rooms}", "owner_name": "sender"}
            )
            response.raise_for_status()
            data = response.json()
        room, owner = data["room"], data["token"]

        def hello(token: str) -> bytes:
            return MSGPACK.encode(Hello(token=token, client="fanout-bench", device="bot"))

        tokens = [
            self.signer.issue(room=room, member=new_id("m"), role="member", name=f"r{i}", ttl=3600)
            for i in range(members)
        ]
        return room, hello(owner), [hello(t) for t in tokens]

    def specs(self, kind: Kind, group: str, firsts: list[bytes], latency: int) -> list[ConnSpec]:
        path, sub = ("/v1/ws", MSGPACK_SUBPROTOCOL) if kind.ours else ("/", None)
        return [
            ConnSpec(kind="ours" if kind.ours else "bare", path=path, subprotocol=sub, first=f,
                     wait_first=kind.ours, latency=i < latency, group=group)
            for i, f in enumerate(firsts)
        ]  # fmt: skip

    async def connect(self, server: ServerProc, specs: list[ConnSpec]) -> None:
        n = len(self.pool)
        results = await asyncio.gather(
            *(
                self.pool.call(
                    w, ("connect", HOST, server.port, specs[w::n], self.p.connect_concurrency, 60.0), timeout=300.0
                )
                for w in range(n)
            )
        )
        failed = sum(r["failed"] for r in results)
        if failed:
            errors = [e for r in results for e in r["errors"]]
            raise RuntimeError(f"{failed} of {len(specs)} members could not join {server.kind.label}: {errors}")

    async def stats(self, group: str | None = None) -> list[dict[str, Any]]:
        return await self.pool.all(("stats", group))

    async def wait_stable(self, sender: Sender | None, timeout: float = 120.0) -> None:
        """Until no member receives anything for a few polls."""
        deadline = time.monotonic() + timeout
        last = -1
        quiet = 0
        while time.monotonic() < deadline:
            total = sum(s["count"] for s in await self.stats()) + (sender.events if sender else 0)
            quiet = quiet + 1 if total == last else 0
            if quiet >= 2:
                return
            last = total
            await asyncio.sleep(0.25)
        raise TimeoutError("members kept receiving: the room never settled")

    async def settle(self, room: Room) -> None:
        """Joins done and delivered, then one probe op reaches every member."""
        deadline = time.monotonic() + 120.0
        members = room.size - 1
        if room.server.kind.ours:
            while room.sender.joins < members:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"sender saw {room.sender.joins} of {members} joins")
                await asyncio.sleep(0.05)
        await self.wait_stable(room.sender)
        await self.pool.all(("mark",))
        room.sender.send_op(probe=True)
        while True:
            st = await self.stats(room.group)
            reached = sum(s["reached"] for s in st)
            if reached >= members:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"probe reached {reached} of {members} members")
            await asyncio.sleep(0.05)
        await room.sender.wait_idle()
        await self.wait_stable(room.sender)

    async def open_room(self, server: ServerProc, size: int, latency: int) -> Room:
        group, sender_first, firsts = await self.new_room(server, size - 1)
        sender = Sender(server.kind.ours, self.p.inflight, self.p.chat_chars, self.bare_size)
        await sender.connect(server.port, sender_first)
        room = Room(server, group, size, sender)
        t0 = time.monotonic()
        await self.connect(server, self.specs(server.kind, group, firsts, latency))
        await self.settle(room)
        log(f"  {server.kind.label}: room of {size} joined and settled in {time.monotonic() - t0:.1f}s")
        return room

    async def close_rooms(self, rooms: list[Room]) -> None:
        """Every receiver connection goes (all rooms), then the senders."""
        await self.pool.all(("close_all", 3.0))
        await asyncio.gather(*(r.sender.close() for r in rooms))
        await asyncio.sleep(0.5)

    # -- measurements

    async def fanout(self, server: ServerProc, sender: Sender, size: int) -> dict[str, Any]:
        p = self.p
        sender.start()
        await asyncio.sleep(p.warmup)
        spy = self.start_profile(server, f"{server.kind.key}-R{size}")
        a, sa, ca, ga = await self.stats(), (sender.events, sender.acked, perf_ns()), server.cpu(), self.gen_cpu()
        ma, w0 = machine_busy(), time.monotonic()
        await asyncio.sleep(p.window)
        b, sb, cb, gb = await self.stats(), (sender.events, sender.acked, perf_ns()), server.cpu(), self.gen_cpu()
        mb, wall = machine_busy(), time.monotonic() - w0
        sender.stop()
        if spy is not None:
            await self.finish_profile(*spy)
        await sender.wait_idle()
        await self.wait_stable(sender)
        dt_sender = (sb[2] - sa[2]) / 1e9
        delivered = sum((y["count"] - x["count"]) / ((y["t_ns"] - x["t_ns"]) / 1e9) for x, y in zip(a, b, strict=True))
        delivered += (sb[0] - sa[0]) / dt_sender
        nbytes = sum((y["nbytes"] - x["nbytes"]) / ((y["t_ns"] - x["t_ns"]) / 1e9) for x, y in zip(a, b, strict=True))
        closes: dict[str, int] = {}
        for s in b:
            for code, k in s["closes"].items():
                closes[str(code)] = closes.get(str(code), 0) + k
        result = {
            "size": size,
            "delivered_per_s": delivered,
            "op_per_s": (sb[1] - sa[1]) / dt_sender,
            "mb_per_s": nbytes / 1e6,
            "server_cpu": (cb - ca) / wall,
            "gen_cpu": (gb - ga) / wall,
            "other_cpu": max(0.0, (mb - ma - (cb - ca) - (gb - ga)) / wall),
            # deliveries per CPU-second the server used: its efficiency, whatever CPU it got
            "per_cpu_s": delivered / max(1e-9, (cb - ca) / wall),
            "closed": closes,
            "open": sum(s["open"] for s in b) + 1,
            "errors": sender.errors,
        }
        log(
            f"  R={size}: {delivered:,.0f} msgs/s delivered ({result['op_per_s']:,.0f} ops/s), "
            f"server CPU {result['server_cpu']:.0%}, generator CPU {result['gen_cpu']:.0%}, "
            f"other processes {result['other_cpu']:.0%}" + (f", closed {closes}" if closes else "")
        )
        if closes or sender.errors:
            log(f"  warning: closes {closes}, sender errors {sender.errors} ({sender.last_error})")
        return result

    async def latency(self, sender: Sender, rate: float, server: ServerProc | None = None) -> dict[str, Any]:
        """Op→ack and op→delivery at a fixed rate. CPU shares are of one core; without
        ``server``, "other_cpu" includes the server's."""
        await self.pool.all(("latency", True))
        sender.ack_lat = []
        sender.recording = True
        ca, ga, ma, w0 = server.cpu() if server else 0.0, self.gen_cpu(), machine_busy(), time.monotonic()
        sent = await sender.run_rate(rate, self.p.lat_seconds)
        cb, gb, mb, wall = server.cpu() if server else 0.0, self.gen_cpu(), machine_busy(), time.monotonic() - w0
        cpu = {
            "server_cpu": (cb - ca) / wall,
            "gen_cpu": (gb - ga) / wall,
            "other_cpu": max(0.0, (mb - ma - (cb - ca) - (gb - ga)) / wall),
        }
        await sender.wait_idle()
        await asyncio.sleep(0.5)
        sender.recording = False
        delivery = [x for part in await self.pool.all(("latency", False)) for x in part]
        ack, dl = percentiles(sender.ack_lat), percentiles(delivery)
        log(
            f"  latency at {rate:,.0f} ops/s: op→ack p50 {ack['p50']:.2f} p99 {ack['p99']:.2f} ms; "
            f"op→delivery p50 {dl['p50']:.2f} p99 {dl['p99']:.2f} ms ({dl['n']:.0f} samples); "
            f"CPU server {cpu['server_cpu']:.0%}, generator {cpu['gen_cpu']:.0%}, "
            f"other processes {cpu['other_cpu']:.0%}"
        )
        return {"rate": rate, "sent": sent, "ack": ack, "delivery": dl, **cpu}

    async def suite(
        self, kinds: tuple[Kind, ...], sizes: tuple[int, ...], rounds: int, latency_rate: float | None = None
    ) -> dict[str, dict[str, Any]]:
        """Fan-out at each size, the servers measured in turn, ``rounds`` times (best kept);
        then latency at R=sizes[0], at ``latency_rate`` or half the server's saturation."""
        servers = [ServerProc(kind, self.workdir) for kind in kinds]
        out: dict[str, dict[str, Any]] = {k.key: {"fanout": {}, "rounds": {}} for k in kinds}
        try:
            await asyncio.gather(*(s.start() for s in servers))
            for i, size in enumerate(sizes):
                rooms: list[Room] = []
                try:
                    for server in servers:
                        rooms.append(await self.open_room(server, size, self.p.lat_receivers if i == 0 else 0))
                    for r in range(rounds):
                        for room in rooms:
                            log(f"  {room.server.kind.label}, R={size}, round {r + 1}/{rounds}:")
                            res = await self.fanout(room.server, room.sender, size)
                            out[room.server.kind.key]["rounds"].setdefault(size, []).append(res)
                    for room in rooms:
                        runs = out[room.server.kind.key]["rounds"][size]
                        out[room.server.kind.key]["fanout"][size] = max(runs, key=lambda x: x["delivered_per_s"])
                    if i == 0:
                        for room in rooms:
                            # half the lowest round's rate: a round that got less CPU is what
                            # the server can be sure to sustain on this shared machine
                            slowest = min(x["op_per_s"] for x in out[room.server.kind.key]["rounds"][size])
                            rate = latency_rate or slowest / 2
                            log(f"  {room.server.kind.label}, R={size}, latency:")
                            out[room.server.kind.key]["latency"] = await self.latency(room.sender, rate, room.server)
                finally:
                    await self.close_rooms(rooms)
        finally:
            await asyncio.gather(*(s.stop() for s in servers))
        return out

    async def rss_all(self, kinds: tuple[Kind, ...]) -> dict[str, dict[str, Any]]:
        """Fresh servers (started together, measured one after the other)."""
        servers = [ServerProc(kind, self.workdir) for kind in kinds]
        try:
            await asyncio.gather(*(s.start() for s in servers))
            return {s.kind.key: await self.rss(s) for s in servers}
        finally:
            await asyncio.gather(*(s.stop() for s in servers))

    async def rss(self, server: ServerProc) -> dict[str, Any]:
        p = self.p
        kind = server.kind
        try:
            firsts: list[bytes] = []
            rooms = max(1, p.rss_conns // p.rss_room)
            per_room = [p.rss_room] * rooms
            per_room[-1] += p.rss_conns - sum(per_room)
            room_firsts = [(await self.new_room(server, n))[1:] for n in per_room]
            await asyncio.sleep(1.0)
            before = server.rss()
            # interleave rooms so that every room fills at the same pace
            firsts = [f for group in zip(*(fs for _, fs in room_firsts), strict=False) for f in group]
            firsts += [f for _, fs in room_firsts for f in fs[min(per_room) :]]
            await self.connect(server, self.specs(kind, "rss", firsts, 0))
            await self.wait_stable(None)
            await asyncio.sleep(1.0)
            await self.wait_stable(None)
            after = server.rss()
            open_ = sum(s["open"] for s in await self.stats())
            await self.pool.all(("close_all", 3.0))
        finally:
            await server.stop()
        result = {
            "conns": p.rss_conns,
            "open": open_,
            "rooms": rooms,
            "rss_before": before,
            "rss_after": after,
            "per_conn": (after - before) / p.rss_conns,
        }
        log(
            f"  {kind.label}: RSS {before / 2**20:.1f} → {after / 2**20:.1f} MiB with {open_} idle connections: "
            f"{result['per_conn'] / 1024:.1f} KiB each"
        )
        return result


def _short(frame: str) -> str:
    """``func (path:line)`` → ``func (module-ish path)``, line dropped."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def summarize_profile(path: Path, top: int = 18) -> str:
    """Self and inclusive share of py-spy samples per function, from a raw (collapsed) file."""
    self_n: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        self_n[frames[-1]] = self_n.get(frames[-1], 0) + n
        for f in set(frames):
            incl[f] = incl.get(f, 0) + n
    if not total:
        return "    (no samples)"
    rows = [f"    {total} samples (CPU-busy only). inclusive | self | function"]
    for f, n in sorted(incl.items(), key=lambda kv: -kv[1])[:top]:
        rows.append(f"    {n / total:6.1%} | {self_n.get(f, 0) / total:6.1%} | {f}")
    rows.append("    top self:")
    for f, n in sorted(self_n.items(), key=lambda kv: -kv[1])[:top]:
        rows.append(f"    {n / total:6.1%} | {f}")
    return "\n".join(rows)


def machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (to see what else ran meanwhile)."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0))


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    if not samples_ns:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    s = sorted(samples_ns)
    n = len(s)

    def at(q: float) -> float:
        return s[min(n - 1, max(0, int(q * n + 0.5) - 1))] / 1e6

    return {"n": n, "p50": at(0.50), "p99": at(0.99), "max": s[-1] / 1e6}


# ---- the report ---------------------------------------------------------------------


def _f(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def _ratio(ours: float, bare: float) -> str:
    return f"{ours / bare:.2f}x" if bare else "n/a"


def _cpu(f: dict[str, Any]) -> str:
    return f"{f['server_cpu']:.0%} / {f['gen_cpu']:.0%} / {f['other_cpu']:.0%}"


def render(results: dict[str, Any], params: Params, command: str, elapsed: float) -> str:
    bare, ours, asgi, full = results["bare"], results["ours"], results["asgi"], results["full"]
    m = results["machine"]
    small = params.sizes[0]
    lines: list[str] = []
    add = lines.append
    add(f"### Fan-out: cosession vs bare websockets ({results['date']}, {results['source']})")
    add("")
    add("```")
    add(command)
    add("```")
    add("")
    load = f"load average {results['loadavg_start'][0]:.1f} at start, {results['loadavg_end'][0]:.1f} at end"
    add(
        f"Machine: `nproc` = {m['nproc']}, {m['cpu']}, {m['os']}, Python {m['python']}; {m['versions']}; "
        f"{load}. The load generator shares the machine: {params.workers} receiver processes (raw asyncio "
        f"protocols on uvloop, counting frames) and the sender compete with the server for the cores. "
        f"The run took {elapsed:.0f} s."
    )
    add("")
    add(
        f"Each op is a {params.chat_chars}-character chat → a {results['bare_size']}-byte event frame; the bare "
        f"server broadcasts {results['bare_size']}-byte binary messages. Ours runs `--sqlite-synchronous NORMAL "
        f"{' '.join(OURS_LIMITS)}`; member tokens are signed by the benchmark with the server's secret "
        f"(`cosession.auth.TokenSigner`). Saturation: one sender, {params.inflight} un-acked ops in flight (bare: "
        f"un-echoed), {params.warmup:g} s warm-up, {params.window:g} s measured; delivered = messages received, "
        f"summed over all members (sender included). Latency: {params.lat_seconds:g} s at a fixed op rate of half "
        f"the server's slower saturation round; op→delivery from {params.lat_receivers} decoding receivers."
    )
    add("")
    add("| measure | bare websockets | cosession | ours / bare | cosession --no-direct-send | no-direct / bare |")
    add("|---|---:|---:|---:|---:|---:|")
    for size in params.sizes:
        fb, fo, fa = bare["fanout"][size], ours["fanout"][size], asgi["fanout"][size]
        add(
            f"| **fan-out R={size}**: delivered msgs/s | {_f(fb['delivered_per_s'])} | {_f(fo['delivered_per_s'])} | "
            f"**{_ratio(fo['delivered_per_s'], fb['delivered_per_s'])}** | {_f(fa['delivered_per_s'])} | "
            f"{_ratio(fa['delivered_per_s'], fb['delivered_per_s'])} |"
        )
        ops = (_f(fb["op_per_s"]), _f(fo["op_per_s"]), _f(fa["op_per_s"]))
        add(f"| &nbsp;&nbsp;ops/s at saturation | {ops[0]} | {ops[1]} | | {ops[2]} | |")
        eff = (fb["per_cpu_s"], fo["per_cpu_s"], fa["per_cpu_s"])
        add(
            f"| &nbsp;&nbsp;msgs delivered per server CPU-second | {_f(eff[0])} | {_f(eff[1])} | "
            f"{_ratio(eff[1], eff[0])} | {_f(eff[2])} | {_ratio(eff[2], eff[0])} |"
        )
        add(f"| &nbsp;&nbsp;CPU: server / generator / other processes | {_cpu(fb)} | {_cpu(fo)} | | {_cpu(fa)} | |")
    lb, lo, la = bare["latency"], ours["latency"], asgi["latency"]
    rates = (_f(lb["rate"]), _f(lo["rate"]), _f(la["rate"]))
    add(f"| **latency R={small}** at fixed ops/s (½ slowest round) | {rates[0]} | {rates[1]} | | {rates[2]} | |")
    for key, label in (("ack", "op→ack p50 / p99 ms (bare: own echo)"), ("delivery", "op→delivery p50 / p99 ms")):
        add(
            f"| &nbsp;&nbsp;{label} | {lb[key]['p50']:.2f} / {lb[key]['p99']:.2f} | "
            f"{lo[key]['p50']:.2f} / {lo[key]['p99']:.2f} | | {la[key]['p50']:.2f} / {la[key]['p99']:.2f} | |"
        )
    add(f"| &nbsp;&nbsp;CPU: server / generator / other processes | {_cpu(lb)} | {_cpu(lo)} | | {_cpu(la)} | |")
    rb, ro, ra = bare["rss"], ours["rss"], asgi["rss"]
    add(
        f"| **RSS per idle connection** ({rb['conns']:,} in rooms of {params.rss_room}) | "
        f"{rb['per_conn'] / 1024:.1f} KiB | {ro['per_conn'] / 1024:.1f} KiB | "
        f"{_ratio(ro['per_conn'], rb['per_conn'])} | {ra['per_conn'] / 1024:.1f} KiB | "
        f"{_ratio(ra['per_conn'], rb['per_conn'])} |"
    )
    lf, ff = full["latency"], full["fanout"][small]
    add("")
    add(
        f"With `--sqlite-synchronous FULL` (an fsync per group commit), R={small}: saturation "
        f"{_f(ff['delivered_per_s'])} msgs/s ({_f(ff['op_per_s'])} ops/s, "
        f"{_ratio(ff['delivered_per_s'], bare['fanout'][small]['delivered_per_s'])} bare); at {_f(lf['rate'])} ops/s "
        f"(the NORMAL run's latency rate) op→ack p50 {lf['ack']['p50']:.2f} / p99 {lf['ack']['p99']:.2f} ms "
        f"(NORMAL: {lo['ack']['p50']:.2f} / {lo['ack']['p99']:.2f}), op→delivery p50 {lf['delivery']['p50']:.2f} / "
        f"p99 {lf['delivery']['p99']:.2f} ms."
    )
    add("")
    add("Targets (cosession, NORMAL):")
    add("")
    for size in params.sizes:
        r = ours["fanout"][size]["delivered_per_s"] / bare["fanout"][size]["delivered_per_s"]
        add(f"- fan-out ≥ 1.0x bare at R={size}: {r:.2f}x — **{'met' if r >= 1.0 else 'missed'}**")
    p99 = lo["delivery"]["p99"]
    add(f"- p99 op→delivery ≤ 5 ms at R={small}: {p99:.2f} ms — **{'met' if p99 <= 5.0 else 'missed'}**")
    kb = ro["per_conn"] / 1000
    add(f"- ≤ 16 KB per idle connection: {kb:.1f} KB — **{'met' if ro['per_conn'] <= 16_000 else 'missed'}**")
    notes = []
    for name, res in (("bare", bare), ("cosession", ours), ("--no-direct-send", asgi), ("FULL", full)):
        for size, f in res["fanout"].items():
            if f["closed"] or f["errors"]:
                notes.append(f"{name} R={size}: connections closed {f['closed']}, sender errors {f['errors']}")
            per_op = f["delivered_per_s"] / max(1e-9, f["op_per_s"])
            if abs(per_op - int(size)) > 0.2 * int(size):
                notes.append(
                    f"{name} R={size}: {per_op:,.0f} deliveries per acked op instead of {size}: deliveries lag acks "
                    "(not a steady state over the window)"
                )
        if "rss" in res and res["rss"]["open"] != res["rss"]["conns"]:
            notes.append(f"{name}: only {res['rss']['open']} of {res['rss']['conns']} idle connections stayed open")
    if notes:
        add("")
        add("Warnings: " + "; ".join(notes) + ".")
    return "\n".join(lines)


# ---- main ---------------------------------------------------------------------------


async def run(params: Params, args: argparse.Namespace, command: str) -> dict[str, Any]:
    results = report.header(params)
    with report.workdir("cosession-fanout-", args) as workdir:
        return await _run(params, args, workdir, results)


async def _run(params: Params, args: argparse.Namespace, workdir: Path, results: dict[str, Any]) -> dict[str, Any]:
    pool = WorkerPool(params.workers)
    try:
        bench = Bench(params, pool, workdir)
        if args.profile:
            bench.profile_dir = Path(args.profile)
            bench.profile_dir.mkdir(parents=True, exist_ok=True)
        results["bare_size"] = bench.bare_size
        await pool.all(("stats",), timeout=60.0)  # the workers are up
        log(f"fan-out and latency: {BARE.label}, {OURS.label}, {ASGI.label} (in turn, best of {params.rounds})")
        results.update(await bench.suite((BARE, OURS, ASGI), params.sizes, params.rounds))
        log(f"{FSYNC.label}:")
        rate = results[OURS.key]["latency"]["rate"]
        results.update(await bench.suite((FSYNC,), params.sizes[:1], 1, latency_rate=rate))
        log(f"RSS per idle connection ({params.rss_conns} connections):")
        for key, rss in (await bench.rss_all((BARE, OURS, ASGI))).items():
            results[key]["rss"] = rss
        if bench.profiles:
            results["profiles"] = bench.profiles
        results["loadavg_end"] = os.getloadavg()
    finally:
        await pool.close()
    return results


def main(argv: list[str] | None = None) -> int:
    quick = "~1-minute smoke run (rooms of 50 and 200, 400 idle connections, short windows)"
    parser = report.parser("benchmarks.fanout", __doc__, quick=quick, keep="keep the temp dir (server logs, databases)")
    parser.add_argument("--workers", type=int, help="receiver processes (default 2)")
    parser.add_argument("--inflight", type=int, help="un-acked ops the saturating sender keeps in flight (default 64)")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="py-spy each server during its fan-out windows (figures then carry its overhead)",
    )
    args = parser.parse_args(argv)
    params = report.choose(args, QUICK_RUN, FULL_RUN, workers=args.workers, inflight=args.inflight)
    raise_nofile()
    need = params.rss_conns * 2 + 200
    soft, _ = __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)
    if soft < need // max(1, params.workers):
        log(f"warning: RLIMIT_NOFILE is {soft}; {need // params.workers} descriptors per process are needed")
    return report.run_and_report(
        "benchmarks.fanout",
        argv,
        args,
        lambda command: run(params, args, command),
        lambda results, command, elapsed: render(results, params, command, elapsed),
    )


if __name__ == "__main__":
    sys.exit(main())
