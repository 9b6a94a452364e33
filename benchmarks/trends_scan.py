"""How long a trends query takes: N rooms of one tenant in a SQLite file, then
``tenant_trends`` (the SQL scan, decoding, summaries, aggregation) timed, and the pure
aggregation alone over the same summaries. Figures printed, nothing asserted.

    python -m benchmarks.trends_scan --rooms 2000 --events 20
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

import msgspec

from cosession.store.store import PendingEvent, RoomRecord
from cosession.store.store_sql import SqlStore
from cosession.tenants.store import TenantStore
from cosession.trends.aggregate import aggregate
from cosession.trends.focus import FocusRecorder
from cosession.trends.source import room_summaries, tenant_trends, window
from protocol.messages import CartAdd, Chat, Event, EventBody, MemberJoin, Product, RoomCreate, Vote


def _room_events(rng: random.Random, room_id: str, n: int, ts: int) -> list[PendingEvent]:
    members = [f"m{i}" for i in range(rng.randint(1, 6))]
    ops: list[tuple[str, EventBody]] = [("", RoomCreate(name="r", owner=members[0], owner_name="O"))]
    ops += [("", MemberJoin(member=m, name=m, role="member")) for m in members[1:]]
    lines: list[int] = []
    while len(ops) < n:
        who = rng.choice(members)
        kind = rng.random()
        if kind < 0.4:
            pid = f"sku-{rng.randint(1, 60)}"
            ops.append((who, CartAdd(product=Product(id=pid, name=pid, price=100, currency="EUR"))))
            lines.append(len(ops))
        elif kind < 0.6 and lines:
            ops.append((who, Vote(line=rng.choice(lines), value=rng.choice(["up", "down"]))))
        else:
            ops.append((who, Chat(text="what about this one? " * 3)))
    out = []
    for seq, (by, op) in enumerate(ops, start=1):
        event = Event(seq=seq, ts=ts, by=by, op=op)
        out.append(PendingEvent(room_id=room_id, event=event, ref=None, body=msgspec.msgpack.encode(event)))
    return out


async def main(rooms: int, events: int) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore(f"sqlite:///{Path(tmp) / 'bench.db'}", sqlite_synchronous="NORMAL")
        await store.start()
        tenant = (await TenantStore(store).create("Bench", [])).tenant
        now = int(time.time() * 1000)
        focus = FocusRecorder(store)
        t0 = time.perf_counter()
        for i in range(rooms):
            room_id = f"r{i:06d}"
            evs = _room_events(rng, room_id, events, now)
            await store.create_room(RoomRecord(id=room_id, epoch="e", created_at=now, tenant=tenant.id), evs[0])
            await store.append(evs[1:], [])
            for _ in range(3):
                focus.seen(room_id, f"sku-{rng.randint(1, 60)}")
        await focus.flush()
        print(f"wrote {rooms} rooms x {events} events in {time.perf_counter() - t0:.1f} s")
        win = window(None, None, today=dt.datetime.now(dt.UTC).date())
        engine = store.engine
        t0 = time.perf_counter()
        trends, _ = await tenant_trends(store, tenant.id, win, k=10, limit=20, max_rooms=20_000)
        full = time.perf_counter() - t0
        summaries, _ = await room_summaries(engine, tenant.id, win, max_rooms=20_000)
        t0 = time.perf_counter()
        aggregate(summaries, 10, 20)
        pure = time.perf_counter() - t0
        total = rooms * events
        rate = total / full
        print(f"trends query (scan + decode + summarize + aggregate): {full * 1000:.0f} ms, {rate:,.0f} events/s")
        print(f"aggregation alone over {rooms} summaries: {pure * 1000:.1f} ms")
        print(f"published: rooms={trends.rooms} products={len(trends.products)} pairs={len(trends.pairs)}")
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.rooms, args.events))
