"""Rooms written straight through the store for trends tests: chosen creation times,
tenants, carts, votes and ``checkout.start`` events (a log op this tree's protocol does
not type yet, so it is written as a raw MessagePack map, as the events table holds it)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import msgspec

from cosession.store.store import PendingEvent, RoomRecord, Store
from cosession.trends.focus import FocusRecorder
from cosession.trends.summary import CHECKOUT_OP
from protocol.messages import CartAdd, Event, EventBody, LogGap, MemberJoin, Product, RoomCreate, Vote


@dataclass
class RoomPlan:
    tenant: str
    created_at: int  # ms
    people: int = 2
    products: list[str] = field(default_factory=list)  # added in order, one line each
    upvote_first: bool = False  # every member votes the first product up
    checkout: bool = False
    viewed: list[str] = field(default_factory=list)  # products focused (room_focus rows)


def _product(pid: str) -> Product:
    return Product(id=pid, name=pid.replace("-", " ").title(), price=1999, currency="EUR")


async def write_room(store: Store, plan: RoomPlan) -> str:
    room_id = "r_" + secrets.token_hex(6)
    ts = plan.created_at
    members = [f"m{i}" for i in range(plan.people)]
    events: list[tuple[Event, bytes]] = []

    def add(by: str, op: EventBody) -> int:
        event = Event(seq=len(events) + 1, ts=ts, by=by, op=op)
        events.append((event, msgspec.msgpack.encode(event)))
        return event.seq

    add("", RoomCreate(name="Trends", owner=members[0], owner_name="Owner"))
    for m in members[1:]:
        add("", MemberJoin(member=m, name=m, role="member"))
    lines = [add(members[0], CartAdd(product=_product(p))) for p in plan.products]
    if plan.upvote_first and lines:
        for m in members:
            add(m, Vote(line=lines[0], value="up"))
    if plan.checkout:
        seq = len(events) + 1
        raw: dict[str, Any] = {"t": "event", "seq": seq, "ts": ts, "by": members[0], "op": {"t": CHECKOUT_OP}}
        events.append((Event(seq=seq, ts=ts, by=members[0], op=LogGap()), msgspec.msgpack.encode(raw)))
    first, *rest = [PendingEvent(room_id=room_id, event=e, ref=None, body=b) for e, b in events]
    await store.create_room(RoomRecord(id=room_id, epoch="e1", created_at=ts, tenant=plan.tenant), first)
    if rest:
        await store.append(rest, [])
    if plan.viewed:
        recorder = FocusRecorder(store)
        for product in plan.viewed:
            recorder.seen(room_id, product)
        await recorder.flush()
    return room_id
