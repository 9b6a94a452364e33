"""Cost of a checkout snapshot: building and signing it, verifying it with the documented
recipe, and its size on the wire, for carts of 1, 20 and 200 lines.

``python -m benchmarks.checkout [--seconds S]`` (default 0.5 s per figure; a few seconds
in all). Figures are medians of repeated timed batches in this one process.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

from cosession.retail.checkout import build_checkout, snapshot_dict
from cosession.retail.signing import checkout_key, verify
from protocol.codec import JSON, MSGPACK
from protocol.messages import CartAdd, CheckoutRequest, CheckoutStart, Event, MemberJoin, Product, RoomCreate, RoomState
from protocol.reducer import fold


def cart(lines: int) -> RoomState:
    events = [
        Event(seq=1, ts=1, by="", op=RoomCreate(name="R", owner="ana", owner_name="Ana")),
        Event(seq=2, ts=2, by="", op=MemberJoin(member="bo", name="Bo", role="member")),
    ]
    for i in range(lines):
        product = Product(
            id=f"sku-{i:05d}",
            name=f"Product number {i} with a longer name",
            price=1000 + i,
            currency="EUR",
            image=f"https://cdn.example.com/p/{i}.jpg",
            url=f"https://shop.example.com/p/{i}",
        )
        events.append(Event(seq=3 + i, ts=3 + i, by="bo" if i % 2 else "ana", op=CartAdd(product=product)))
    return fold(events)


def per_call_us(fn: Callable[[], object], seconds: float) -> float:
    n, batch = 0, 10
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and n < 100_000:
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - start) / batch * 1e6)
        n += batch
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args(argv)
    key = checkout_key("bench-secret", "t_bench")
    print(f"{'lines':>5}  {'build+sign µs':>14}  {'verify µs':>10}  {'msgpack B':>10}  {'json B':>8}")
    for lines in (1, 20, 200):
        state = cart(lines)

        def build(state: RoomState = state) -> CheckoutStart:
            return build_checkout(
                state, room_id="r_x", tenant="t_bench", by="ana", request=CheckoutRequest(scope="all"), key=key,
                now_ms=1,
            )  # fmt: skip

        body = build()
        snap = snapshot_dict(body)
        event = Event(seq=9, ts=9, by="ana", op=body)
        sizes = f"{len(MSGPACK.encode(event)):>10}  {len(JSON.encode(event)):>8}"
        b_us = per_call_us(build, args.seconds)
        v_us = per_call_us(partial(verify, key, snap), args.seconds)
        print(f"{lines:>5}  {b_us:>14.1f}  {v_us:>10.1f}  {sizes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
