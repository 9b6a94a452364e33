"""Pure parts of the webhooks: signatures (checked by the ``standardwebhooks`` package),
the retry schedule, and the event → webhook mapping with its deterministic ids."""

from __future__ import annotations

import base64
import json
import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from cosession.retail.checkout import build_checkout
from cosession.retail.signing import verify
from cosession.webhooks.events import EVENT_TYPES, MAPPERS, member_left, message_id, webhook_messages
from cosession.webhooks.schedule import RetrySchedule
from cosession.webhooks.signing import headers, new_secret, sign
from protocol.messages import (
    CartAdd,
    Chat,
    CheckoutRequest,
    CheckoutStart,
    Event,
    HelpRequest,
    MemberJoin,
    MemberKick,
    Product,
    RoomClose,
    RoomCreate,
)
from protocol.reducer import fold

NOW = 1_800_000_000


def test_secrets_follow_the_standard_webhooks_format() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert new_secret() != secret


JSON = st.dictionaries(st.text(max_size=20), st.one_of(st.text(max_size=200), st.integers(), st.booleans()), max_size=8)


@given(data=JSON, msg=st.text(alphabet="abcdefghijklmnop_0123", min_size=1, max_size=40))
def test_signatures_verify_with_the_standardwebhooks_package(data: dict[str, object], msg: str) -> None:
    body = json.dumps(data, ensure_ascii=False).encode()
    secret = new_secret()
    hdrs = headers(secret, msg, int(time.time()), body)
    wh = Webhook(secret)
    wh.verify(body, hdrs)
    with pytest.raises(WebhookVerificationError):
        wh.verify(body + b"x", hdrs)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, hdrs)
    with pytest.raises(WebhookVerificationError):
        wh.verify(body, {**hdrs, "webhook-id": msg + "x"})


def test_signature_is_hmac_sha256_of_id_timestamp_body() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    import hashlib
    import hmac

    expected = hmac.new(b"k" * 24, b"msg_1.1800000000.{}", hashlib.sha256).digest()
    assert sign(secret, "msg_1", NOW, b"{}") == "v1," + base64.b64encode(expected).decode()


def test_default_schedule_is_documented() -> None:
    s = RetrySchedule()
    assert s.ceilings() == [30, 90, 270, 810, 2430, 7290, 21600, 21600, 21600, 21600]
    assert s.next_delay(11) is None  # the 11th retry would be past the schedule: dead


@given(
    failed=st.integers(min_value=1, max_value=12),
    retries=st.integers(min_value=0, max_value=12),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_full_jitter_stays_under_the_ceiling(failed: int, retries: int, seed: int) -> None:
    s = RetrySchedule(retries=retries, base=0.5, factor=2, cap=60)
    delay = s.next_delay(failed, random.Random(seed))
    if failed > retries:
        assert delay is None
    else:
        assert delay is not None and 0 <= delay <= s.ceiling(failed) <= 60


def _event(seq: int, op: object, by: str = "") -> Event:
    return Event(seq=seq, ts=1_700_000_000_000 + seq, by=by, op=op)  # type: ignore[arg-type]


def test_events_map_to_webhook_types() -> None:
    create = webhook_messages("t1", "r1", "e1", _event(1, RoomCreate(name="W", owner="m1", owner_name="Olga")))
    join = webhook_messages("t1", "r1", "e1", _event(2, MemberJoin(member="m2", name="Ana", role="member")))
    kick = webhook_messages("t1", "r1", "e1", _event(3, MemberKick(member="m2"), by="m1"))
    assert webhook_messages("t1", "r1", "e1", _event(4, Chat(text="hi"))) == []
    assert [m.type for m in create + join + kick] == ["room.created", "member.joined", "member.left"]
    body = json.loads(kick[0].body)
    assert body == {
        "id": kick[0].id,
        "type": "member.left",
        "timestamp": "2023-11-14T22:13:20.003+00:00",
        "data": {"room": "r1", "tenant": "t1", "seq": 3, "member": "m2", "reason": "kicked", "by": "m1"},
    }
    assert json.loads(join[0].body)["data"]["name"] == "Ana"
    assert [m.pos for m in create + join + kick] == [1, 2, 3]


def test_message_ids_are_deterministic_and_distinct() -> None:
    join = _event(2, MemberJoin(member="m2", name="Ana", role="member"))
    assert webhook_messages("t1", "r1", "e1", join) == webhook_messages("t1", "r1", "e1", join)
    ids = {message_id("r1", "e1", 2, "member.joined"), message_id("r1", "e2", 2, "member.joined")}
    ids |= {message_id("r1", "e1", 3, "member.joined"), message_id("r2", "e1", 2, "member.joined")}
    ids |= {message_id("r1", "e1", 2, "member.left")}
    assert len(ids) == 5 and all(i.startswith("msg_") and len(i) == 30 for i in ids)
    left = member_left("t1", "r1", "m2", "Ana", 7, 1_700_000_000_000, "grace:1")
    assert left == member_left("t1", "r1", "m2", "Ana", 7, 1_700_000_000_000, "grace:1")
    assert left.id != member_left("t1", "r1", "m2", "Ana", 7, 1_700_000_000_000, "grace:2").id


def _checkout(key: str) -> CheckoutStart:
    state = fold(
        [
            _event(1, RoomCreate(name="W", owner="m1", owner_name="Olga")),
            _event(2, CartAdd(product=Product(id="sku-1", name="Ünïcode shirt", price=4900, currency="EUR")), by="m1"),
        ]
    )
    return build_checkout(
        state,
        room_id="r1",
        tenant="t1",
        by="m1",
        request=CheckoutRequest(scope="all"),
        key=key,
        now_ms=1_700_000_000_000,
    )


def test_room_close_and_checkout_start_map_to_closed_and_requested() -> None:
    closed = webhook_messages("t1", "r1", "e1", _event(5, RoomClose(reason="retention")))
    assert [m.type for m in closed] == ["room.closed"]
    assert json.loads(closed[0].body)["data"] == {"room": "r1", "tenant": "t1", "seq": 5, "reason": "retention"}
    snapshot = _checkout("ck_test")
    requested = webhook_messages("t1", "r1", "e1", _event(6, snapshot, by="m1"))
    assert [m.type for m in requested] == ["checkout.requested"]
    data = json.loads(requested[0].body)["data"]
    assert data["seq"] == 6 and data["checkout"]["t"] == "checkout.start"
    assert data["checkout"]["requested_by_name"] == "Olga"
    # the snapshot as delivered verifies with the checkout key (docs/checkout.md), and only it
    assert verify("ck_test", data["checkout"])
    assert not verify("ck_other", data["checkout"])
    data["checkout"]["lines"][0]["qty"] = 2
    assert not verify("ck_test", data["checkout"])


def test_every_mapped_type_can_be_subscribed_to() -> None:
    ops = {
        RoomCreate: RoomCreate(name="W", owner="m1", owner_name="Olga"),
        MemberJoin: MemberJoin(member="m2", name="Ana", role="member"),
        MemberKick: MemberKick(member="m2"),
        RoomClose: RoomClose(reason="admin"),
        CheckoutStart: _checkout("ck"),
        HelpRequest: HelpRequest(where="in_store", department="Shoes"),
    }
    assert set(MAPPERS) == set(ops)
    produced = {m.type for op in ops.values() for m in webhook_messages("t", "r", "e", _event(1, op))}
    assert produced <= set(EVENT_TYPES)


def test_help_requested_carries_the_request_and_its_place() -> None:
    [msg] = webhook_messages("t", "r", "e", _event(7, HelpRequest(where="in_store", department="Shoes", note="42?")))
    body = json.loads(msg.body)
    assert body["type"] == "help.requested"
    assert body["data"] == {
        "room": "r", "tenant": "t", "seq": 7, "request": 7, "by": _event(7, HelpRequest()).by,
        "where": "in_store", "department": "Shoes", "note": "42?",
    }  # fmt: skip
