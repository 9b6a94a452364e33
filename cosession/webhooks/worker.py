"""The delivery worker: one asyncio task per node that sends due outbox rows.

Each round it leases up to ``concurrency - in flight`` due rows (``WebhookStore.claim``:
the oldest pending message of each (endpoint, room) only, so a room's messages reach an
endpoint in order), POSTs each with the Standard Webhooks headers under a per-attempt
timeout, and records the attempt: 2xx delivers, anything else (status, timeout, refused
connection) schedules a retry with full jitter, or dead-letters after the schedule.
It wakes when a local commit wrote outbox rows, when a delivery finishes, and otherwise
every ``poll`` seconds (rows written by other nodes, retries coming due).

httpx (already a dependency of the server for the Python client) is the HTTP client:
maintained, async, with per-request timeouts and connection pooling; the response body
is never read (only the status matters), so a huge or endless answer costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import httpx
import structlog

from cosession.webhooks.schedule import RetrySchedule
from cosession.webhooks.signing import headers
from cosession.webhooks.store import Claimed, Outcome, WebhookStore

log = structlog.get_logger("cosession.webhooks")


@dataclass
class WebhookStats:
    """Counters for /metrics (plain attributes; the Prometheus exporter reads them)."""

    enqueued: int = 0  # outbox rows this node's commits wrote (wake-ups; other nodes' rows not counted)
    delivered: int = 0  # attempts answered 2xx
    failed: int = 0  # attempts that failed (non-2xx, timeout, connection error)
    dead_lettered: int = 0  # messages given up after the schedule
    in_flight: int = 0  # attempts running now
    lag_seconds: float = 0.0  # age of the oldest message not yet delivered nor dead (all nodes)


@dataclass(frozen=True)
class WorkerConfig:
    node: str
    schedule: RetrySchedule
    timeout: float = 10.0  # seconds per attempt
    concurrency: int = 16  # attempts in flight per node
    lease: float = 60.0  # seconds a claimed row stays this node's
    poll: float = 1.0  # seconds between rounds when nothing wakes the worker
    log_days: float = 7.0  # delivered and dead messages are forgotten after this (0: never)
    purge_every: float = 600.0  # seconds between purges


def _now_ms() -> int:
    return int(time.time() * 1000)


class DeliveryWorker:
    def __init__(self, store: WebhookStore, config: WorkerConfig, stats: WebhookStats) -> None:
        self.store = store
        self.config = config
        self.stats = stats
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._lag_checked = 0.0
        self._purged = time.monotonic()
        # finished attempts wait here and are recorded together in one transaction
        self._outcomes: list[Outcome] = []
        self._outcome_added = asyncio.Event()
        self._recorder: asyncio.Task[None] | None = None

    def start(self) -> None:
        limits = httpx.Limits(
            max_connections=self.config.concurrency, max_keepalive_connections=self.config.concurrency
        )
        self._client = httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")
        self._recorder = asyncio.create_task(self._record_loop(), name="webhook-record")

    async def stop(self) -> None:
        """Stop claiming; attempts in flight get a moment, then are cancelled and their
        leases released, so another node (or this one after a restart) sends them again:
        at least once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=2.0)
            for task in self._inflight:
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._recorder is not None:
            with contextlib.suppress(Exception):  # else: retried once the leases expire
                async with asyncio.timeout(2.0):
                    await self._record_pending()
                    await self.store.release_leases(self.config.node)  # cancelled attempts: sent again
            self._recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recorder
            self._recorder = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        self._wakeup.set()

    def enqueued(self) -> None:
        """The store committed outbox rows (``SqlStore.on_outbox``)."""
        self.stats.enqueued += 1
        self._wakeup.set()

    async def _run(self) -> None:
        backoff = self.config.poll
        while True:
            try:
                claimed = await self._round()
                backoff = self.config.poll
            except Exception:  # the database is down: try again later
                log.exception("webhook round failed", backoff=backoff)
                claimed = 0
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
            if claimed and len(self._inflight) < self.config.concurrency:
                continue  # there may be more due rows
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.poll):
                    await self._wakeup.wait()
            self._wakeup.clear()

    async def _round(self) -> int:
        free = self.config.concurrency - len(self._inflight)
        claimed: list[Claimed] = []
        if free > 0:
            lease_ms = int(max(self.config.lease, 2 * self.config.timeout + 5) * 1000)
            claimed = await self.store.claim(self.config.node, _now_ms(), lease_ms, free)
        for item in claimed:
            task = asyncio.create_task(self._deliver(item), name=f"webhook-{item.msg_id}")
            self._inflight.add(task)
            task.add_done_callback(self._finished)
        self.stats.in_flight = len(self._inflight)
        if time.monotonic() - self._lag_checked >= self.config.poll:
            self._lag_checked = time.monotonic()
            oldest = await self.store.oldest_pending()
            self.stats.lag_seconds = 0.0 if oldest is None else max(0.0, (_now_ms() - oldest) / 1000)
        if self.config.log_days > 0 and time.monotonic() - self._purged >= self.config.purge_every:
            self._purged = time.monotonic()
            await self.store.purge(_now_ms() - int(self.config.log_days * 86_400_000))
        return len(claimed)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self.stats.in_flight = len(self._inflight)
        self._wakeup.set()

    async def _deliver(self, item: Claimed) -> None:
        assert self._client is not None
        started = time.monotonic()
        at = _now_ms()
        code: int | None = None
        error = ""
        try:
            hdrs = headers(item.secret, item.msg_id, at // 1000, item.body)
            # httpx's timeout bounds each phase; this bounds the whole attempt (a receiver
            # dripping its headers byte by byte cannot hold a slot longer)
            async with (
                asyncio.timeout(self.config.timeout),
                self._client.stream(
                    "POST", item.url, content=item.body, headers=hdrs, timeout=self.config.timeout
                ) as response,
            ):
                code = response.status_code
        except TimeoutError:
            error = f"timed out after {self.config.timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except (ValueError, OSError) as exc:  # a URL httpx cannot use, a bad secret
            error = f"{type(exc).__name__}: {exc}"
        ok = code is not None and 200 <= code < 300
        if not ok and not error:
            error = f"HTTP {code}"
        failed = item.attempts + 1
        delay = None if ok else self.config.schedule.next_delay(failed)
        next_at = None if delay is None else _now_ms() + int(delay * 1000)
        if ok:
            self.stats.delivered += 1
        else:
            self.stats.failed += 1
            if next_at is None:
                self.stats.dead_lettered += 1
                log.warning("webhook dead-lettered", msg=item.msg_id, endpoint=item.endpoint_id, attempts=failed)
        self._outcomes.append(
            Outcome(
                item,
                at=at,
                ok=ok,
                code=code,
                error=error,
                duration_ms=int((time.monotonic() - started) * 1000),
                next_attempt_at=next_at,
            )
        )
        self._outcome_added.set()

    async def _record_pending(self) -> None:
        batch, self._outcomes = self._outcomes, []
        try:
            await self.store.record_many(batch, self.config.node)
        except BaseException:
            self._outcomes = batch + self._outcomes
            raise

    async def _record_loop(self) -> None:
        """Record finished attempts, all that accumulated in one transaction (like the
        group commit). A row stays leased and pending until then, so its room's next
        message waits for it. If the database is down the lease runs out and the
        message is sent again: at least once."""
        backoff = 0.05
        while True:
            await self._outcome_added.wait()
            self._outcome_added.clear()
            while self._outcomes:
                try:
                    await self._record_pending()
                    backoff = 0.05
                except Exception:
                    log.exception("could not record webhook attempts", backoff=backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
            self._wakeup.set()
