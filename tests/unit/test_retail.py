"""Pure parts of cosession/retail: the documented verification snippet (run from
docs/checkout.md itself), snapshot building and signing, and the circuit breaker."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from cosession.retail.breaker import Breaker
from cosession.retail.checkout import build_checkout, room_of, snapshot_dict
from cosession.retail.signing import checkout_key, verify
from protocol.messages import CartAdd, CartRevalidate, CheckoutRequest, Event, MemberJoin, Product, RoomCreate
from protocol.reducer import fold

DOC = Path(__file__).resolve().parents[2] / "docs" / "checkout.md"
MUG = Product(id="mug", name="Café mug ☕ \u2028", price=1200, currency="EUR", variant="blue")


def documented_verify() -> Any:
    text = DOC.read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify_checkout" in b)
    scope: dict[str, Any] = {}
    exec(compile(block, str(DOC), "exec"), scope)
    return scope["verify_checkout"]


def state() -> Any:
    return fold(
        [
            Event(seq=1, ts=1, by="", op=RoomCreate(name="R", owner="ana", owner_name="Ana")),
            Event(seq=2, ts=2, by="", op=MemberJoin(member="bo", name="Bø", role="member")),
            Event(seq=3, ts=3, by="bo", op=CartAdd(product=MUG, qty=2)),
            Event(seq=4, ts=4, by="", op=CartRevalidate(line=3, price=1500, in_stock=False)),
        ]
    )


def test_the_snippet_in_the_docs_verifies_and_refuses() -> None:
    verify_checkout = documented_verify()
    key = checkout_key("server-secret", "t_1")
    now = int(time.time() * 1000)
    body = build_checkout(
        state(), room_id="r_1", tenant="t_1", by="ana", request=CheckoutRequest(scope="all"), key=key, now_ms=now
    )
    snap = snapshot_dict(body)
    assert snap["lines"][0]["price"] == 1500 and snap["lines"][0]["out_of_stock"] is True
    assert snap["lines"][0]["added_by_name"] == "Bø" and room_of(snap["id"]) == "r_1"
    assert verify_checkout(snap, key) and verify(key, snap)
    assert not verify_checkout(snap, checkout_key("server-secret", "t_2"))  # another tenant's key
    assert not verify_checkout(snap, checkout_key("other-secret", "t_1"))  # another server
    assert not verify_checkout({**snap, "scope": "mine"}, key)
    assert not verify_checkout({**snap, "sig": "x"}, key)
    expired = build_checkout(
        state(), room_id="r_1", tenant="t_1", by="ana", request=CheckoutRequest(scope="all"), key=key, now_ms=0
    )
    assert verify(key, snapshot_dict(expired)) and not verify_checkout(snapshot_dict(expired), key)
    assert not verify(key, {**snap, "sig": "é"}) and not verify(key, {k: v for k, v in snap.items() if k != "sig"})


def test_breaker_opens_after_threshold_and_probes_once_after_cooldown() -> None:
    b = Breaker(threshold=3, cooldown=10.0)
    for t in (0.0, 1.0):
        assert b.allow(t)
        b.failure(t)
    assert b.state(1.5) == "closed"
    assert b.allow(2.0)
    b.failure(2.0)
    assert b.state(2.0) == "open" and not b.allow(5.0) and b.opens == 1
    assert b.state(12.0) == "half_open"
    assert b.allow(12.0) and not b.allow(12.1)  # one probe at a time
    b.failure(12.5)  # the probe failed: open again, from now
    assert b.state(20.0) == "open" and b.opens == 2
    assert b.allow(23.0)
    b.success()
    assert b.state(23.0) == "closed" and b.failures == 0 and b.allow(23.0)


def test_a_success_resets_the_failure_count() -> None:
    b = Breaker(threshold=2, cooldown=1.0)
    b.failure(0.0)
    b.success()
    b.failure(0.1)
    assert b.state(0.1) == "closed"
