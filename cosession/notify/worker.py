"""The notify worker: one task per node that sends digests when quiet windows end and
delivers the push outbox.

Each round: ``send_due_digests`` (exactly one node takes each due row, see
cosession/notify/store.py), then lease up to ``concurrency - in flight`` due push rows
and send each (cosession/notify/push.py). 2xx delivers; 404/410 removes the
subscription; 429, 5xx and network errors retry on the webhook schedule (full jitter);
other 4xx are dead at once (the push service refuses the message itself). It wakes when
a local commit wrote push rows, after each delivery, and otherwise every ``poll`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import httpx
import structlog

from cosession.notify.push import PushResult, send
from cosession.notify.store import ClaimedPush, NotifyStore
from cosession.notify.vapid import VapidKey
from cosession.webhooks.schedule import RetrySchedule

log = structlog.get_logger("cosession.notify")


@dataclass
class NotifyStats:
    digests: int = 0  # digest notifications this node sent (webhook or push rows written)
    pushed: int = 0  # push calls answered 2xx
    push_failed: int = 0
    push_gone: int = 0  # subscriptions removed after 404/410


@dataclass(frozen=True)
class NotifyConfig:
    node: str
    quiet_ms: int
    subject: str
    ttl: int
    timeout: float = 10.0
    concurrency: int = 8
    poll: float = 1.0
    lease: float = 60.0
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    log_days: float = 7.0  # settled push rows are forgotten after this (0: never)
    purge_every: float = 600.0  # seconds between purges


def _now_ms() -> int:
    return int(time.time() * 1000)


class NotifyWorker:
    def __init__(self, store: NotifyStore, config: NotifyConfig, stats: NotifyStats) -> None:
        self.store = store
        self.config = config
        self.stats = stats
        self.key: VapidKey | None = None  # set at start-up
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._purged = time.monotonic()

    def start(self, key: VapidKey | None) -> None:
        """``key`` None: digests only (no Web Push on this node)."""
        self.key = key
        limits = httpx.Limits(max_connections=max(1, self.config.concurrency))
        self._client = httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)
        self._task = asyncio.create_task(self._run(), name="notify-worker")

    async def stop(self) -> None:
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
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await self.store.release_leases(self.config.node)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        self._wakeup.set()

    async def _run(self) -> None:
        backoff = self.config.poll
        while True:
            try:
                await self._round()
                backoff = self.config.poll
            except Exception:
                log.exception("notify round failed", backoff=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.poll):
                    await self._wakeup.wait()
            self._wakeup.clear()

    async def _round(self) -> None:
        webhooks, pushes = await self.store.send_due_digests(_now_ms(), self.config.quiet_ms)
        if webhooks or pushes:
            self.stats.digests += 1
        if self.config.log_days > 0 and time.monotonic() - self._purged >= self.config.purge_every:
            self._purged = time.monotonic()
            await self.store.purge(_now_ms() - int(self.config.log_days * 86_400_000))
        free = self.config.concurrency - len(self._inflight)
        if free <= 0 or self.key is None:
            return
        lease_ms = int(max(self.config.lease, 2 * self.config.timeout + 5) * 1000)
        for item in await self.store.claim_pushes(self.config.node, _now_ms(), lease_ms, free):
            task = asyncio.create_task(self._deliver(item), name=f"push-{item.msg_id}")
            self._inflight.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wakeup.set()

    async def _deliver(self, item: ClaimedPush) -> None:
        assert self._client is not None and self.key is not None
        result: PushResult = await send(
            self._client,
            self.key,
            endpoint=item.endpoint,
            p256dh=item.p256dh,
            auth=item.auth,
            body=item.body,
            subject=self.config.subject,
            ttl=self.config.ttl,
            timeout=self.config.timeout,
        )
        code = result.code
        retry = code is None or code == 429 or code >= 500
        next_at = None
        if not result.ok and not result.gone and retry:
            delay = self.config.schedule.next_delay(item.attempts + 1)
            next_at = None if delay is None else _now_ms() + int(delay * 1000)
        if result.ok:
            self.stats.pushed += 1
        elif result.gone:
            self.stats.push_gone += 1
        else:
            self.stats.push_failed += 1
            log.info("push failed", code=code, error=result.error[:200], attempts=item.attempts + 1)
        for attempt in range(3):
            try:
                await self.store.settle_push(
                    item, self.config.node, code=code, ok=result.ok, gone=result.gone, next_at=next_at
                )
                return
            except Exception:  # the lease runs out: sent again (at least once)
                if attempt == 2:
                    log.exception("could not record a push attempt")
                    return
                await asyncio.sleep(0.2 * (attempt + 1))
