"""The ``help-queue`` scenario: R rooms raise help requests while N associate consoles
(SSE clients of ``/v1/associates/queue/stream``, no browser) watch the tenant's queue and
race to claim (SPEC section 21).

Before the rooms are made, ``prepare`` gets a tenant (``-p tenant_key=sk_…``, or with
``--spawn`` a new one made with ``cosession tenant create`` in the spawned database) and
issues N associate tokens (``POST /v1/tenant/associates``); the rooms are created with the
tenant's key. Each room's one member (``--members 1``) raises ``help.request`` (the note
names the room), waits (bounded) until an associate has claimed and closed it, thinks,
and asks again. The members of the first N rooms also run one console each: it reads the
queue, follows the stream (reconnecting with ``Last-Event-ID``), and for each new request
the ``race`` consoles picked by a hash of its id (3 by default) POST a claim at once;
exactly one should win (200), the others get 409. The winner closes it after ``hold``
seconds.

Each room counts the ``help.claim`` events it receives per request: a second one would
be two winners (``help_double_claims``, which must stay 0).

Measured: ``help_fanout`` (the request's sequencing time, its queue item's ``created_at``
→ the event read on a console, every console) and ``help_claim`` (``created_at`` → the
claim's 200), both in wall-clock milliseconds of this machine (``created_at`` has
millisecond resolution); requests per second from the acked ``help.request`` ops.
Traffic goes only to the run's URLs; every wait is bounded by the run's end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import zlib
from typing import Any

import httpx

from cosession_client.errors import OpRejected
from loadtest.scenario import Scenario, ScenarioError, Shopper, task
from protocol.messages import Event, HelpClaim, HelpRequest

STREAM_PATH = "/v1/associates/queue/stream"
READ_TIMEOUT = 45.0  # no byte (heartbeats included) for this long: reconnect
POLL = 0.1  # seconds between two looks at the room's state while waiting for a close


def racers(request_id: str, consoles: int, race: int) -> set[int]:
    """The console indexes that race for ``request_id``: ``race`` consecutive ones from a
    hash of the id (the same answer in every worker process)."""
    if consoles <= 0:
        return set()
    start = zlib.crc32(request_id.encode()) % consoles
    return {(start + j) % consoles for j in range(min(race, consoles))}


def created_ms(item: dict[str, Any]) -> float | None:
    value = item.get("created_at")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) * (1000.0 if value < 1e11 else 1.0)
    return None


def since_ms(start_ms: float) -> int:
    """Nanoseconds from a wall-clock millisecond time to now (never negative)."""
    return max(0, time.time_ns() - int(start_ms * 1_000_000))


class SseLines:
    """Minimal incremental text/event-stream parser over whole lines."""

    def __init__(self) -> None:
        self.event = ""
        self.data: list[str] = []
        self.id: str | None = None

    def line(self, line: str) -> tuple[str, str, str | None] | None:
        if line == "":
            if not self.data:
                self.event = ""
                return None
            out = (self.event or "message", "\n".join(self.data), self.id)
            self.event, self.data = "", []
            return out
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self.event = value
        elif field == "data":
            self.data.append(value)
        elif field == "id":
            self.id = value
        return None


class Console:
    """One associate console: queue snapshot, then the stream, resumed after any drop."""

    def __init__(self, shopper: Shopper, index: int, token: str, consoles: int) -> None:
        self.s = shopper
        self.index = index
        self.token = token
        self.consoles = consoles
        self.race = int(shopper.params.get("race", "3"))
        self.hold = float(shopper.params.get("hold", "0.1"))
        self.base = shopper.room.http_url
        self.seen: set[str] = set()
        self.last_id: str | None = None
        self.live_once = False
        self.jobs: set[asyncio.Task[None]] = set()

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    async def run(self) -> None:
        meter = self.s.meter
        timeout = httpx.Timeout(10.0, read=READ_TIMEOUT)
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
            self.http = http
            queue = await http.get(self.base + "/v1/associates/queue", headers=self.auth)
            queue.raise_for_status()
            body = queue.json()
            for item in body.get("requests", []):
                self.seen.add(str(item.get("id")))  # there before us: not timed
            cursor = body.get("cursor")
            self.last_id = None if cursor is None else str(cursor)
            backoff = 0.25
            while self.s.time_left > 0:
                try:
                    await self._stream(http)
                    backoff = 0.25
                except (httpx.HTTPError, OSError, ValueError):
                    meter.error("help_stream_broken")
                await asyncio.sleep(min(backoff, self.s.time_left))
                backoff = min(backoff * 2, 4.0)

    async def _stream(self, http: httpx.AsyncClient) -> None:
        headers = {**self.auth, "accept": "text/event-stream"}
        if self.last_id is not None:
            headers["last-event-id"] = self.last_id
        async with http.stream("GET", self.base + STREAM_PATH, headers=headers) as r:
            if r.status_code != 200:
                self.s.meter.error(f"help_stream_{r.status_code}")
                return
            self.s.meter.c["help_stream_connects"] += 1
            if not self.live_once:
                self.live_once = True
                self.s.meter.c["help_consoles"] += 1
            parser = SseLines()
            async for line in r.aiter_lines():
                ev = parser.line(line)
                if ev is not None:
                    self._event(*ev)

    def _event(self, kind: str, data: str, event_id: str | None) -> None:
        if event_id is not None:
            self.last_id = event_id
        if kind != "request":
            return
        item = json.loads(data)
        rid = str(item.get("id"))
        if rid in self.seen:
            return
        self.seen.add(rid)
        meter = self.s.meter
        meter.c["help_seen"] += 1
        created = created_ms(item)
        if created is not None:
            meter.hist["help_fanout"].record_ns(since_ms(created))
        if item.get("state", "open") == "open" and self.index in racers(rid, self.consoles, self.race):
            job = asyncio.create_task(self._claim(rid, created))
            self.jobs.add(job)
            job.add_done_callback(self.jobs.discard)

    async def _claim(self, rid: str, created: float | None) -> None:
        meter = self.s.meter
        meter.c["help_claim_attempts"] += 1
        try:
            r = await self.http.post(f"{self.base}/v1/associates/requests/{rid}/claim", headers=self.auth, json={})
        except httpx.HTTPError:
            meter.c["help_claim_errors"] += 1
            return
        if r.status_code == 409:
            meter.c["help_claims_lost"] += 1
            return
        if r.status_code != 200:
            meter.c["help_claim_errors"] += 1
            meter.error(f"help_claim_{r.status_code}")
            return
        meter.c["help_claims_won"] += 1
        if created is not None:
            meter.hist["help_claim"].record_ns(since_ms(created))
        await asyncio.sleep(min(self.hold, self.s.time_left))
        with contextlib.suppress(httpx.HTTPError):
            closed = await self.http.post(f"{self.base}/v1/associates/requests/{rid}/close", headers=self.auth, json={})
            if closed.status_code == 200:
                meter.c["help_closes"] += 1

    def stop(self) -> None:
        for job in list(self.jobs):
            job.cancel()


class Requester(Shopper):
    """The room's member: asks for help, waits for the close, thinks, asks again. The
    members of the first N rooms also run an associate console."""

    weight = 1
    think_time = (0.5, 1.5)

    async def on_start(self) -> None:
        tokens = [t for t in self.params.get("associate_tokens", "").split(",") if t]
        self.console_task: asyncio.Task[None] | None = None
        self.console: Console | None = None
        self.watch_task = asyncio.create_task(self._watch_claims())
        if self.room.member_index == 0 and self.room.index < len(tokens):
            self.console = Console(self, self.room.index, tokens[self.room.index], len(tokens))
            self.console_task = asyncio.create_task(self.console.run())

    async def _watch_claims(self) -> None:
        """Count the room's help.claim events per request: a second one is two winners."""
        claims: dict[int, set[int]] = {}
        with contextlib.suppress(Exception):
            async with self.client.events(limit=100_000) as sub:
                async for msg in sub:
                    if isinstance(msg, Event) and isinstance(msg.op, HelpClaim):
                        seqs = claims.setdefault(msg.op.request, set())
                        if msg.seq in seqs:
                            continue
                        seqs.add(msg.seq)
                        self.meter.c["help_claim_events"] += 1
                        if len(seqs) == 2:
                            self.meter.c["help_double_claims"] += 1

    @task
    async def ask(self) -> None:
        meter = self.meter
        try:
            seq = await self.client.submit(HelpRequest(where="online", note=f"loadtest room {self.room.index}"))
        except OpRejected:
            meter.c["help_request_refused"] += 1
            await self.think()
            return
        meter.c["help_requests"] += 1
        wait_until = asyncio.get_running_loop().time() + min(float(self.params.get("wait", "30")), self.time_left)
        while asyncio.get_running_loop().time() < wait_until:
            mine = next((r for r in self.client.state.help if r.id == seq), None)
            if mine is None or mine.state == "closed":
                meter.c["help_closed_seen"] += 1
                return
            await asyncio.sleep(POLL)

    async def on_stop(self) -> None:
        if self.console is not None:
            self.console.stop()
        for job in (self.console_task, getattr(self, "watch_task", None)):
            if job is not None:
                job.cancel()
                with contextlib.suppress(BaseException):
                    await job


async def _tenant_key(params: dict[str, str], database_url: str | None) -> str:
    key = params.get("tenant_key", "")
    if key:
        return key
    if database_url is None:
        raise ScenarioError("help-queue against --url needs -p tenant_key=sk_… (a tenant's secret key)")
    cmd = [sys.executable, "-m", "cosession", "tenant", "create", "--name", "loadtest help-queue"]
    cmd += ["--database-url", database_url, "--json"]
    done = await asyncio.to_thread(subprocess.run, cmd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise ScenarioError(f"cosession tenant create failed: {done.stderr.strip()[-300:]}")
    made: dict[str, Any] = json.loads(done.stdout)
    secret = made.get("secret_key")
    if not isinstance(secret, str):
        raise ScenarioError(f"cosession tenant create printed no secret_key: {done.stdout[:200]}")
    return secret


async def prepare(params: dict[str, str], urls: list[str], database_url: str | None, rooms: int) -> dict[str, str]:
    """A tenant for the rooms and N associate tokens for the consoles (run once, by the
    controller, before the rooms are made). Consoles run in the first N rooms: N <= rooms."""
    try:
        consoles = int(params.get("consoles", "4"))
    except ValueError:
        raise ScenarioError("-p consoles must be a number") from None
    if not 0 <= consoles <= 5000:
        raise ScenarioError("-p consoles must be 0 … 5000")
    if consoles > rooms:
        raise ScenarioError(f"-p consoles={consoles} needs at least as many rooms (--rooms {consoles})")
    key = await _tenant_key(params, database_url)
    slots = asyncio.Semaphore(8)
    async with httpx.AsyncClient(timeout=30.0, trust_env=False) as http:

        async def one(i: int) -> str:
            async with slots:
                r = await http.post(
                    urls[0] + "/v1/tenant/associates",
                    json={"name": f"loadtest associate {i}"},
                    headers={"authorization": f"Bearer {key}"},
                )
            if r.status_code not in (200, 201):
                raise ScenarioError(f"POST /v1/tenant/associates: {r.status_code} {r.text[:200]}")
            token: str = r.json()["token"]
            return token

        tokens = await asyncio.gather(*(one(i) for i in range(consoles)))
    return {"tenant_key": key, "room_key": key, "associate_tokens": ",".join(tokens)}


def help_queue(params: dict[str, str]) -> Scenario:
    consoles = params.get("consoles", "4")
    return Scenario(
        name="help-queue",
        description=(
            f"rooms raise and wait for help requests; {consoles} associate consoles (SSE, -p consoles=N) "
            "race to claim: claim and queue fan-out latency, requests/s"
        ),
        shoppers=[Requester],
        rooms=20,
        members=1,
        duration=20.0,
        ramp=2.0,
        op_rate=0.0,
        payload_bytes=80,
        prepare=prepare,
    )
