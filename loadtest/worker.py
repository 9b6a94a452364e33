"""A worker process: runs its share of the members on uvloop and reports once a second.

Life of a worker (the controller drives the phase changes over a Pipe):

1. ``Ready`` once imported and the scenario loaded; waits for ``Go(t0)``.
2. Load phase until ``t0 + duration`` (or ``Stop``): each member arrives at its time,
   accepts its invite (REST), connects, and runs its shopper; ``Storm`` drops every
   connection at once. A ``Tick`` goes out every second.
3. Quiesce: shoppers' ``on_stop``, then wait (bounded) until no op is un-acked;
   ``Quiesced``.
4. ``Sync(heads)``: every live client waits (bounded) until it has folded the server's
   head, then the final counters, findings and state digests go out as ``Final``.
5. ``Exit``: clients close, the process ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import resource
import signal
import traceback
from multiprocessing.connection import Connection
from typing import Any

import httpx

from cosession_client.errors import ApiError, ConnectionClosedFinal, OpRejected, TooManyPending
from loadtest import ipc
from loadtest.meter import Meter
from loadtest.metered import MeteredClient, Metering, state_digest
from loadtest.rest import accept_invite, new_http
from loadtest.scenario import RoomInfo, RunInfo, Scenario, Shopper, load_scenario
from loadtest.stamps import now_ns

QUIESCE_TIMEOUT = 10.0  # on_stop + un-acked ops after the load phase
SYNC_TIMEOUT = 15.0  # reaching the server's head at the end
CLOSE_TIMEOUT = 5.0
MAX_SCENARIO_ERRORS = 5  # tracebacks kept for the report


def raise_nofile() -> None:
    """Lift the open-files soft limit to the hard limit (one socket per member)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class _Abandoned(Exception):
    """The controller said Exit before the phase we were waiting for."""


class Worker:
    def __init__(self, index: int, conn: Connection) -> None:
        self.index = index
        self.conn = conn
        self.spec = ipc.WorkerSpec(0, "", {}, [], 1, "msgpack", 0.0, 0.0, 0, 0)  # until Setup
        self.meter = Meter(index)
        self.clients: list[MeteredClient] = []
        self.scenario: Scenario | None = None
        self.inbox: asyncio.Queue[ipc.Setup | ipc.Go | ipc.Sync | ipc.Exit | None] = asyncio.Queue()
        self.stop = asyncio.Event()
        self.deadline = 0.0
        self.timeouts: list[asyncio.Timeout] = []
        self.join_slots = asyncio.Semaphore(64)
        self.second = 0
        self.scenario_errors: list[str] = []
        self.http: httpx.AsyncClient | None = None
        self.channel: ipc.Channel | None = None

    # ---- pipe --------------------------------------------------------------------------

    def send(self, msg: ipc.FromWorker) -> None:
        if self.channel is not None:
            self.channel.send(ipc.encoder.encode(msg))

    async def _read_commands(self, channel: ipc.Channel) -> None:
        try:
            while True:
                msg = ipc.to_worker.decode(await channel.recv())
                if isinstance(msg, ipc.Storm):
                    self._storm()
                elif isinstance(msg, ipc.Stop):
                    self._stop_now()
                else:
                    self.inbox.put_nowait(msg)
        except EOFError:  # the controller is gone: wind down
            self._stop_now()
            self.inbox.put_nowait(None)

    async def _expect(self, kind: type[Any], timeout: float | None = None) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.inbox.get()
                if msg is None:
                    raise ConnectionError("controller went away")
                if isinstance(msg, kind):
                    return msg
                if isinstance(msg, ipc.Exit):  # the run was abandoned (setup failed, Ctrl-C twice)
                    raise _Abandoned

    # ---- phases ------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.channel = channel = await ipc.Channel.open(self.conn)
        commands = asyncio.create_task(self._read_commands(channel))
        try:
            self.send(ipc.Booted(self.index))
            setup: ipc.Setup = await self._expect(ipc.Setup, timeout=300)
            self.spec = spec = setup.spec
            self.join_slots = asyncio.Semaphore(spec.join_concurrency)
            self.scenario = load_scenario(spec.scenario, spec.params)
            self.http = new_http()
            self.send(ipc.Ready(spec.index))
            go: ipc.Go = await self._expect(ipc.Go, timeout=120)
            t0 = loop.time() + (go.t0_ns - now_ns()) / 1e9
            self.deadline = t0 if self.stop.is_set() else t0 + spec.duration  # (Ctrl-C during setup)
            ticker = asyncio.create_task(self._ticker(t0))
            members = [asyncio.create_task(self._member(m, t0)) for m in spec.members]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(self.deadline + QUIESCE_TIMEOUT):
                    await asyncio.gather(*members, return_exceptions=True)
            for job in members:
                job.cancel()
            await asyncio.gather(*members, return_exceptions=True)
            await self._quiesce(loop.time() + QUIESCE_TIMEOUT)
            self.send(ipc.Quiesced(spec.index))
            sync: ipc.Sync = await self._expect(ipc.Sync, timeout=300)
            await self._sync(sync.heads)
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
            self.send(self._final())
            with contextlib.suppress(TimeoutError, ConnectionError):
                await self._expect(ipc.Exit, timeout=120)
        except _Abandoned:
            pass
        except Exception as exc:
            with contextlib.suppress(OSError):
                self.send(ipc.Failed(self.index, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        finally:
            await self._close_all()
            if self.http is not None:
                await self.http.aclose()
            with contextlib.suppress(Exception):  # whatever is still buffered for the controller
                async with asyncio.timeout(5):
                    await channel.drain()
            commands.cancel()
            channel.close()

    async def _ticker(self, t0: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.second += 1
            await asyncio.sleep(max(0.0, t0 + self.second - loop.time()))
            meter = self.meter
            self.send(
                ipc.Tick(
                    worker=self.spec.index,
                    second=self.second,
                    connected=meter.connected,
                    counters=dict(meter.c),
                    errors=dict(meter.errors),
                    hist=meter.take_histograms(),
                )
            )

    def _storm(self) -> None:
        for c in self.clients:
            if c.client.connected:
                c.client.drop_connection()

    def _stop_now(self) -> None:
        if self.stop.is_set():
            return
        self.stop.set()
        now = asyncio.get_running_loop().time()
        self.deadline = min(self.deadline, now) if self.deadline else now
        for timeout in self.timeouts:
            with contextlib.suppress(RuntimeError):
                timeout.reschedule(now)

    # ---- one member ----------------------------------------------------------------------

    async def _member(self, m: ipc.MemberSpec, t0: float) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, t0 + m.at - loop.time()))
        if self.stop.is_set() or loop.time() >= self.deadline:
            self.meter.c["members_late"] += 1  # arrived after the end (see the warning)
            return
        spec, meter = self.spec, self.meter
        assert self.scenario is not None
        cls = self.scenario.shopper_named(m.shopper)
        meter.c["members_started"] += 1
        arrived = now_ns()
        async with self.join_slots:
            metered = await self._join(m)
        if metered is None:
            meter.c["members_failed"] += 1
            return
        meter.c["members_joined"] += 1
        meter.hist["join"].record_ns(now_ns() - arrived)
        self.clients.append(metered)
        rng = random.Random(f"{spec.seed}:{m.arrival}")
        run = RunInfo(spec.duration, spec.op_rate, spec.payload_bytes, dict(spec.params), self.deadline)
        room = RoomInfo(m.room, m.room_id, spec.room_size, m.index, m.http_url, m.node)
        shopper = cls(metered.client, room, run, rng)
        shopper.on_error = self._task_error
        shopper.meter = meter
        await self._behave(shopper)

    async def _join(self, m: ipc.MemberSpec) -> MeteredClient | None:
        spec, meter = self.spec, self.meter
        token = m.token
        if not token:
            started = now_ns()
            try:
                assert self.http is not None
                joined = await accept_invite(self.http, m.http_url, m.invite, f"m{m.room}-{m.index}")
            except ApiError as exc:
                meter.c["accept_failures"] += 1
                meter.error(f"accept_{exc.code}")
                return None
            except (httpx.HTTPError, OSError) as exc:
                meter.c["accept_failures"] += 1
                meter.error(f"accept_{type(exc).__name__}")
                return None
            meter.hist["accept"].record_ns(now_ns() - started)
            token = joined.token
        metering = Metering(
            meter,
            room_index=m.room,
            check_kind=spec.check_kind,
            node=m.node,
            split_nodes=spec.nodes > 1,
        )
        metered = MeteredClient(
            metering,
            token=token,
            ws_url=m.ws_url,
            http_url=m.http_url,
            format=spec.format,
            device="bot",
            connect_timeout=spec.connect_timeout,
            welcome_timeout=spec.connect_timeout,
            op_timeout=spec.op_timeout,
            max_pending=10_000,
        )
        try:
            await metered.client.start()
        except (ConnectionClosedFinal, TimeoutError, OSError):
            return None
        return metered

    async def _behave(self, shopper: Shopper) -> None:
        client = shopper.client
        timeout = asyncio.timeout_at(self.deadline)
        self.timeouts.append(timeout)
        try:
            async with timeout:
                await shopper.on_start()
                while not client.closed:
                    job = shopper.pick_task()
                    if job is None:  # a receiver: nothing to do but stay connected
                        await asyncio.sleep(shopper.time_left + 1.0)
                        continue
                    try:
                        await job(shopper)
                    except ConnectionClosedFinal:
                        break
                    except Exception as exc:
                        self._task_error(exc)
                    await shopper.think()
        except TimeoutError:
            pass  # the run's end
        except ConnectionClosedFinal:
            pass
        except Exception as exc:
            self._task_error(exc)
        finally:
            self.timeouts.remove(timeout)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(QUIESCE_TIMEOUT):
                await shopper.on_stop()

    def _task_error(self, exc: BaseException) -> None:
        meter = self.meter
        if isinstance(exc, OpRejected | ConnectionClosedFinal):
            return  # counted from the error frame / by the client's stop
        if isinstance(exc, TimeoutError):
            meter.c["op_timeouts"] += 1
            meter.error("op_timeout")
        elif isinstance(exc, TooManyPending):
            meter.error("too_many_pending")
        else:
            meter.c["scenario_errors"] += 1
            meter.error(f"scenario_{type(exc).__name__}")
            if len(self.scenario_errors) < MAX_SCENARIO_ERRORS:
                self.scenario_errors.append("".join(traceback.format_exception(exc)))

    # ---- the end -----------------------------------------------------------------------

    async def _quiesce(self, until: float) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(int(QUIESCE_TIMEOUT / 0.05) + 1):  # a bounded poll of the un-acked counts
            if loop.time() >= until or not any(c.client.pending for c in self.clients if not c.client.closed):
                return
            await asyncio.sleep(0.05)

    async def _sync(self, heads: dict[int, int]) -> None:
        async def reach(c: MeteredClient) -> None:
            head = heads.get(c.metering.room_index)
            if head is None or c.client.closed:
                return
            with contextlib.suppress(TimeoutError, ConnectionClosedFinal):
                await c.client.wait_for_seq(head, timeout=SYNC_TIMEOUT)

        await asyncio.gather(*(reach(c) for c in self.clients))

    def _final(self) -> ipc.Final:
        meter = self.meter
        states = [
            ipc.MemberState(
                room=m.room_index,
                member=c.member,
                live=not c.closed,
                seq=c.seq,
                epoch=c.epoch or "",
                digest=state_digest(c.state),
                first_seq=m.first_seq or 0,
                delivered=m.delivered,
                skipped=m.skipped,
                check_acked=m.check_acked,
                check_delivered=m.check_delivered,
                check_seqs=m.check_seqs,
            )
            for c, m in ((metered.client, metered.metering) for metered in self.clients)
        ]
        return ipc.Final(
            worker=self.spec.index,
            counters=dict(meter.c),
            errors=dict(meter.errors),
            rejections=dict(meter.rejections),
            disconnects=dict(meter.disconnects),
            sent_by_kind=dict(meter.sent_by_kind),
            acked_by_kind=dict(meter.acked_by_kind),
            delivered_by_kind=dict(meter.delivered_by_kind),
            finding_counts=dict(meter.finding_counts),
            findings=meter.findings,
            states=states,
            hist=meter.take_histograms(),
            scenario_errors=self.scenario_errors,
        )

    async def _close_all(self) -> None:
        if self.clients:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await asyncio.gather(*(c.client.close() for c in self.clients), return_exceptions=True)
            for c in self.clients:  # whatever did not close in time
                c.client.drop_connection()


def worker_main(index: int, conn: Connection) -> None:
    """Process entry point (multiprocessing, spawn): boots while the controller sets up
    the target, then gets its share of the members in a ``Setup`` message."""
    import uvloop

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the controller handles Ctrl-C
    logging.getLogger("cosession_client").setLevel(logging.ERROR)  # counted, not printed
    raise_nofile()
    uvloop.run(Worker(index, conn).run())
