"""What webhooks cost: the outbox in the group commit, and delivery throughput.

1. ``SqlStore.append`` of batches of events on SQLite (``synchronous=NORMAL``, so the
   figures show SQL work rather than fsync), four ways: chat events with the outbox code
   switched off (the baseline), chat events with it on (they map to no webhook: no extra
   query), ``member.join`` events in a room without a tenant (one join query, no rows),
   and ``member.join`` events in a room whose tenant has one endpoint (a row each).
2. The delivery worker sending ``room.created`` messages to a local receiver (uvicorn on
   127.0.0.1) with signatures: messages per second at the default concurrency.

Bounded in time (about a second per case); prints figures and ratios from one run.

    python -m benchmarks.webhooks
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cosession.store.store import PendingEvent, RoomRecord
from cosession.store.store_sql import SqlStore
from cosession.webhooks.schedule import RetrySchedule
from cosession.webhooks.store import Endpoint, WebhookStore
from cosession.webhooks.worker import DeliveryWorker, WebhookStats, WorkerConfig
from protocol.messages import Chat, Event, MemberJoin, RoomCreate
from tests.support.server import free_port

_encoder = msgspec.msgpack.Encoder()
T0 = 1_700_000_000_000
BATCH = 50


def _pending(room: str, seq: int, op: object) -> PendingEvent:
    event = Event(seq=seq, ts=T0 + seq, by="", op=op)  # type: ignore[arg-type]
    return PendingEvent(room_id=room, event=event, ref=None, body=_encoder.encode(event))


async def _room(store: SqlStore, room: str, tenant: str | None) -> None:
    await store.create_room(
        RoomRecord(id=room, epoch="e1", created_at=T0, tenant=tenant),
        _pending(room, 1, RoomCreate(name="B", owner="m1", owner_name="O")),
    )


class _Case:
    def __init__(self, label: str, room: str, join: bool, outbox: bool) -> None:
        self.label, self.room, self.join, self.outbox = label, room, join, outbox
        self.seq = 1
        self.events = 0
        self.seconds = 0.0

    async def run(self, store: SqlStore, seconds: float) -> None:
        store._migrated = self.outbox  # off: no outbox code on the path at all
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            batch = []
            for _ in range(BATCH):
                self.seq += 1
                op = MemberJoin(member=f"m{self.seq}", name="Ana", role="member") if self.join else Chat(text="hello")
                batch.append(_pending(self.room, self.seq, op))
            await store.append(batch, [])
            self.events += BATCH
        self.seconds += time.perf_counter() - started
        store._migrated = True

    @property
    def rate(self) -> float:
        return self.events / self.seconds


async def outbox_costs(root: Path, seconds: float) -> None:
    store = SqlStore(f"sqlite:///{root / 'bench.db'}", sqlite_synchronous="NORMAL")
    await store.start()
    hooks = WebhookStore(store)
    url = "http://127.0.0.1:9/"
    await hooks.create_endpoint(Endpoint("ep1", "t1", url, "whsec_AAAA", (), "", True, T0))
    cases = [
        _Case("chat, outbox code off (baseline)", "r_chat_off", False, False),
        _Case("chat, outbox code on", "r_chat_on", False, True),
        _Case("member.join, outbox code off", "r_join_off", True, False),
        _Case("member.join, room without tenant", "r_join_none", True, True),
        _Case("member.join, 1 endpoint (a row each)", "r_join_hook", True, True),
    ]
    for case in cases:
        await _room(store, case.room, None if case.room == "r_join_none" else "t1")
    rounds = 8  # interleaved, so a growing file or a busy machine weighs on every case alike
    for _ in range(rounds):
        for case in cases:
            await case.run(store, seconds / rounds)
    await store.close()
    print(f"append, batches of {BATCH} events (SQLite, synchronous=NORMAL), events/s:")
    chat_base, join_base = cases[0].rate, cases[2].rate
    for case in cases:
        base = join_base if case.join else chat_base
        print(f"  {case.label:38s} {case.rate:9.0f}   {case.rate / base:.2f}x its outbox-off case")


async def delivery_rate(root: Path, messages: int) -> None:
    received = 0

    async def hook(request: Request) -> Response:
        nonlocal received
        await request.body()
        received += 1
        return Response(status_code=204)

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/", hook, methods=["POST"])]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    serving = asyncio.create_task(server.serve())
    store = SqlStore(f"sqlite:///{root / 'deliver.db'}", sqlite_synchronous="NORMAL")
    await store.start()
    hooks = WebhookStore(store)
    secret = "whsec_" + "A" * 32
    await hooks.create_endpoint(Endpoint("ep1", "t1", f"http://127.0.0.1:{port}/", secret, (), "", True, T0))
    for i in range(messages):
        await _room(store, f"r{i}", "t1")
    stats = WebhookStats()
    worker = DeliveryWorker(hooks, WorkerConfig(node="bench", schedule=RetrySchedule(), poll=0.05), stats)
    started = time.perf_counter()
    worker.start()
    deadline = started + 60
    while stats.delivered < messages and time.perf_counter() < deadline:  # noqa: ASYNC110 - polls a counter
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await worker.stop()
    await store.close()
    server.should_exit = True
    await serving
    print(f"delivery: {stats.delivered} messages in {elapsed:.2f} s = {stats.delivered / elapsed:.0f}/s ")
    print(f"  (16 in flight, one room each, SQLite NORMAL; receiver got {received}, failed {stats.failed})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per append case")
    parser.add_argument("--messages", type=int, default=300, help="messages to deliver")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await outbox_costs(Path(tmp), args.seconds)
        await delivery_rate(Path(tmp), args.messages)


if __name__ == "__main__":
    asyncio.run(main())
