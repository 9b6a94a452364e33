"""The controller: sets up rooms, starts the workers, aggregates, checks, reports.

1. ``--spawn``: start the local cluster. Rooms are created over REST on the first URL.
2. Plan: members arrive room by room in turn (all owners first, then every room's second
   member …) over the ramp; member ``k`` of room ``r`` talks to ``urls[(r + k) % U]``
   (``node_for``), so every room of more than one member has members on more than one
   node whatever the room count, and arrival ``a`` runs in worker ``(a // U) % W``.
3. Workers (``multiprocessing`` spawn) run the load; each second their ticks become a
   row of the time series; CPU of the controller and of each worker is sampled, and
   more than 90% for 3 s in a row is reported as a warning.
4. The end: workers quiesce, the controller reads each room's snapshot until it is
   stable, every client catches up to that head, and the final states are compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import platform
import signal
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Final

import httpx
import msgspec
import psutil

from cosession_client.errors import ApiError
from cosession_client.rest import base_urls
from loadtest import ipc
from loadtest.aggregate import Aggregator
from loadtest.call_metrics import call_summary
from loadtest.fanout_check import fanout_entry
from loadtest.fanout_check import summary_lines as fanout_summary
from loadtest.help_metrics import help_summary
from loadtest.live import Display
from loadtest.metered import state_digest
from loadtest.resources import ResourceSampler, Sample, redis_commandstats, redis_costs, steady_costs
from loadtest.rest import create_room, get_snapshot, new_http
from loadtest.scenario import Scenario, ScenarioError
from loadtest.slo import Slo, evaluate
from loadtest.spawn import LocalCluster, SpawnError, pin_process
from loadtest.stamps import now_ns
from loadtest.worker import worker_main

VERSION: Final = "0.1.0"
SATURATED_SECONDS: Final = 3
READY_TIMEOUT: Final = 120.0
FINAL_TIMEOUT: Final = 120.0
MAX_FINDINGS: Final = 500


def node_for(room_index: int, member_index: int, nodes: int) -> int:
    """The node (index into the URLs) member ``member_index`` of room ``room_index`` talks to.

    Consecutive members of a room go to consecutive nodes, and each room starts one node
    further on: every room with at least ``nodes`` members has members on every node, for
    any room count (assigning by global arrival order instead put every room on a single
    node whenever the room count was a multiple of the node count).
    """
    return (room_index + member_index) % nodes


class RunFailed(Exception):
    """The run itself failed (exit code 3): no cluster, no rooms, no member connected …"""


@dataclass
class RunConfig:
    scenario_ref: str
    scenario: Scenario
    slos: list[Slo]
    urls: list[str] = field(default_factory=list)
    spawn: int = 0
    spawn_args: list[str] = field(default_factory=list)
    spawn_db: str = "sqlite"
    spawn_redis: bool = False
    rooms: int = 1
    members: int = 5
    duration: float = 30.0
    ramp: float = 0.0
    arrival_rate: float | None = None
    op_rate: float = 0.5
    payload_bytes: int = 100
    format: str = "msgpack"
    workers: int = 1
    seed: int = 1
    params: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    storms: list[float] = field(default_factory=list)
    cpu_warn: float = 90.0  # % of one core, for SATURATED_SECONDS in a row
    spawn_cpus: set[int] | None = None  # --spawn-cpus: the spawned nodes run on these CPUs only
    cpus: set[int] | None = None  # --cpus: the controller and its workers run on these CPUs only

    def arrival_offset(self, a: int, total: int) -> float:
        if self.arrival_rate:
            return a / self.arrival_rate
        if self.ramp > 0 and total > 1:
            return self.ramp * a / total
        return 0.0


@dataclass
class _WorkerHandle:
    index: int
    proc: BaseProcess
    conn: Connection
    members: int
    channel: ipc.Channel | None = None
    reader: asyncio.Task[None] | None = None
    ps: psutil.Process | None = None
    booted: bool = False
    ready: bool = False
    quiesced: bool = False
    final: ipc.Final | None = None
    failed: str | None = None
    dead: bool = False


class Controller:
    def __init__(self, cfg: RunConfig, display: Display) -> None:
        self.cfg = cfg
        self.display = display
        self.cluster: LocalCluster | None = None
        self.workers: list[_WorkerHandle] = []
        self.agg: Aggregator | None = None
        self.changed = asyncio.Event()
        self.stop_requested = False
        self.warnings: list[str] = []
        self.rooms: list[Any] = []
        self._urls: list[str] = []
        self.t0_ns = 0
        self.load_end_ns = 0
        self.sigints = 0
        self.shutting_down = False
        self.main_task: asyncio.Task[Any] | None = None
        self.cpu_peaks: dict[str, float] = {}
        self.server_procs: list[psutil.Process] = []
        self.phases: dict[str, float] = {}  # wall seconds of setup, load and check
        self.sampler = ResourceSampler()
        self.samples: dict[int, Sample] = {}  # second -> resources at its end (0: before the load)
        self.redis_stats: dict[str, dict[str, tuple[int, float]]] = {}  # "start"/"end" -> INFO commandstats
        self.redis_second = 0  # the second after which "start" was read
        self.settled_at: int | None = None  # the first second by which every member had joined or failed

    # ---- entry -----------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        self.main_task = asyncio.current_task()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)
            loop.add_signal_handler(signal.SIGTERM, self._abort)
        started_at = datetime.datetime.now(datetime.UTC)
        load_before = os.getloadavg()
        began = time.monotonic()
        try:
            if self.cfg.cpus:
                pin_process(self.cfg.cpus)  # before the workers start: they inherit it
            self._boot_workers(max(1, min(self.cfg.workers, self.cfg.rooms * self.cfg.members)))
            urls = await self._target()  # (the workers import meanwhile)
            await self._prepare(urls)
            self.rooms = await self._create_rooms(urls[0])
            self._urls = urls
            await self._setup_workers(self._plan(urls))
            self.phases["setup"] = round(time.monotonic() - began, 2)
            await self._load_phase()
            self.phases["load"] = round(time.monotonic() - began - self.phases["setup"], 2)
            heads = await self._stable_heads(urls[0])
            finals = await self._collect_finals(heads)
            self.phases["check"] = round(time.monotonic() - began - self.phases["setup"] - self.phases["load"], 2)
            return self._result(urls, heads, finals, started_at, load_before)
        finally:
            self.shutting_down = True  # signals are ignored from here: teardown must finish
            self.display.stop()
            await self._shutdown()
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)
                loop.remove_signal_handler(signal.SIGTERM)

    def _on_sigint(self) -> None:
        if self.shutting_down:
            return
        self.sigints += 1
        if self.sigints == 1:
            self.display.note("Ctrl-C: ending the load phase early, then checking (Ctrl-C again to abort)")
            self.stop_requested = True
            for w in self.workers:
                self._send(w, ipc.Stop())
            self.changed.set()
        else:
            self._abort()

    def _abort(self) -> None:
        """A second Ctrl-C or SIGTERM: stop now; teardown still runs (exit code 3)."""
        if self.main_task is not None and not self.shutting_down:
            self.main_task.cancel()

    # ---- setup -----------------------------------------------------------------------

    async def _target(self) -> list[str]:
        cfg = self.cfg
        if cfg.spawn:
            self.cluster = LocalCluster(
                cfg.spawn, server_args=cfg.spawn_args, database=cfg.spawn_db, redis=cfg.spawn_redis, cpus=cfg.spawn_cpus
            )
            self.display.note(f"starting a local cluster: {self.cluster.describe()} …")
            try:
                await self.cluster.start()
            except SpawnError as exc:
                raise RunFailed(f"--spawn {cfg.spawn}: {exc}") from None
            for node in self.cluster.nodes:
                if node.proc is not None:
                    with contextlib.suppress(psutil.Error):
                        self.server_procs.append(psutil.Process(node.proc.pid))
            for role, pid in self.cluster.service_pids().items():
                self.sampler.add(role, pid, children=role == "postgres")
            for proc in self.server_procs:
                with contextlib.suppress(psutil.Error):
                    proc.cpu_percent(None)
            return self.cluster.urls
        return [base_urls(url)[0] for url in cfg.urls]

    async def _prepare(self, urls: list[str]) -> None:
        """The scenario's own set-up (a tenant, tokens …): its answer joins the params."""
        prepare = self.cfg.scenario.prepare
        if prepare is None:
            return
        database_url = self.cluster.database_url if self.cluster is not None else None
        try:
            self.cfg.params.update(await prepare(dict(self.cfg.params), urls, database_url, self.cfg.rooms))
        except (ScenarioError, httpx.HTTPError, OSError) as exc:
            raise RunFailed(f"scenario set-up: {exc}") from None

    async def _create_rooms(self, url: str) -> list[Any]:
        cfg = self.cfg
        slots = asyncio.Semaphore(8)
        key = cfg.params.get("room_key") or None

        async def one(i: int) -> Any:
            async with slots:
                return await create_room(http, url, f"loadtest {cfg.scenario.name} {i}", f"m{i}-0", key=key)

        try:
            async with new_http() as http:
                return list(await asyncio.gather(*(one(i) for i in range(cfg.rooms))))
        except ApiError as exc:
            raise RunFailed(f"cannot create rooms on {url}: {exc}") from None
        except (httpx.HTTPError, OSError) as exc:
            raise RunFailed(f"cannot reach {url}: {exc!r}") from None

    def _plan(self, urls: list[str]) -> list[list[ipc.MemberSpec]]:
        cfg = self.cfg
        classes = cfg.scenario.assign(cfg.members)
        total = cfg.rooms * cfg.members
        workers = len(self.workers)
        plan: list[list[ipc.MemberSpec]] = [[] for _ in range(workers)]
        a = 0
        for index in range(cfg.members):
            for room_index, room in enumerate(self.rooms):
                node = node_for(room_index, index, len(urls))
                http_url = urls[node]
                plan[(a // len(urls)) % workers].append(
                    ipc.MemberSpec(
                        arrival=a,
                        room=room_index,
                        index=index,
                        room_id=room.room,
                        http_url=http_url,
                        ws_url=base_urls(http_url)[1],
                        token=room.token if index == 0 else "",
                        invite=room.invite.code,
                        shopper=classes[index].__name__,
                        at=cfg.arrival_offset(a, total),
                        node=node,
                    )
                )
                a += 1
        return plan

    def _boot_workers(self, count: int) -> None:
        ctx = get_context("spawn")
        self.agg = Aggregator(count)
        self.sampler.add("generator", os.getpid())
        for index in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(index, child), name=f"loadtest-worker-{index}", daemon=True)
            proc.start()
            child.close()
            handle = _WorkerHandle(index, proc, parent, 0)
            with contextlib.suppress(psutil.Error):
                handle.ps = psutil.Process(proc.pid)
                handle.ps.cpu_percent(None)
            if proc.pid is not None:
                self.sampler.add("generator", proc.pid)
            self.workers.append(handle)
            handle.reader = asyncio.create_task(self._read_worker(handle))

    async def _setup_workers(self, plan: list[list[ipc.MemberSpec]]) -> None:
        cfg = self.cfg
        await self._until(lambda: all(w.booted or w.dead for w in self.workers), READY_TIMEOUT, "workers to boot")
        for w, members in zip(self.workers, plan, strict=True):
            w.members = len(members)
            spec = ipc.WorkerSpec(
                index=w.index,
                scenario=cfg.scenario_ref,
                params=cfg.params,
                members=members,
                room_size=cfg.members,
                format="json" if cfg.format == "json" else "msgpack",
                duration=cfg.duration,
                op_rate=cfg.op_rate,
                payload_bytes=cfg.payload_bytes,
                seed=cfg.seed,
                check_kind=cfg.scenario.fanout_check,
                nodes=len(self._urls),
            )
            self._send(w, ipc.Setup(spec))
        self.display.note(f"{len(plan)} worker processes, {sum(len(p) for p in plan)} members")
        await self._until(lambda: all(w.ready or w.dead for w in self.workers), READY_TIMEOUT, "workers to start")
        failed = [w for w in self.workers if not w.ready]
        if failed:
            raise RunFailed(f"worker {failed[0].index} failed to start: {failed[0].failed or 'exited'}")

    async def _read_worker(self, w: _WorkerHandle) -> None:
        try:
            w.channel = await ipc.Channel.open(w.conn)
            while True:
                self._on_message(w, ipc.from_worker.decode(await w.channel.recv()))
                self.changed.set()
        except EOFError:
            self._mark_dead(w, w.failed or f"worker process exited ({w.proc.exitcode})")
        except (OSError, msgspec.DecodeError) as exc:
            self._mark_dead(w, f"worker link failed: {exc!r}")
        finally:
            self.changed.set()

    def _mark_dead(self, w: _WorkerHandle, why: str) -> None:
        if w.dead:
            return
        w.dead = True
        w.failed = w.failed or why
        if self.agg is not None:
            self.agg.dead.add(w.index)

    def _on_message(self, w: _WorkerHandle, msg: ipc.FromWorker) -> None:
        if isinstance(msg, ipc.Tick):
            assert self.agg is not None
            self.agg.tick(msg)
        elif isinstance(msg, ipc.Booted):
            w.booted = True
        elif isinstance(msg, ipc.Ready):
            w.ready = True
        elif isinstance(msg, ipc.Quiesced):
            w.quiesced = True
        elif isinstance(msg, ipc.Final):
            w.final = msg
        elif isinstance(msg, ipc.Failed):
            w.failed = msg.error
            self.display.warn(f"worker {w.index} failed: {msg.error.splitlines()[0]}")
            self._mark_dead(w, msg.error)

    def _send(self, w: _WorkerHandle, msg: ipc.ToWorker) -> None:
        if not w.dead and w.channel is not None:
            w.channel.send(ipc.encoder.encode(msg))

    async def _until(self, done: Any, timeout: float, what: str) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not done():
            self.changed.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise RunFailed(f"timed out waiting for {what}")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, 0.5)):
                    await self.changed.wait()

    # ---- the load phase --------------------------------------------------------------

    async def _load_phase(self) -> None:
        cfg, agg = self.cfg, self.agg
        assert agg is not None
        loop = asyncio.get_running_loop()
        self.samples[0] = self.sampler.sample()
        planned = cfg.rooms * cfg.members
        self.t0_ns = now_ns() + 300_000_000
        for w in self.workers:
            self._send(w, ipc.Go(self.t0_ns))
        t0 = loop.time() + (self.t0_ns - now_ns()) / 1e9
        self.display.set_phase("running")
        self.display.start()
        me = psutil.Process()
        me.cpu_percent(None)
        streaks: dict[str, int] = defaultdict(int)
        storms = sorted(cfg.storms)
        second = 0
        hard_end = t0 + cfg.duration + 60.0
        while True:
            second += 1
            wake = t0 + second + 0.15
            while loop.time() < wake:
                if storms and loop.time() >= t0 + storms[0]:
                    at = storms.pop(0)
                    self.display.note(f"storm at {at:.1f}s: every connection dropped at once")
                    for w in self.workers:
                        self._send(w, ipc.Storm())
                if all(w.quiesced or w.dead for w in self.workers):
                    break
                self.changed.clear()
                step = min(wake, t0 + storms[0]) if storms else wake
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, step - loop.time())):
                        await self.changed.wait()
            if self.stop_requested and not self.load_end_ns:
                self.load_end_ns = now_ns()
            agg.extra[second] = self._sample_cpu(me, streaks, second)
            self.samples[second] = self.sampler.sample()
            for row in agg.ready_rows():
                self.display.row(row)
                if self.settled_at is None and row["settled"] >= planned:
                    self.settled_at = row["t"]
            # Redis's baseline: once the ramp is over and every member has joined (or failed)
            if "start" not in self.redis_stats and second >= cfg.ramp and self.settled_at is not None:
                await self._read_redis_stats("start")
                self.redis_second = second
            if all(w.dead for w in self.workers):
                raise RunFailed(f"every worker died: {self.workers[0].failed}")
            if all(w.quiesced or w.dead for w in self.workers):
                break
            if loop.time() > hard_end:
                self._warn("workers did not finish the load phase within 60 s of its end")
                break
        if not self.load_end_ns:
            self.load_end_ns = min(now_ns(), self.t0_ns + int(cfg.duration * 1e9))
        if "start" in self.redis_stats:
            await self._read_redis_stats("end")
        self.display.set_phase("checking")

    async def _read_redis_stats(self, when: str) -> None:
        if self.cluster is None or not self.cluster.with_redis or self.cluster.redis_port == 0:
            return
        try:
            async with asyncio.timeout(5):
                self.redis_stats[when] = await redis_commandstats(self.cluster.redis_url)
        except Exception as exc:  # measurement only: the run goes on
            self._warn(f"could not read Redis INFO commandstats ({when}): {exc!r}")

    def _sample_cpu(self, me: psutil.Process, streaks: dict[str, int], second: int) -> dict[str, Any]:
        sample: dict[str, Any] = {}
        with contextlib.suppress(psutil.Error):
            sample["cpu_controller"] = round(me.cpu_percent(None), 1)
        workers = []
        for w in self.workers:
            value = 0.0
            if w.ps is not None and not w.dead:
                with contextlib.suppress(psutil.Error):
                    value = w.ps.cpu_percent(None)
            workers.append(round(value, 1))
        sample["cpu_workers"] = workers
        if self.server_procs:
            servers = []
            for proc in self.server_procs:
                with contextlib.suppress(psutil.Error):
                    servers.append(round(proc.cpu_percent(None), 1))
            sample["cpu_servers"] = servers
        with contextlib.suppress(Exception):
            sample["cpu_machine"] = round(psutil.cpu_percent(None), 1)
        named = {"controller": sample.get("cpu_controller", 0.0)}
        named.update({f"worker {i}": v for i, v in enumerate(workers)})
        for name, value in named.items():
            self.cpu_peaks[name] = max(self.cpu_peaks.get(name, 0.0), value)
            if value > self.cfg.cpu_warn:
                streaks[name] += 1
                if streaks[name] == SATURATED_SECONDS:
                    self._warn(
                        f"{name} CPU above {self.cfg.cpu_warn:.0f}% for {SATURATED_SECONDS} s (at {second} s): "
                        "the load generator may be the bottleneck; latencies include its queueing (try more --workers, "
                        "fewer members, or another machine)"
                    )
            else:
                streaks[name] = 0
        return sample

    def _warn(self, text: str) -> None:
        self.warnings.append(text)
        self.display.warn(text)

    # ---- the end -----------------------------------------------------------------------

    async def _stable_heads(self, url: str) -> dict[int, Any]:
        """Each room's snapshot, read until two reads 0.3 s apart agree on the head."""
        await self._until(lambda: all(w.quiesced or w.dead for w in self.workers), 60.0, "workers to quiesce")
        out: dict[int, Any] = {}
        http = new_http()

        async def one(i: int, room: Any) -> None:
            last = None
            for _ in range(20):
                try:
                    snap = await get_snapshot(http, url, room.token, room.room)
                except (ApiError, httpx.HTTPError, OSError) as exc:
                    raise RunFailed(f"cannot read the snapshot of room {room.room}: {exc!r}") from None
                if last is not None and snap.seq == last.seq and snap.epoch == last.epoch:
                    break
                last = snap
                await asyncio.sleep(0.3)
            out[i] = snap

        slots = asyncio.Semaphore(8)

        async def bounded(i: int, room: Any) -> None:
            async with slots:
                await one(i, room)

        async with http:
            await asyncio.gather(*(bounded(i, room) for i, room in enumerate(self.rooms)))
        return out

    async def _collect_finals(self, heads: dict[int, Any]) -> list[ipc.Final]:
        sync = ipc.Sync({i: snap.seq for i, snap in heads.items()})
        for w in self.workers:
            self._send(w, sync)
        await self._until(lambda: all(w.final is not None or w.dead for w in self.workers), FINAL_TIMEOUT, "results")
        assert self.agg is not None
        finals = []
        for w in self.workers:
            if w.final is not None:
                finals.append(w.final)
                self.agg.final_histograms(w.final)
        for row in self.agg.ready_rows(flush=True):
            self.display.row(row)
        return finals

    async def _shutdown(self) -> None:
        """Workers and the spawned cluster stop concurrently (the clients are told first)."""
        for w in self.workers:
            self._send(w, ipc.Exit())
        await asyncio.gather(self._stop_workers(), self._stop_cluster())

    async def _stop_cluster(self) -> None:
        if self.cluster is not None:
            await asyncio.sleep(0.5)  # let the workers close their sockets first
            await self.cluster.stop()

    async def _stop_workers(self) -> None:
        for w in self.workers:  # flush the Exit messages
            if w.channel is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await w.channel.drain()
        deadline = time.monotonic() + 15
        for w in self.workers:
            await asyncio.to_thread(w.proc.join, max(0.1, deadline - time.monotonic()))
            if w.proc.is_alive():
                w.proc.terminate()
                await asyncio.to_thread(w.proc.join, 5)
            if w.proc.is_alive():
                w.proc.kill()
            if w.reader is not None:
                w.reader.cancel()
                await asyncio.gather(w.reader, return_exceptions=True)
            if w.channel is not None:
                w.channel.close()
            w.conn.close()

    # ---- results -----------------------------------------------------------------------

    def _result(
        self,
        urls: list[str],
        heads: dict[int, Any],
        finals: list[ipc.Final],
        started_at: datetime.datetime,
        load_before: tuple[float, float, float],
    ) -> dict[str, Any]:
        cfg, agg = self.cfg, self.agg
        assert agg is not None
        counters: dict[str, int] = defaultdict(int)
        maps: dict[str, dict[str, int]] = {
            k: defaultdict(int)
            for k in ("errors", "rejections", "disconnects", "sent_by_kind", "acked_by_kind", "delivered_by_kind")
        }
        finding_counts: dict[str, int] = defaultdict(int)
        findings: list[dict[str, Any]] = []
        scenario_errors: list[str] = []
        states: list[ipc.MemberState] = []
        for final in finals:
            for key, value in final.counters.items():
                counters[key] += value
            for name, target in maps.items():
                for key, value in getattr(final, name).items():
                    target[key] += value
            for key, value in final.finding_counts.items():
                finding_counts[key] += value
            findings.extend(final.findings)
            scenario_errors.extend(final.scenario_errors)
            states.extend(final.states)
        for w in self.workers:
            if w.final is None:
                self._warn(f"worker {w.index} sent no results ({w.failed or 'unknown'}): its members are missing")
        if counters["members_late"]:
            self._warn(
                f"{counters['members_late']} members never started: their arrival time fell after the end of the load "
                "phase (a worker's event loop was late, or --arrival-rate is too low for --duration)"
            )
        if counters["members_joined"] == 0:
            why = ", ".join(f"{k}={v}" for k, v in sorted(maps["errors"].items())) or "no member arrived"
            raise RunFailed(f"no member could join: {why}")

        correctness = self._correctness(heads, states, finding_counts, findings, counters)
        rows = agg.rows
        load_seconds = max(0.001, (self.load_end_ns - self.t0_ns) / 1e9)
        # steady: after the ramp and after the last member joined (a slow join wave must not
        # count as load); the ramp alone if some never settled
        joined_at = self.settled_at
        if joined_at is None:
            joined_at = next((r["t"] for r in rows if r["joined"] >= counters["members_joined"]), 0)
        steady_from = max(cfg.ramp, joined_at)
        steady = [r for r in rows if steady_from < r["t"] <= load_seconds]
        steady = steady or [r for r in rows if r["t"] <= load_seconds]
        steady_s = max(1, len(steady))
        attempts = counters["ops_sent"] + counters["signals_sent"] + counters["connect_attempts"]
        totals = {
            **counters,
            "load_seconds": round(load_seconds, 3),
            "steady_seconds": len(steady),
            "steady_from": steady_from,
            "ops_per_s": round(sum(r["ops_acked"] for r in steady) / steady_s, 2),
            "delivered_per_s": round(sum(r["delivered"] for r in steady) / steady_s, 2),
            "peak_delivered_per_s": max((r["delivered"] for r in rows), default=0),
            "peak_clients": max((r["clients"] for r in rows), default=0),
            "attempts": attempts,
            "error_ratio": counters["errors"] / attempts if attempts else 0.0,
            "unacked": counters["ops_sent"] - counters["ops_acked"] - counters["ops_rejected"],
        }
        latency = {name: hist.summary() for name, hist in agg.total.items()}
        resources = self._resources(rows, steady, counters)
        result: dict[str, Any] = {
            "tool": "cosession-loadtest",
            "version": VERSION,
            "command": cfg.argv,
            "started_at": started_at.isoformat(timespec="seconds"),
            "scenario": {
                "ref": cfg.scenario_ref,
                "name": cfg.scenario.name,
                "description": cfg.scenario.description,
                "shoppers": [cls.__name__ for cls in cfg.scenario.shoppers],
                "rooms": cfg.rooms,
                "members": cfg.members,
                "params": cfg.params,
            },
            "config": {
                "duration": cfg.duration,
                "ramp": cfg.ramp,
                "arrival_rate": cfg.arrival_rate,
                "op_rate": cfg.op_rate,
                "payload_bytes": cfg.payload_bytes,
                "format": cfg.format,
                "workers": len(self.workers),
                "seed": cfg.seed,
                "storms": cfg.storms,
                "spawn": cfg.spawn,
                "spawn_args": cfg.spawn_args,
                "spawn_db": cfg.spawn_db,
                "spawn_redis": cfg.spawn_redis,
                "spawn_cpus": sorted(cfg.spawn_cpus or ()),
                "cpus": sorted(cfg.cpus or ()),
            },
            "target": {
                "urls": urls,
                "kind": self.cluster.describe() if self.cluster is not None else "external",
            },
            "machine": self._machine(load_before),
            "totals": totals,
            "latency": latency,
            "latency_hdr": {name: hist.encode() for name, hist in agg.total.items() if hist.count},
            "errors": dict(maps["errors"]),
            "rejections": dict(maps["rejections"]),
            "disconnects": dict(maps["disconnects"]),
            "ops_by_kind": {
                kind: {
                    "sent": maps["sent_by_kind"].get(kind, 0),
                    "acked": maps["acked_by_kind"].get(kind, 0),
                    "delivered": maps["delivered_by_kind"].get(kind, 0),
                }
                for kind in sorted(set(maps["sent_by_kind"]) | set(maps["delivered_by_kind"]))
            },
            "resumes": {
                "total": counters["resumes"],
                "recovered": counters["resumes_recovered"],
                "snapshot": counters["resumes_snapshot"],
                "drops": counters["drops"],
                "latency": latency.get("resume", {}),
            },
            "correctness": correctness,
            "timeseries": rows,
            "cpu_peaks": self.cpu_peaks,
            "resources": resources,
            "call": call_summary(
                counters, latency.get("call_setup"), rows, load_seconds=load_seconds, room_size=cfg.members
            ),
            "help": help_summary(
                counters, latency.get("help_claim"), latency.get("help_fanout"), self.phases.get("load", cfg.duration)
            ),
            "phases_s": self.phases,
            "warnings": list(self.warnings),
            "scenario_errors": scenario_errors,
        }
        if self.stop_requested:
            result["warnings"].append("stopped early by Ctrl-C")
        result["slos"] = evaluate(cfg.slos, result)
        failed_slos = [s for s in result["slos"] if not s["passed"]]
        if not correctness["ok"]:
            result["exit_code"], result["outcome"] = 1, "correctness check failed"
        elif failed_slos:
            result["exit_code"], result["outcome"] = 1, f"{len(failed_slos)} SLO(s) failed"
        else:
            result["exit_code"], result["outcome"] = 0, "passed"
        return result

    def _resources(self, rows: list[dict[str, Any]], steady: list[dict[str, Any]], counters: dict[str, int]) -> Any:
        """CPU and memory over the steady phase, and Redis commands per op (``--spawn``)."""
        if not steady or 0 not in self.samples:
            return None
        first, last = steady[0]["t"], steady[-1]["t"]
        start = self.samples.get(first - 1) or self.samples[0]
        end = self.samples.get(last) or self.samples[max(self.samples)]
        busiest_row = max(rows, key=lambda r: r["clients"])
        busiest = self.samples.get(busiest_row["t"]) or end
        out = steady_costs(
            self.samples[0],
            start,
            end,
            busiest,
            clients=busiest_row["clients"],
            delivered=sum(r["delivered"] for r in steady),
            ops=sum(r["ops_acked"] for r in steady),
        )
        out["affinity"] = self._affinity()
        if "start" in self.redis_stats and "end" in self.redis_stats:
            ops = sum(r["ops_acked"] for r in rows if r["t"] > self.redis_second)
            out["redis"] = redis_costs(self.redis_stats["start"], self.redis_stats["end"], ops=ops)
            out["redis"]["from_second"] = self.redis_second
        return out

    def _affinity(self) -> dict[str, list[int]]:
        """The CPUs the nodes and the generator's workers may run on, read back from /proc."""
        out: dict[str, list[int]] = {}
        procs = [("nodes", p) for p in self.server_procs] + [("generator", w.ps) for w in self.workers if w.ps]
        for role, proc in procs:
            with contextlib.suppress(psutil.Error):
                out[role] = sorted(set(out.get(role, [])) | set(proc.cpu_affinity() or []))
        return out

    def _correctness(
        self,
        heads: dict[int, Any],
        states: list[ipc.MemberState],
        finding_counts: dict[str, int],
        findings: list[dict[str, Any]],
        counters: dict[str, int],
    ) -> dict[str, Any]:
        cfg = self.cfg
        counts: dict[str, int] = dict.fromkeys(
            ("gap", "duplicate", "replay_mismatch", "went_back", "state_mismatch", "behind", "count_mismatch"), 0
        )
        for kind, n in finding_counts.items():
            counts[kind] = counts.get(kind, 0) + n
        extra: list[dict[str, Any]] = []
        rooms_out = []
        by_room: dict[int, list[ipc.MemberState]] = defaultdict(list)
        for st in states:
            by_room[st.room].append(st)
        fanout = []
        accounting = {"delivered": 0, "snapshot_skipped": 0, "expected": 0}
        for i, room in enumerate(self.rooms):
            snap = heads[i]
            digest = state_digest(snap.state)
            live = [st for st in by_room.get(i, []) if st.live]
            digests = defaultdict(list)
            for st in live:
                digests[st.digest].append(st.member)
                if st.seq != snap.seq or st.epoch != snap.epoch:
                    counts["behind"] += 1
                    extra.append(
                        {
                            "kind": "behind",
                            "room": room.room,
                            "member": st.member,
                            "seq": st.seq,
                            "head": snap.seq,
                            "epoch": st.epoch,
                            "server_epoch": snap.epoch,
                        }
                    )
                elif st.digest != digest:
                    counts["state_mismatch"] += 1
                    extra.append(
                        {
                            "kind": "state_mismatch",
                            "room": room.room,
                            "member": st.member,
                            "seq": st.seq,
                            "digest": st.digest,
                            "server_digest": digest,
                        }
                    )
                want = st.seq - st.first_seq
                accounting["delivered"] += st.delivered
                accounting["snapshot_skipped"] += st.skipped
                accounting["expected"] += want
                if st.delivered + st.skipped != want and st.seq == snap.seq:
                    counts["count_mismatch"] += 1
                    extra.append(
                        {
                            "kind": "count_mismatch",
                            "room": room.room,
                            "member": st.member,
                            "what": "events received in order + covered by snapshots != head - first welcome seq",
                            "delivered": st.delivered,
                            "snapshot_skipped": st.skipped,
                            "expected": want,
                        }
                    )
            rooms_out.append(
                {
                    "room": room.room,
                    "seq": snap.seq,
                    "epoch": snap.epoch,
                    "digest": digest,
                    "members_compared": len(live),
                    "members_agree": len(digests) <= 1,
                    "cart_lines": len(snap.state.cart),
                    "chat_messages": len(snap.state.chat),
                }
            )
            if cfg.scenario.fanout_check:
                entry = fanout_entry(room.room, cfg.scenario.fanout_check, live)
                fanout.append(entry)
                if not entry["ok"]:
                    counts["count_mismatch"] += 1
                    extra.append({"kind": "count_mismatch", **entry})
        all_findings = (findings + extra)[:MAX_FINDINGS]
        ok = sum(counts.values()) == 0
        checked = len([st for st in states if st.live])
        summary = [
            f"event streams of {len(states)} clients checked on the wire: {counts['gap']} gaps, "
            f"{counts['duplicate']} duplicates, {counts.get('replay_mismatch', 0)} bad replays, "
            f"{counts.get('went_back', 0)} snapshots going back",
            f"final states: {checked} live members of {len(self.rooms)} rooms compared with the server's snapshot: "
            f"{counts['state_mismatch']} differ, {counts['behind']} not at the head; members disagree among "
            f"themselves in {sum(1 for r in rooms_out if not r['members_agree'])} rooms",
            f"deliveries: {accounting['delivered']} in order + {accounting['snapshot_skipped']} covered by snapshots "
            f"= {accounting['delivered'] + accounting['snapshot_skipped']} of {accounting['expected']} "
            "(Σ head - first welcome seq)",
        ]
        summary.extend(fanout_summary(fanout))
        return {
            "ok": ok,
            "counts": counts,
            "summary": summary,
            "findings": all_findings,
            "rooms": rooms_out,
            "fanout": fanout,
            "accounting": accounting,
            "members_stopped": counters["members_stopped"],
        }

    def _machine(self, load_before: tuple[float, float, float]) -> dict[str, Any]:
        mem = psutil.virtual_memory()
        return {
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "memory_gib": round(mem.total / 2**30, 1),
            "loadavg_start": [round(x, 2) for x in load_before],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "versions": _versions(),
        }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("cosession", "websockets", "uvicorn", "uvloop", "msgspec"):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def to_json(result: dict[str, Any]) -> bytes:
    return msgspec.json.format(msgspec.json.encode(result), indent=1)
