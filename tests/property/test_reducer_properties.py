"""Reducer properties over random logs from several members (owner, members, an associate, a
viewer, an outsider), including ops that are invalid at their position.

* ``apply`` never raises; ``state.seq`` is the last seq; folding is deterministic;
* snapshot + tail == whole log (through ``copy_state`` and through both codecs);
* every step agrees with an independent statement of the permission rules, and a refused
  event changes nothing but ``seq``;
* a simulated sequencer interleaving several members' ops in random orders (checking them
  exactly, like one node, or against a lagging replica, like a cluster node) produces a
  log that N independent replicas fold to the same state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import JSON, MSGPACK
from protocol import reducer as R
from protocol.messages import (
    CartAdd,
    CartQty,
    CartRemove,
    CartRevalidate,
    Chat,
    CheckoutLine,
    CheckoutStart,
    Event,
    EventBody,
    HelpClaim,
    HelpClose,
    HelpEscalate,
    HelpRequest,
    MemberJoin,
    MemberKick,
    Product,
    React,
    Role,
    RoomCreate,
    RoomLock,
    RoomRename,
    RoomState,
    Vote,
    Welcome,
)
from protocol.reducer import RoomLimits, apply, check_limits, check_rules, copy_state, fold

OWNER, ASSOC, VIEWER, OUTSIDER = "ana", "as", "vic", "zed"
MEMBERS = ("bo", "cy")
SENDERS = (OWNER, OWNER, *MEMBERS, *MEMBERS, ASSOC, VIEWER, OUTSIDER, "")  # mostly people who may write
JOINABLE = (*MEMBERS, ASSOC, VIEWER, OUTSIDER, "new")  # never the owner
PRODUCTS = [
    Product(id=f"p{i}", name=f"P{i}", price=100 * i, currency="EUR", variant=variant)
    for i in range(3)
    for variant in (None, "S")
]
EMOJI = ("👍", "🔥", "😮")
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    report_multiple_bugs=False,
)


def setup_events() -> list[Event]:
    bodies: list[EventBody] = [
        RoomCreate(name="Room", owner=OWNER, owner_name="Ana"),
        *(MemberJoin(member=m, name=m.upper(), role="member") for m in MEMBERS),
        MemberJoin(member=ASSOC, name="As", role="associate"),
        MemberJoin(member=VIEWER, name="Vic", role="viewer"),
    ]
    return [Event(seq=i + 1, ts=1000 * (i + 1), by="", op=body) for i, body in enumerate(bodies)]


@contextmanager
def tiny_constants(tiny: bool) -> Iterator[None]:
    """Shrink CHAT_KEEP and the emoji limit so short logs reach eviction and the limit."""
    if not tiny:
        yield
        return
    with (
        mock.patch.object(R, "CHAT_KEEP", 3),
        mock.patch.object(R, "MAX_REACTIONS_PER_MESSAGE", 2),
        mock.patch.object(R, "CHECKOUTS_KEEP", 2),
        mock.patch.object(R, "HELP_CLOSED_KEEP", 1),
    ):
        yield


# ---- random ops, resolved against the state they are sent in ------------------------------------
#
# An op is drawn as an *intent* (kind, actor, a, b, flag) in one draw, and resolved against
# the room as its sender sees it: `a`/`b` pick a product, a quantity, or a line or message
# among the live ones, the ones already gone (removed, evicted) and ones that never existed.

Intent = tuple[str, str, int, int, bool]
CLIENT_KINDS = (
    "add",
    "add",
    "qty",
    "remove",
    "vote",
    "chat",
    "chat",
    "react",
    "react",
    "rename",
    "lock",
    "kick",
    "checkout",
    "help",
)
ALL_KINDS = (*CLIENT_KINDS, "join", "create", "revalidate", "revalidate", "helpclaim", "helpescalate", "helpclose")
ROLES: tuple[Role, ...] = ("member", "associate", "viewer")


OP_BYTES = 4


def decode_intents(blob: bytes, kinds: tuple[str, ...] = ALL_KINDS) -> list[Intent]:
    """Four bytes per op. Drawing one byte string (not a list of tuples) keeps generation
    cheap and lets Hypothesis shrink a failing log quickly."""
    out: list[Intent] = []
    for i in range(0, len(blob) - OP_BYTES + 1, OP_BYTES):
        k, who, a, b = blob[i : i + OP_BYTES]
        flag = bool((k // len(kinds)) & 1)
        out.append((kinds[k % len(kinds)], SENDERS[who % len(SENDERS)], a, b, flag))
    return out


def intent_lists(
    kinds: tuple[str, ...] = ALL_KINDS, min_ops: int = 0, max_ops: int = 60
) -> st.SearchStrategy[list[Intent]]:
    blobs = st.binary(min_size=min_ops * OP_BYTES, max_size=max_ops * OP_BYTES)
    return blobs.map(lambda blob: decode_intents(blob, kinds))


class History:
    """Every line and chat message a room ever had (to refer to gone ones too)."""

    def __init__(self) -> None:
        self.lines: list[int] = []
        self.chats: list[int] = []

    def record(self, state: RoomState, event: Event) -> None:
        if isinstance(event.op, CartAdd) and state.cart and state.cart[-1].line == event.seq:
            self.lines.append(event.seq)
        if isinstance(event.op, Chat) and state.chat and state.chat[-1].id == event.seq:
            self.chats.append(event.seq)


def pick(live: list[int], ever: list[int], seq: int, n: int) -> int:
    candidates = [*live, *live, *(x for x in ever if x not in live), seq + 1]  # live ones twice as likely
    return candidates[n % len(candidates)]


def resolve(state: RoomState, history: History, intent: Intent) -> tuple[str, EventBody]:
    kind, actor, a, b, flag = intent
    live_lines = [item.line for item in state.cart]
    live_chats = [m.id for m in state.chat]
    op: EventBody
    if kind == "add":
        op = CartAdd(product=PRODUCTS[a % len(PRODUCTS)], qty=(1, 2, 500, 999)[b % 4])
    elif kind == "qty":
        op = CartQty(line=pick(live_lines, history.lines, state.seq, a), qty=b + 1)
    elif kind == "remove":
        op = CartRemove(line=pick(live_lines, history.lines, state.seq, a))
    elif kind == "vote":
        op = Vote(line=pick(live_lines, history.lines, state.seq, a), value=("up", "down", "clear")[b % 3])
    elif kind == "chat":
        reply = None if flag or b % 2 else pick(live_chats, history.chats, state.seq, b // 2)
        op = Chat(text=("hi", "ok", "x" * 12)[a % 3], reply_to=reply)
    elif kind == "react":
        op = React(msg=pick(live_chats, history.chats, state.seq, a), emoji=EMOJI[b % len(EMOJI)], on=flag)
    elif kind == "rename":
        op = RoomRename(name="AB"[a % 2])
    elif kind == "lock":
        op = RoomLock(locked=flag)
    elif kind == "kick":
        op = MemberKick(member=(OWNER, *JOINABLE)[a % (len(JOINABLE) + 1)])
    elif kind == "checkout":  # as the server builds it from checkout.request (signature opaque here)
        scope = "all" if flag else "mine"
        lines = [
            CheckoutLine(
                line=i.line, product=i.product, qty=i.qty, price=i.product.price, added_by=i.added_by, added_by_name=""
            )
            for i in R.checkout_lines(state, actor, scope)
        ]
        op = CheckoutStart(
            id=f"co{state.seq}",
            room="r",
            tenant="",
            scope=scope,
            requested_by=actor,
            requested_by_name="",
            lines=lines,
            created_at=a,
            expires_at=a + b,
            sig="s",
        )
    elif kind == "revalidate":
        price = (None, 0, 150, 100 * (a % 3))[b % 4]
        op = CartRevalidate(line=pick(live_lines, history.lines, state.seq, a), price=price, in_stock=b % 3 != 0)
        return ("" if b % 5 else actor), op  # mostly the server; sometimes (wrongly) a client
        op = MemberJoin(member=JOINABLE[a % len(JOINABLE)], name="N", role=ROLES[b % len(ROLES)])
        return ("" if flag else actor), op  # mostly the server; sometimes (wrongly) a client
    elif kind == "help":
        op = HelpRequest(where="in_store" if flag else "online", note=None if a % 2 else "n", department=None)
    elif kind.startswith("help"):  # server ops on a request: live, gone or never made
        ids = [h.id for h in state.help]
        request = [*ids, *ids, state.seq + 1][a % (2 * len(ids) + 1)]
        if kind == "helpclaim":
            op = HelpClaim(request=request, associate=ASSOC, name="As")
        elif kind == "helpescalate":
            op = HelpEscalate(request=request, level=1 + b % 3)
        else:
            op = HelpClose(request=request, by=actor or OWNER)
        return ("" if b % 5 else actor), op  # mostly the server; sometimes (wrongly) a client
    else:
        op = RoomCreate(name="Again", owner=OUTSIDER, owner_name="Z")
    return actor, op


def build_log(ops: list[Intent]) -> list[Event]:
    """The setup events, then each intent resolved against the state at its position."""
    events = setup_events()
    state = fold(events)
    history = History()
    for intent in ops:
        by, op = resolve(state, history, intent)
        event = Event(seq=state.seq + 1, ts=1000 * (state.seq + 1), by=by, op=op)
        apply(state, event)
        history.record(state, event)
        events.append(event)
    return events


LOG_OPS = intent_lists(min_ops=10)
logs = LOG_OPS.map(build_log)


# ---- an independent statement of the rules -------------------------------------------------------


def allowed(state: RoomState, by: str, op: EventBody) -> bool:
    """SPEC.md's permission and existence rules, written out again without the reducer."""
    if isinstance(op, RoomCreate):
        return state.seq == 0 and state.owner == ""
    if isinstance(op, MemberJoin):
        info = state.members.get(op.member)
        return by == "" and not (info is not None and info.kicked)
    if isinstance(op, CartRevalidate):
        return by == "" and op.line in {item.line for item in state.cart}
    if isinstance(op, (HelpClaim, HelpEscalate, HelpClose)):
        if by != "" or state.closed:
            return False
        found = [h for h in state.help if h.id == op.request]
        if not found:
            return False
        if isinstance(op, HelpClaim):
            return found[0].state == "open"
        if isinstance(op, HelpEscalate):
            return found[0].state == "open" and op.level > found[0].level
        return found[0].state != "closed"
    info = state.members.get(by)
    if info is None or info.kicked or info.role == "viewer":
        return False
    owner = by == state.owner
    if isinstance(op, (RoomRename, RoomLock, MemberKick)) and not owner:
        return False
    if isinstance(op, (CartAdd, CartQty, CartRemove)) and state.locked and not owner:
        return False
    lines = {item.line for item in state.cart}
    chats = {m.id: m for m in state.chat}
    if isinstance(op, (CartQty, CartRemove, Vote)):
        return op.line in lines
    if isinstance(op, Chat):
        return op.reply_to is None or op.reply_to in chats
    if isinstance(op, React):
        msg = chats.get(op.msg)
        if msg is None:
            return False
        return not (op.on and op.emoji not in msg.reactions and len(msg.reactions) >= R.MAX_REACTIONS_PER_MESSAGE)
    if isinstance(op, MemberKick):
        target = state.members.get(op.member)
        return target is not None and not target.kicked and op.member != state.owner
    if isinstance(op, CheckoutStart):
        return op.requested_by == by and bool(op.lines) and (op.scope == "mine" or owner)
    if isinstance(op, HelpRequest):
        return all(h.state == "closed" for h in state.help)
    return True


def check_invariants(state: RoomState) -> None:
    lines = [item.line for item in state.cart]
    assert lines == sorted(set(lines)), "line ids are unique and in creation order"
    assert all(1 <= line <= state.seq for line in lines)
    keys = [(item.product.id, item.product.variant) for item in state.cart]
    assert len(keys) == len(set(keys)), "one line per product id + variant"
    for item in state.cart:
        assert 1 <= item.qty <= R.MAX_QTY
        assert set(item.votes.values()) <= {1, -1}
    ids = [m.id for m in state.chat]
    assert ids == sorted(set(ids)) and all(1 <= i <= state.seq for i in ids)
    assert len(state.chat) <= R.CHAT_KEEP
    for m in state.chat:
        assert len(m.reactions) <= R.MAX_REACTIONS_PER_MESSAGE
        for who in m.reactions.values():
            assert who and len(who) == len(set(who))
    if state.owner:
        assert not state.members[state.owner].kicked
        assert state.members[state.owner].role == "owner"


def check_step(before: RoomState, event: Event, after: RoomState) -> None:
    """One fold step agrees with the rules, and does what its op says."""
    by, op, seq = event.by, event.op, event.seq
    assert after.seq == seq
    ok = allowed(before, by, op)
    assert (check_rules(before, by, op) is None) == ok
    if not ok:
        unchanged = copy_state(before)
        unchanged.seq = seq
        assert after == unchanged
        return
    if isinstance(op, CartAdd):
        old = {item.line: item for item in before.cart}
        same = [
            item
            for item in before.cart
            if (item.product.id, item.product.variant) == (op.product.id, op.product.variant)
        ]
        if same:
            merged = R.find_line(after, same[0].line)
            assert merged is not None and merged.qty == min(R.MAX_QTY, same[0].qty + op.qty)
            assert len(after.cart) == len(before.cart)
        else:
            new = after.cart[-1]
            assert (new.line, new.product, new.qty, new.added_by, new.votes) == (seq, op.product, op.qty, by, {})
            assert new.line not in old
    elif isinstance(op, CartQty):
        line = R.find_line(after, op.line)
        assert line is not None and line.qty == op.qty
    elif isinstance(op, CartRemove):
        assert R.find_line(after, op.line) is None and len(after.cart) == len(before.cart) - 1
    elif isinstance(op, Vote):
        line = R.find_line(after, op.line)
        assert line is not None and line.votes.get(by) == {"up": 1, "down": -1, "clear": None}[op.value]
    elif isinstance(op, Chat):
        assert after.chat[-1].id == seq and after.chat[-1].by == by and after.chat[-1].text == op.text
    elif isinstance(op, React):
        msg = R.find_chat(after, op.msg)
        assert msg is not None and (by in msg.reactions.get(op.emoji, [])) == op.on
    elif isinstance(op, MemberKick):
        assert after.members[op.member].kicked
    elif isinstance(op, RoomLock):
        assert after.locked == op.locked
    elif isinstance(op, RoomRename):
        assert after.name == op.name
    elif isinstance(op, MemberJoin):
        assert after.members[op.member].role == op.role and not after.members[op.member].kicked
    elif isinstance(op, CartRevalidate):
        line, old = R.find_line(after, op.line), R.find_line(before, op.line)
        assert line is not None and old is not None and line.out_of_stock == (not op.in_stock)
        if op.price is None:
            assert line.price_changed == old.price_changed
        elif op.price == line.product.price:
            assert line.price_changed is None
        else:
            assert line.price_changed is not None and line.price_changed.new == op.price
        assert line.product == old.product and line.qty == old.qty
    elif isinstance(op, CheckoutStart):
        assert after.checkouts[-1].id == op.id and after.checkouts[-1].seq == seq
        assert after.cart == before.cart and len(after.checkouts) <= R.CHECKOUTS_KEEP
    elif isinstance(op, HelpRequest):
        new = after.help[-1]
        assert (new.id, new.by, new.state, new.where, new.level) == (seq, by, "open", op.where, 0)
    elif isinstance(op, (HelpClaim, HelpEscalate, HelpClose)):
        item = R.find_help(after, op.request)
        if isinstance(op, HelpClaim):
            assert item is not None and (item.state, item.associate, item.associate_name) == (
                "claimed",
                op.associate,
                op.name,
            )
        elif isinstance(op, HelpEscalate):
            assert item is not None and item.level == op.level
        else:
            assert item is None or item.state == "closed"
        assert sum(h.state != "closed" for h in after.help) <= 1
        assert sum(h.state == "closed" for h in after.help) <= R.HELP_CLOSED_KEEP


# ---- properties over one log ---------------------------------------------------------------------


@SETTINGS
@pytest.mark.parametrize("tiny", [False, True], ids=["real-constants", "tiny-constants"])
@given(ops=LOG_OPS)
def test_every_step_follows_the_rules(tiny: bool, ops: list[Intent]) -> None:
    with tiny_constants(tiny):
        events = build_log(ops)
        state = RoomState()
        kicked_at: dict[str, int] = {}
        for event in events:
            before = copy_state(state)
            apply(state, event)  # never raises
            check_step(before, event, state)
            check_invariants(state)
            op = event.op
            if isinstance(op, MemberKick) and op.member in state.members and state.members[op.member].kicked:
                kicked_at.setdefault(op.member, event.seq)
        assert state.seq == events[-1].seq
        # nothing in the state was added or said by a member after their kick
        for item in state.cart:
            assert item.line < kicked_at.get(item.added_by, item.line + 1)
        for m in state.chat:
            assert m.id < kicked_at.get(m.by, m.id + 1)


@SETTINGS
@given(logs)
def test_viewers_kicked_and_outsiders_never_change_anything(events: list[Event]) -> None:
    state = RoomState()
    for event in events:
        before = copy_state(state)
        info = before.members.get(event.by)
        apply(state, event)
        if event.by != "" and (info is None or info.kicked or info.role == "viewer"):
            assert msgspec.structs.replace(state, seq=before.seq) == before
        if state.locked and event.by != state.owner and isinstance(event.op, (CartAdd, CartQty, CartRemove)):
            assert state.cart == before.cart


@SETTINGS
@given(logs, st.integers(0, 100))
def test_fold_is_deterministic_and_snapshots_compose(events: list[Event], at: int) -> None:
    whole = fold(events)
    assert fold(events) == whole
    assert whole.seq == events[-1].seq
    assert copy_state(whole) == whole

    k = at * len(events) // 100
    head = fold(events[:k])
    snapshot = copy_state(head)
    assert snapshot == head
    assert fold(events[k:], snapshot) == whole
    assert head == fold(events[:k]), "folding onto a copy must not touch the original"

    # the snapshot as a client receives it in a welcome, through either codec
    welcome = Welcome(room="r", member="m", role="member", epoch="e", seq=head.seq, recovered=False, snapshot=head)
    for codec in (JSON, MSGPACK):
        received = codec.decode_server(codec.encode(welcome))
        assert isinstance(received, Welcome) and received.snapshot == head
        assert fold(events[k:], received.snapshot) == whole


@SETTINGS
@given(logs)
def test_events_survive_the_wire(events: list[Event]) -> None:
    for codec in (JSON, MSGPACK):
        received = [codec.decode_server(codec.encode(e)) for e in events]
        assert received == events
        assert fold(received) == fold(events)  # type: ignore[arg-type]


# ---- random interleavings through a simulated sequencer ------------------------------------------

LIMITS = RoomLimits(max_cart_lines=3, max_chat_chars=10)
WRITERS = (OWNER, *MEMBERS, ASSOC, VIEWER)


def sequence(
    queues: dict[str, list[Intent]], order: list[str], *, cluster: bool = False
) -> tuple[list[Event], RoomState, list[tuple[str, EventBody, Any]]]:
    """Run the members' queues through a sequencer in ``order``.

    Each member composes its next op against a stale view of the room (``lag`` events
    behind, like a client on a slow network). The server checks it (rules, then limits)
    and only then gives it a seq. One node checks against the state that includes every
    sequenced event (exact). A cluster node checks against its replica, which may lag the
    sequencer by a few events, so an op that became invalid meanwhile is still appended.
    """
    log = setup_events()
    state = fold(log)
    history = History()
    refused: list[tuple[str, EventBody, Any]] = []
    cursor = dict.fromkeys(queues, 0)
    for by in order:
        kind, _actor, *rest = queues[by][cursor[by]]
        intent = (kind, by, *rest)  # the op is the queue owner's (checkout.start names its requester)
        cursor[by] += 1
        lag = intent[3] % 4
        view = fold(log[: len(log) - lag]) if lag else state
        _, op = resolve(view, history, intent)
        node_lag = intent[2] % 3 if cluster else 0
        checked = fold(log[: len(log) - node_lag]) if node_lag else state
        rejection = check_rules(checked, by, op) or check_limits(checked, op, LIMITS)
        if rejection is not None:
            refused.append((by, op, rejection))
            continue
        event = Event(seq=state.seq + 1, ts=1000 * (state.seq + 1), by=by, op=op)
        apply(state, event)
        history.record(state, event)
        log.append(event)
    return log, state, refused


@st.composite
def interleavings(draw: st.DrawFn) -> tuple[dict[str, list[Intent]], list[str]]:
    """Each writer's queue of ops, and a random order in which the sequencer takes them."""
    queues = {by: draw(intent_lists(CLIENT_KINDS, min_ops=2, max_ops=12)) for by in WRITERS}
    total = sum(map(len, queues.values()))
    choices = draw(st.binary(min_size=total, max_size=total))
    left = {by: len(ops) for by, ops in queues.items() if ops}
    order = []
    for c in choices:
        by = sorted(left)[c % len(left)]
        order.append(by)
        left[by] -= 1
        if not left[by]:
            del left[by]
    return queues, order


@SETTINGS
@pytest.mark.parametrize("cluster", [False, True], ids=["one-node", "cluster"])
@given(interleavings(), st.lists(st.tuples(st.integers(0, 100), st.booleans()), min_size=3, max_size=3))
def test_random_interleavings_converge_on_every_replica(
    cluster: bool, plan: tuple[dict[str, list[Intent]], list[str]], replicas: list[tuple[int, bool]]
) -> None:
    queues, order = plan
    log, sequencer_state, refused = sequence(queues, order, cluster=cluster)

    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert len(log) - len(setup_events()) + len(refused) == len(order)
    assert all(e.by != VIEWER for e in log)
    if not cluster:  # exact checks: limits hold
        assert len(sequencer_state.cart) <= LIMITS.max_cart_lines
    assert all(len(m.text) <= LIMITS.max_chat_chars for m in sequencer_state.chat)

    for at, use_json in replicas:
        # each replica joins at its own point: a snapshot over the wire, then the tail
        k = at * len(log) // 100
        codec = JSON if use_json else MSGPACK
        welcome = Welcome(
            room="r", member="m", role="member", epoch="e", seq=k, recovered=False, snapshot=fold(log[:k])
        )
        received = codec.decode_server(codec.encode(welcome))
        assert isinstance(received, Welcome) and received.snapshot is not None
        replica = received.snapshot
        for event in log[k:]:
            # with exact checks, a sequenced log holds no op that is invalid at its position
            assert cluster or check_rules(replica, event.by, event.op) is None
            apply(replica, event)
        assert replica == sequencer_state
