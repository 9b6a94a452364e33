"""How long a welcome's unread count takes when the tail after a read cursor is not in the
replay window: N events in a SQLite file (chats, cart adds and votes by three members),
then ``CursorStore.count_tail`` (rows by others only, the op's type decoded) against
reading the whole tail with ``events_after`` and counting full events. Figures printed,
nothing asserted.

    python -m benchmarks.unread_count --events 20000
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import msgspec

from cosession.cursors.store import CursorStore
from cosession.store.store import PendingEvent, RoomRecord
from cosession.store.store_sql import SqlStore
from protocol.messages import CartAdd, Chat, Event, EventBody, Product, RoomCreate, RoomState, Vote
from protocol.unread import count_unread

_encoder = msgspec.msgpack.Encoder()


def _events(n: int) -> list[PendingEvent]:
    out = []
    for seq in range(2, n + 2):
        by = ("ana", "bo", "cy", "ana", "cy")[seq % 5]
        body: EventBody
        if seq % 3 == 0:
            body = Chat(text=f"message {seq} " + "x" * 40)
        elif seq % 3 == 1:
            body = CartAdd(product=Product(id=f"p{seq}", name=f"Product {seq}", price=seq, currency="EUR"))
        else:
            body = Vote(line=2, value="up")
        event = Event(seq=seq, ts=seq, by=by, op=body)
        out.append(PendingEvent(room_id="r1", event=event, ref=None, body=_encoder.encode(event)))
    return out


async def main(n: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore(f"sqlite:///{Path(tmp) / 'bench.db'}", sqlite_synchronous="OFF")
        await store.start()
        first = Event(seq=1, ts=1, by="", op=RoomCreate(name="r", owner="ana", owner_name="Ana"))
        await store.create_room(
            RoomRecord(id="r1", epoch="e", created_at=1),
            PendingEvent(room_id="r1", event=first, ref=None, body=_encoder.encode(first)),
        )
        events = _events(n)
        for i in range(0, len(events), 5000):
            await store.append(events[i : i + 5000], [])
        cursors = CursorStore(store)
        head = n + 1
        light = full = 0.0
        for _ in range(rounds):
            t0 = time.perf_counter()
            a = await cursors.count_tail("r1", 1, head, "bo", n)
            t1 = time.perf_counter()
            b = count_unread(RoomState(), await store.events_after("r1", 1, n), "bo")
            t2 = time.perf_counter()
            assert (a.messages, a.cart) == (b.messages, b.cart)
            light += t1 - t0
            full += t2 - t1
        await store.close()
    print(f"tail of {n} events ({a.messages} messages, {a.cart} cart changes by others), {rounds} rounds")
    print(f"count_tail (others' rows, op type only): {1000 * light / rounds:8.1f} ms")
    print(f"events_after + count_unread (full):      {1000 * full / rounds:8.1f} ms")
    print(f"ratio full / light: {full / light:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.rounds))
