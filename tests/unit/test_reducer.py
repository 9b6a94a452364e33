"""The room reducer, one rule at a time (hand-written cases; vectors and properties elsewhere)."""

from __future__ import annotations

import msgspec
import pytest

from protocol.errors import ErrorCode
from protocol.messages import (
    CartAdd,
    CartLine,
    CartQty,
    CartRemove,
    Chat,
    Event,
    EventBody,
    MemberInfo,
    MemberJoin,
    MemberKick,
    Product,
    React,
    RoomCreate,
    RoomLock,
    RoomRename,
    RoomState,
    Vote,
)
from protocol.reducer import (
    CHAT_KEEP,
    MAX_QTY,
    MAX_REACTIONS_PER_MESSAGE,
    RoomLimits,
    apply,
    check_limits,
    check_rules,
    copy_state,
    find_chat,
    find_line,
    fold,
)

SHIRT = Product(id="sku-1", name="Shirt", price=4900, currency="EUR")
SHIRT_M = msgspec.structs.replace(SHIRT, variant="M")
MUG = Product(id="sku-2", name="Mug", price=900, currency="EUR")
OWNER, MEMBER, ASSOC, VIEWER, OUTSIDER = "ana", "bo", "cy", "vic", "zed"


class Room:
    """A room under test: ``do`` sequences an event and folds it, like a replica."""

    def __init__(self, *, members: bool = True) -> None:
        self.state = RoomState()
        self.events: list[Event] = []
        self.do("", RoomCreate(name="Trip", owner=OWNER, owner_name="Ana"))
        if members:
            self.do("", MemberJoin(member=MEMBER, name="Bo", role="member"))
            self.do("", MemberJoin(member=ASSOC, name="Cy", role="associate"))
            self.do("", MemberJoin(member=VIEWER, name="Vic", role="viewer"))

    def do(self, by: str, op: EventBody) -> int:
        seq = self.state.seq + 1
        event = Event(seq=seq, ts=1000 * seq, by=by, op=op)
        self.events.append(event)
        apply(self.state, event)
        return seq

    def refused(self, by: str, op: EventBody, code: ErrorCode) -> None:
        """``op`` is refused with ``code``, and folding it anyway changes nothing but seq."""
        rejection = check_rules(self.state, by, op)
        assert rejection is not None and rejection.code is code, rejection
        before = copy_state(self.state)
        seq = self.do(by, op)
        before.seq = seq
        assert self.state == before

    def line(self, line: int) -> CartLine:
        found = find_line(self.state, line)
        assert found is not None
        return found


# ---- room.create / member.join -------------------------------------------------------------


def test_room_create_sets_name_owner_and_owner_member() -> None:
    room = Room(members=False)
    assert room.state == RoomState(
        seq=1, name="Trip", owner=OWNER, members={OWNER: MemberInfo(name="Ana", role="owner")}
    )


def test_room_create_only_as_first_event() -> None:
    room = Room(members=False)
    room.refused("", RoomCreate(name="Again", owner=OUTSIDER, owner_name="Z"), ErrorCode.FORBIDDEN)
    late = RoomState(seq=1)
    assert check_rules(late, "", RoomCreate(name="x", owner="o", owner_name="")) is not None


def test_member_join_adds_member_with_role() -> None:
    room = Room()
    assert room.state.members[MEMBER] == MemberInfo(name="Bo", role="member")
    assert room.state.members[ASSOC].role == "associate"
    assert room.state.members[VIEWER].role == "viewer"
    assert list(room.state.members) == [OWNER, MEMBER, ASSOC, VIEWER]


def test_member_join_only_from_the_server() -> None:
    room = Room()
    room.refused(MEMBER, MemberJoin(member="new", name="N", role="member"), ErrorCode.FORBIDDEN)
    assert "new" not in room.state.members


def test_member_join_again_replaces_name_and_role() -> None:
    room = Room()
    room.do("", MemberJoin(member=MEMBER, name="Bo B.", role="viewer"))
    assert room.state.members[MEMBER] == MemberInfo(name="Bo B.", role="viewer")


def test_kicked_member_cannot_rejoin() -> None:
    room = Room()
    room.do(OWNER, MemberKick(member=MEMBER))
    room.refused("", MemberJoin(member=MEMBER, name="Bo", role="member"), ErrorCode.KICKED)
    assert room.state.members[MEMBER].kicked


# ---- cart ------------------------------------------------------------------------------------


def test_cart_add_line_id_is_its_seq() -> None:
    room = Room()
    seq = room.do(MEMBER, CartAdd(product=SHIRT, qty=2))
    assert room.state.cart == [CartLine(line=seq, product=SHIRT, qty=2, added_by=MEMBER)]


def test_cart_add_same_product_and_variant_merges() -> None:
    room = Room()
    first = room.do(MEMBER, CartAdd(product=SHIRT, qty=2))
    room.do(ASSOC, CartAdd(product=msgspec.structs.replace(SHIRT, price=1, name="Other"), qty=3))
    assert room.state.cart == [CartLine(line=first, product=SHIRT, qty=5, added_by=MEMBER)]


def test_cart_add_other_variant_is_another_line() -> None:
    room = Room()
    a = room.do(MEMBER, CartAdd(product=SHIRT))
    b = room.do(MEMBER, CartAdd(product=SHIRT_M))
    c = room.do(MEMBER, CartAdd(product=msgspec.structs.replace(SHIRT, variant="")))
    assert [item.line for item in room.state.cart] == [a, b, c]


def test_cart_add_merge_caps_at_999() -> None:
    room = Room()
    line = room.do(MEMBER, CartAdd(product=SHIRT, qty=998))
    room.do(MEMBER, CartAdd(product=SHIRT, qty=998))
    assert room.line(line).qty == MAX_QTY == 999


def test_cart_qty_sets_the_quantity() -> None:
    room = Room()
    line = room.do(MEMBER, CartAdd(product=SHIRT, qty=4))
    room.do(ASSOC, CartQty(line=line, qty=1))
    assert room.line(line).qty == 1


def test_cart_remove_then_add_creates_a_new_line() -> None:
    room = Room()
    old = room.do(MEMBER, CartAdd(product=SHIRT))
    room.do(MEMBER, CartRemove(line=old))
    assert room.state.cart == []
    new = room.do(MEMBER, CartAdd(product=SHIRT))
    assert [item.line for item in room.state.cart] == [new] and new != old


def test_cart_remove_keeps_the_order_of_the_other_lines() -> None:
    room = Room()
    a = room.do(MEMBER, CartAdd(product=SHIRT))
    b = room.do(MEMBER, CartAdd(product=MUG))
    c = room.do(MEMBER, CartAdd(product=SHIRT_M))
    room.do(MEMBER, CartRemove(line=b))
    assert [item.line for item in room.state.cart] == [a, c]


@pytest.mark.parametrize(
    "op",
    [CartQty(line=5, qty=2), CartRemove(line=5), Vote(line=5, value="up")],
    ids=["qty", "remove", "vote"],
)
def test_ops_on_a_removed_line_are_noops(op: EventBody) -> None:
    room = Room()
    assert room.do(MEMBER, CartAdd(product=SHIRT)) == 5
    room.do(MEMBER, CartRemove(line=5))
    room.refused(ASSOC, op, ErrorCode.NOT_FOUND)


def test_ops_on_a_line_that_never_existed_are_noops() -> None:
    room = Room()
    room.refused(MEMBER, CartQty(line=99, qty=1), ErrorCode.NOT_FOUND)


# ---- votes -----------------------------------------------------------------------------------


def test_votes_up_down_clear() -> None:
    room = Room()
    line = room.do(MEMBER, CartAdd(product=SHIRT))
    room.do(MEMBER, Vote(line=line, value="up"))
    room.do(ASSOC, Vote(line=line, value="down"))
    room.do(OWNER, Vote(line=line, value="up"))
    assert room.line(line).votes == {MEMBER: 1, ASSOC: -1, OWNER: 1}
    room.do(MEMBER, Vote(line=line, value="down"))
    room.do(OWNER, Vote(line=line, value="clear"))
    assert room.line(line).votes == {MEMBER: -1, ASSOC: -1}
    room.do(OWNER, Vote(line=line, value="clear"))  # nothing to clear
    assert room.line(line).votes == {MEMBER: -1, ASSOC: -1}


def test_votes_survive_a_merge() -> None:
    room = Room()
    line = room.do(MEMBER, CartAdd(product=SHIRT))
    room.do(ASSOC, Vote(line=line, value="up"))
    room.do(OWNER, CartAdd(product=SHIRT))
    assert room.line(line).votes == {ASSOC: 1} and room.line(line).qty == 2


# ---- chat and reactions -----------------------------------------------------------------------


def test_chat_id_is_its_seq_and_ts_is_the_event_ts() -> None:
    room = Room()
    first = room.do(MEMBER, Chat(text="hi"))
    second = room.do(OWNER, Chat(text="this", product=MUG, reply_to=first))
    assert [(m.id, m.by, m.ts, m.text) for m in room.state.chat] == [
        (first, MEMBER, 1000 * first, "hi"),
        (second, OWNER, 1000 * second, "this"),
    ]
    assert room.state.chat[1].product == MUG and room.state.chat[1].reply_to == first
    assert find_chat(room.state, second) is room.state.chat[1]
    assert find_chat(room.state, second + 1) is None


def test_chat_reply_to_a_missing_message_is_a_noop() -> None:
    room = Room()
    line = room.do(MEMBER, CartAdd(product=SHIRT))
    room.refused(MEMBER, Chat(text="re", reply_to=99), ErrorCode.NOT_FOUND)
    room.refused(MEMBER, Chat(text="re", reply_to=line), ErrorCode.NOT_FOUND)  # not a chat message


def test_chat_keeps_only_the_last_chat_keep_messages() -> None:
    assert CHAT_KEEP == 500
    room = Room()
    first = room.state.seq + 1
    for i in range(CHAT_KEEP + 3):
        room.do(MEMBER, Chat(text=str(i)))
    chat = room.state.chat
    assert len(chat) == CHAT_KEEP
    assert chat[0].id == first + 3 and chat[0].text == "3" and chat[-1].text == str(CHAT_KEEP + 2)
    room.refused(OWNER, React(msg=first + 2, emoji="x"), ErrorCode.NOT_FOUND)
    room.refused(OWNER, Chat(text="late", reply_to=first), ErrorCode.NOT_FOUND)
    room.do(OWNER, React(msg=first + 3, emoji="x"))
    assert room.state.chat[0].reactions == {"x": [OWNER]}


def test_react_on_and_off() -> None:
    room = Room()
    msg = room.do(MEMBER, Chat(text="look"))
    room.do(MEMBER, React(msg=msg, emoji="👍"))
    room.do(ASSOC, React(msg=msg, emoji="👍"))
    room.do(OWNER, React(msg=msg, emoji="🔥"))
    room.do(ASSOC, React(msg=msg, emoji="👍"))  # already on: unchanged, no duplicate
    message = room.state.chat[0]
    assert message.reactions == {"👍": [MEMBER, ASSOC], "🔥": [OWNER]}
    room.do(MEMBER, React(msg=msg, emoji="👍", on=False))
    room.do(OWNER, React(msg=msg, emoji="🔥", on=False))
    room.do(OWNER, React(msg=msg, emoji="😮", on=False))  # not on: unchanged
    assert room.state.chat[0].reactions == {"👍": [ASSOC]}


def test_react_on_a_missing_message_is_a_noop() -> None:
    room = Room()
    room.refused(MEMBER, React(msg=42, emoji="👍"), ErrorCode.NOT_FOUND)
    room.refused(MEMBER, React(msg=42, emoji="👍", on=False), ErrorCode.NOT_FOUND)


def test_react_distinct_emoji_limit() -> None:
    room = Room()
    msg = room.do(MEMBER, Chat(text="x"))
    for i in range(MAX_REACTIONS_PER_MESSAGE):
        room.do(OWNER, React(msg=msg, emoji=f"e{i}"))
    room.refused(MEMBER, React(msg=msg, emoji="one-more"), ErrorCode.FORBIDDEN)
    room.do(MEMBER, React(msg=msg, emoji="e0"))
    room.do(MEMBER, React(msg=msg, emoji="one-more", on=False))  # off is always fine
    assert len(room.state.chat[0].reactions) == MAX_REACTIONS_PER_MESSAGE


# ---- owner ops, lock, kick ---------------------------------------------------------------------


def test_room_rename_owner_only() -> None:
    room = Room()
    room.do(OWNER, RoomRename(name="Brunch"))
    assert room.state.name == "Brunch"
    room.refused(MEMBER, RoomRename(name="Mine"), ErrorCode.FORBIDDEN)
    room.refused(ASSOC, RoomRename(name="Store"), ErrorCode.FORBIDDEN)


def test_room_lock_owner_only() -> None:
    room = Room()
    room.refused(MEMBER, RoomLock(locked=True), ErrorCode.FORBIDDEN)
    room.do(OWNER, RoomLock(locked=True))
    assert room.state.locked
    room.do(OWNER, RoomLock(locked=False))
    assert not room.state.locked


def test_locked_room_refuses_cart_ops_of_non_owners() -> None:
    room = Room()
    line = room.do(MEMBER, CartAdd(product=SHIRT))
    room.do(OWNER, RoomLock(locked=True))
    room.refused(MEMBER, CartAdd(product=MUG), ErrorCode.ROOM_LOCKED)
    room.refused(ASSOC, CartQty(line=line, qty=3), ErrorCode.ROOM_LOCKED)
    room.refused(MEMBER, CartRemove(line=line), ErrorCode.ROOM_LOCKED)
    # votes, chat and the owner's cart edits still go through
    room.do(MEMBER, Vote(line=line, value="up"))
    room.do(MEMBER, Chat(text="why?"))
    room.do(OWNER, CartQty(line=line, qty=3))
    room.do(OWNER, CartAdd(product=MUG))
    assert [(item.line, item.qty) for item in room.state.cart] == [(line, 3), (room.state.seq, 1)]
    room.do(OWNER, RoomLock(locked=False))
    room.do(MEMBER, CartRemove(line=line))
    assert len(room.state.cart) == 1


def test_kick_marks_the_member_and_keeps_contributions() -> None:
    room = Room()
    line = room.do(MEMBER, CartAdd(product=SHIRT))
    room.do(MEMBER, Vote(line=line, value="up"))
    room.do(MEMBER, Chat(text="hi"))
    room.do(OWNER, MemberKick(member=MEMBER))
    assert room.state.members[MEMBER] == MemberInfo(name="Bo", role="member", kicked=True)
    assert room.line(line).added_by == MEMBER and room.line(line).votes == {MEMBER: 1}
    assert room.state.chat[0].by == MEMBER


@pytest.mark.parametrize(
    "op",
    [CartAdd(product=MUG), Chat(text="still here"), RoomRename(name="x"), Vote(line=5, value="down")],
    ids=["cart.add", "chat", "rename", "vote"],
)
def test_kicked_member_ops_are_noops(op: EventBody) -> None:
    room = Room()
    assert room.do(MEMBER, CartAdd(product=SHIRT)) == 5
    room.do(OWNER, MemberKick(member=MEMBER))
    room.refused(MEMBER, op, ErrorCode.KICKED)


def test_kick_rules() -> None:
    room = Room()
    room.refused(MEMBER, MemberKick(member=ASSOC), ErrorCode.FORBIDDEN)
    room.refused(OWNER, MemberKick(member=OWNER), ErrorCode.FORBIDDEN)
    room.refused(OWNER, MemberKick(member=OUTSIDER), ErrorCode.NOT_FOUND)
    room.do(OWNER, MemberKick(member=VIEWER))
    room.refused(OWNER, MemberKick(member=VIEWER), ErrorCode.NOT_FOUND)


@pytest.mark.parametrize(
    "op",
    [
        CartAdd(product=MUG),
        CartQty(line=5, qty=2),
        CartRemove(line=5),
        Vote(line=5, value="up"),
        Chat(text="hi"),
        RoomRename(name="x"),
        RoomLock(locked=True),
        MemberKick(member=MEMBER),
    ],
    ids=lambda op: type(op).__name__,
)
def test_viewer_ops_are_noops(op: EventBody) -> None:
    room = Room()
    assert room.do(MEMBER, CartAdd(product=SHIRT)) == 5
    room.refused(VIEWER, op, ErrorCode.FORBIDDEN)


def test_viewer_react_is_a_noop() -> None:
    room = Room()
    msg = room.do(MEMBER, Chat(text="x"))
    room.refused(VIEWER, React(msg=msg, emoji="👍"), ErrorCode.FORBIDDEN)


@pytest.mark.parametrize("by", [OUTSIDER, ""], ids=["outsider", "server"])
def test_non_member_ops_are_noops(by: str) -> None:
    room = Room()
    room.refused(by, CartAdd(product=SHIRT), ErrorCode.FORBIDDEN)
    room.refused(by, Chat(text="hi"), ErrorCode.FORBIDDEN)


def test_ops_before_room_create_are_noops() -> None:
    state = fold([Event(seq=1, ts=1, by=OWNER, op=CartAdd(product=SHIRT))])
    assert state == RoomState(seq=1)


def test_associate_has_member_rights() -> None:
    room = Room()
    line = room.do(ASSOC, CartAdd(product=SHIRT))
    room.do(ASSOC, CartQty(line=line, qty=3))
    room.refused(ASSOC, RoomLock(locked=True), ErrorCode.FORBIDDEN)


# ---- seq, limits, fold, copies ---------------------------------------------------------------


def test_refused_event_still_consumes_its_seq() -> None:
    room = Room()
    seq = room.do(VIEWER, CartAdd(product=SHIRT))
    assert room.state.seq == seq and room.state.cart == []
    nxt = room.do(MEMBER, CartAdd(product=SHIRT))
    assert room.state.cart[0].line == nxt == seq + 1


def test_apply_returns_the_same_state_object() -> None:
    state = RoomState()
    assert apply(state, Event(seq=1, ts=0, by="", op=RoomCreate(name="r", owner="o", owner_name=""))) is state


def test_check_limits_cart_full_counts_lines_not_merges() -> None:
    limits = RoomLimits(max_cart_lines=2, max_chat_chars=5)
    room = Room()
    room.do(MEMBER, CartAdd(product=SHIRT))
    assert check_limits(room.state, CartAdd(product=MUG), limits) is None
    room.do(MEMBER, CartAdd(product=MUG))
    full = check_limits(room.state, CartAdd(product=SHIRT_M), limits)
    assert full is not None and full.code is ErrorCode.CART_FULL
    assert check_limits(room.state, CartAdd(product=SHIRT), limits) is None  # merges


def test_check_limits_chat_length() -> None:
    limits = RoomLimits(max_chat_chars=5)
    assert check_limits(RoomState(), Chat(text="12345"), limits) is None
    too_long = check_limits(RoomState(), Chat(text="123456"), limits)
    assert too_long is not None and too_long.code is ErrorCode.TOO_LONG
    assert check_limits(RoomState(), Vote(line=1, value="up"), limits) is None


def test_default_limits() -> None:
    assert RoomLimits() == RoomLimits(max_cart_lines=200, max_chat_chars=2000)


def test_apply_does_not_check_limits() -> None:
    room = Room()
    room.do(MEMBER, Chat(text="x" * 10_000))  # over the default 2000: a sequencer would refuse it
    assert room.state.chat[0].text == "x" * 10_000


def test_fold_equals_stepwise_apply_and_accepts_a_start_state() -> None:
    room = Room()
    line = room.do(MEMBER, CartAdd(product=SHIRT))
    room.do(ASSOC, Vote(line=line, value="up"))
    room.do(MEMBER, Chat(text="x"))
    assert fold(room.events) == room.state
    head = fold(room.events[:3])
    assert fold(room.events[3:], head) is head and head == room.state


def test_copy_state_is_deep() -> None:
    room = Room()
    line = room.do(MEMBER, CartAdd(product=SHIRT))
    msg = room.do(MEMBER, Chat(text="x"))
    copy = copy_state(room.state)
    assert copy == room.state and copy is not room.state
    room.do(OWNER, Vote(line=line, value="up"))
    room.do(OWNER, React(msg=msg, emoji="x"))
    room.do(OWNER, MemberKick(member=MEMBER))
    room.do(OWNER, CartQty(line=line, qty=7))
    assert copy.cart[0].votes == {} and copy.cart[0].qty == 1
    assert copy.chat[0].reactions == {} and not copy.members[MEMBER].kicked
