"""The room reducer: the pure fold ``state = apply(state, event)``.

Shared by the server, the Python client and (reimplemented, checked against
``protocol/vectors``) the JS client. Nothing here awaits or does I/O.

Two checks guard an op:

* ``check_rules(state, by, op)`` — permission and existence rules that depend only on the
  state. ``apply`` re-runs them, so an event that is invalid at its position folds as a
  documented no-op (its ``seq`` is still consumed): replicas never diverge.
* ``check_limits(state, op, limits)`` — room limits (cart size, chat length). The
  sequencer runs them before an op gets a ``seq``; ``apply`` does not, so every replica
  folds the same log to the same state whatever limits it was configured with. A
  cluster sequencer checks on a replica that may lag: ``limit_slack`` says how far it may
  lag before the check has to be made again (SPEC 8.3).

``apply`` mutates ``state`` in place and returns it (rooms hold long chats; copying on
every event would cost O(history)). Callers that need the old state keep a copy
(``msgspec.structs.replace`` / ``copy_state``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import msgspec

from protocol.errors import ErrorCode
from protocol.messages import (
    ActiveCall,
    CallEnd,
    CallStart,
    CartAdd,
    CartLine,
    CartQty,
    CartRemove,
    CartRevalidate,
    Chat,
    ChatMessage,
    CheckoutRecord,
    CheckoutRequest,
    CheckoutStart,
    Event,
    EventBody,
    HelpClaim,
    HelpClose,
    HelpEscalate,
    HelpRequest,
    HelpRequestInfo,
    LogGap,
    MemberErase,
    MemberInfo,
    MemberJoin,
    MemberKick,
    PriceChange,
    React,
    RoomClose,
    RoomCreate,
    RoomLock,
    RoomRename,
    RoomState,
    Vote,
)

CHAT_KEEP = 500  # chat messages kept in the state; older ones leave the snapshot
MAX_QTY = 999
MAX_REACTIONS_PER_MESSAGE = 32  # distinct emoji on one message
ERASED_TEXT = "[erased]"  # member.erase: the text of every chat message of the erased member
CHECKOUTS_KEEP = 20  # checkout records kept in the state; the snapshots stay in the log
HELP_CLOSED_KEEP = 5  # closed help requests kept in the state (SPEC 21); open ones always stay

CART_OPS = (CartAdd, CartQty, CartRemove)
OWNER_OPS = (RoomRename, RoomLock, MemberKick)


@dataclass(frozen=True)
class RoomLimits:
    max_cart_lines: int = 200
    max_chat_chars: int = 2000


@dataclass(frozen=True)
class Rejection:
    code: ErrorCode
    message: str


def find_line(state: RoomState, line: int) -> CartLine | None:
    for item in state.cart:
        if item.line == line:
            return item
    return None


def find_chat(state: RoomState, msg_id: int) -> ChatMessage | None:
    chat = state.chat
    i = bisect.bisect_left(chat, msg_id, key=lambda m: m.id)
    if i < len(chat) and chat[i].id == msg_id:
        return chat[i]
    return None


def _merge_target(state: RoomState, op: CartAdd) -> CartLine | None:
    for item in state.cart:
        if item.product.id == op.product.id and item.product.variant == op.product.variant:
            return item
    return None


def checkout_lines(state: RoomState, by: str, scope: str) -> list[CartLine]:
    """The cart lines a checkout of ``scope`` by ``by`` takes: all, or the ones ``by`` added."""
    return [item for item in state.cart if scope == "all" or item.added_by == by]


def _check_checkout(state: RoomState, by: str, op: CheckoutRequest | CheckoutStart) -> Rejection | None:
    if op.scope == "all" and by != state.owner:
        return Rejection(ErrorCode.FORBIDDEN, "only the room owner can check out the whole cart")
    if isinstance(op, CheckoutStart):
        if op.requested_by != by:
            return Rejection(ErrorCode.FORBIDDEN, "checkout.start names another requester")
        if not op.lines:
            return Rejection(ErrorCode.EMPTY_CHECKOUT, "the checkout holds no line")
    elif not checkout_lines(state, by, op.scope):
        return Rejection(ErrorCode.EMPTY_CHECKOUT, "no cart line to check out")
    return None


def check_rules(state: RoomState, by: str, op: EventBody | CheckoutRequest) -> Rejection | None:
    """Why ``by`` may not do ``op`` against ``state``, or None if it may."""
    if isinstance(op, RoomCreate):
        return None if state.seq == 0 and not state.owner else Rejection(ErrorCode.FORBIDDEN, "room exists")
    if isinstance(op, LogGap):
        return None if by == "" else Rejection(ErrorCode.FORBIDDEN, "log.gap is a server event")
    if isinstance(op, MemberErase):  # allowed in a closed room too: erasure must always work
        if by != "":
            return Rejection(ErrorCode.FORBIDDEN, "member.erase is a server event")
        if op.member not in state.members:
            return Rejection(ErrorCode.NOT_FOUND, f"member {op.member} is not in the room")
        return None
    if state.closed:
        return Rejection(ErrorCode.ROOM_CLOSED, "the room is closed")
    if isinstance(op, RoomClose):
        return None if by == "" else Rejection(ErrorCode.FORBIDDEN, "room.close is a server event")
    if isinstance(op, CartRevalidate):
        if by != "":
            return Rejection(ErrorCode.FORBIDDEN, "cart.revalidate is a server event")
        return None if find_line(state, op.line) is not None else Rejection(ErrorCode.NOT_FOUND, "line is gone")
    if isinstance(op, MemberJoin):
        if by != "":
            return Rejection(ErrorCode.FORBIDDEN, "member.join is a server event")
        existing = state.members.get(op.member)
        if existing is not None and existing.kicked:
            return Rejection(ErrorCode.KICKED, "member was kicked")
        return None
    if isinstance(op, (CallStart, CallEnd)):
        return _check_call(state, by, op)
    if isinstance(op, (HelpClaim, HelpEscalate, HelpClose)):
        return _check_help(state, by, op)
    member = state.members.get(by)
    if member is None:
        return Rejection(ErrorCode.FORBIDDEN, "not a member of this room")
    if member.kicked:
        return Rejection(ErrorCode.KICKED, "you were removed from this room")
    if member.role == "viewer":
        return Rejection(ErrorCode.FORBIDDEN, "viewers cannot change the room")
    is_owner = by == state.owner
    if isinstance(op, OWNER_OPS) and not is_owner:
        return Rejection(ErrorCode.FORBIDDEN, "only the room owner can do this")
    if isinstance(op, CART_OPS) and state.locked and not is_owner:
        return Rejection(ErrorCode.ROOM_LOCKED, "the room is locked by its owner")
    if isinstance(op, (CartQty, CartRemove, Vote)):
        if find_line(state, op.line) is None:
            return Rejection(ErrorCode.NOT_FOUND, f"cart line {op.line} is gone")
    elif isinstance(op, Chat):
        if op.reply_to is not None and find_chat(state, op.reply_to) is None:
            return Rejection(ErrorCode.NOT_FOUND, f"chat message {op.reply_to} is gone")
    elif isinstance(op, React):
        msg = find_chat(state, op.msg)
        if msg is None:
            return Rejection(ErrorCode.NOT_FOUND, f"chat message {op.msg} is gone")
        if op.on and op.emoji not in msg.reactions and len(msg.reactions) >= MAX_REACTIONS_PER_MESSAGE:
            return Rejection(ErrorCode.FORBIDDEN, "too many different reactions on this message")
    elif isinstance(op, MemberKick):
        target = state.members.get(op.member)
        if target is None or target.kicked:
            return Rejection(ErrorCode.NOT_FOUND, f"member {op.member} is not in the room")
        if op.member == state.owner:
            return Rejection(ErrorCode.FORBIDDEN, "the owner cannot be kicked")
    elif isinstance(op, (CheckoutRequest, CheckoutStart)):
        return _check_checkout(state, by, op)
    elif isinstance(op, HelpRequest) and any(h.state != "closed" for h in state.help):
        return Rejection(ErrorCode.HELP_PENDING, "this room already has a help request open")
    return None


def find_help(state: RoomState, request: int) -> HelpRequestInfo | None:
    for item in state.help:
        if item.id == request:
            return item
    return None


def _check_help(state: RoomState, by: str, op: HelpClaim | HelpEscalate | HelpClose) -> Rejection | None:
    """help.claim / help.escalate / help.close: server ops on an existing request (SPEC 21)."""
    if by != "":
        return Rejection(ErrorCode.FORBIDDEN, f"{op.__struct_config__.tag} is a server event")
    item = find_help(state, op.request)
    if item is None:
        return Rejection(ErrorCode.NOT_FOUND, f"help request {op.request} is gone")
    if isinstance(op, HelpClaim):
        if item.state != "open":
            return Rejection(ErrorCode.ALREADY_CLAIMED, "this help request is already taken")
        return None
    if isinstance(op, HelpEscalate):
        if item.state != "open" or op.level <= item.level:
            return Rejection(ErrorCode.NOT_FOUND, "this help request is not waiting at a lower level")
        return None
    return None if item.state != "closed" else Rejection(ErrorCode.NOT_FOUND, "this help request is closed")


def _check_call(state: RoomState, by: str, op: CallStart | CallEnd) -> Rejection | None:
    """call.start / call.end: server events; a start needs an idle call, an end an active one."""
    if by != "":
        return Rejection(ErrorCode.FORBIDDEN, f"{op.__struct_config__.tag} is a server event")
    if isinstance(op, CallStart):
        return None if state.call is None else Rejection(ErrorCode.FORBIDDEN, "a call is already active")
    return None if state.call is not None else Rejection(ErrorCode.NOT_FOUND, "no call is active")


def check_limits(state: RoomState, op: EventBody | CheckoutRequest, limits: RoomLimits) -> Rejection | None:
    """Room limits, checked by the sequencer only (see module docstring)."""
    if isinstance(op, CartAdd):
        if _merge_target(state, op) is None and len(state.cart) >= limits.max_cart_lines:
            return Rejection(ErrorCode.CART_FULL, f"the cart holds at most {limits.max_cart_lines} lines")
    elif isinstance(op, Chat) and len(op.text) > limits.max_chat_chars:
        return Rejection(ErrorCode.TOO_LONG, f"chat text is limited to {limits.max_chat_chars} characters")
    return None


def apply(state: RoomState, event: Event) -> RoomState:
    """Fold one event into ``state`` (in place) and return it.

    An op that breaks ``check_rules`` at its position is a no-op; ``state.seq`` still
    advances to ``event.seq``. Never raises for any well-typed event.
    """
    op = event.op
    by = event.by
    rejected = check_rules(state, by, op) is not None
    state.seq = event.seq
    if rejected:
        return state
    if isinstance(op, CartAdd):
        target = _merge_target(state, op)
        if target is None:
            state.cart.append(CartLine(line=event.seq, product=op.product, qty=op.qty, added_by=by))
        else:
            target.qty = min(MAX_QTY, target.qty + op.qty)
    elif isinstance(op, CartQty):
        line = find_line(state, op.line)
        assert line is not None
        line.qty = op.qty
    elif isinstance(op, CartRemove):
        state.cart = [item for item in state.cart if item.line != op.line]
    elif isinstance(op, Vote):
        line = find_line(state, op.line)
        assert line is not None
        if op.value == "clear":
            line.votes.pop(by, None)
        else:
            line.votes[by] = 1 if op.value == "up" else -1
    elif isinstance(op, Chat):
        state.chat.append(
            ChatMessage(id=event.seq, by=by, ts=event.ts, text=op.text, product=op.product, reply_to=op.reply_to)
        )
        if len(state.chat) > CHAT_KEEP:
            del state.chat[: len(state.chat) - CHAT_KEEP]
    elif isinstance(op, React):
        msg = find_chat(state, op.msg)
        assert msg is not None
        who = msg.reactions.get(op.emoji, [])
        if op.on and by not in who:
            msg.reactions[op.emoji] = [*who, by]
        elif not op.on and by in who:
            rest = [m for m in who if m != by]
            if rest:
                msg.reactions[op.emoji] = rest
            else:
                del msg.reactions[op.emoji]
    elif isinstance(op, RoomRename):
        state.name = op.name
    elif isinstance(op, RoomLock):
        state.locked = op.locked
    elif isinstance(op, MemberKick):
        state.members[op.member].kicked = True
    elif isinstance(op, RoomCreate):
        state.name = op.name
        state.owner = op.owner
        state.members[op.owner] = MemberInfo(name=op.owner_name, role="owner")
    elif isinstance(op, MemberJoin):
        state.members[op.member] = MemberInfo(name=op.name, role=op.role)
    elif isinstance(op, RoomClose):
        state.closed = True
    elif isinstance(op, MemberErase):
        erase_member(state, op.member)
    elif isinstance(op, CartRevalidate):
        line = find_line(state, op.line)
        assert line is not None
        if op.price is not None:
            old = line.product.price
            line.price_changed = None if op.price == old else PriceChange(old=old, new=op.price)
        line.out_of_stock = not op.in_stock
    elif isinstance(op, CheckoutStart):
        state.checkouts.append(
            CheckoutRecord(
                id=op.id,
                seq=event.seq,
                by=by,
                scope=op.scope,
                ts=op.created_at,
                expires_at=op.expires_at,
                lines=len(op.lines),
            )
        )
        if len(state.checkouts) > CHECKOUTS_KEEP:
            del state.checkouts[: len(state.checkouts) - CHECKOUTS_KEEP]
    elif isinstance(op, CallStart):
        state.call = ActiveCall(since=event.ts, by=op.member)
    elif isinstance(op, CallEnd):
        state.call = None
    elif isinstance(op, (HelpRequest, HelpClaim, HelpEscalate, HelpClose)):
        _apply_help(state, event, op)
    return state


def _apply_help(state: RoomState, event: Event, op: HelpRequest | HelpClaim | HelpEscalate | HelpClose) -> None:
    if isinstance(op, HelpRequest):
        state.help.append(
            HelpRequestInfo(
                id=event.seq, by=event.by, ts=event.ts, where=op.where, department=op.department, note=op.note
            )
        )
        return
    item = find_help(state, op.request)
    assert item is not None
    if isinstance(op, HelpClaim):
        item.state = "claimed"
        item.associate = op.associate
        item.associate_name = op.name
    elif isinstance(op, HelpEscalate):
        item.level = op.level
    else:
        item.state = "closed"
        closed = [h for h in state.help if h.state == "closed"]
        if len(closed) > HELP_CLOSED_KEEP:
            dropped = {h.id for h in closed[: len(closed) - HELP_CLOSED_KEEP]}
            state.help = [h for h in state.help if h.id not in dropped]


def erase_member(state: RoomState, member: str) -> None:
    """The effect of ``member.erase``: ``scrub_state``, and the member is kicked and marked
    erased (no way back into the room)."""
    scrub_state(state, member)
    info = state.members.get(member)
    if info is not None:
        info.kicked = True
        info.erased = True


def scrub_state(state: RoomState, member: str) -> None:
    """Tombstone ``member``'s personal data in ``state``, in place: name ``""``, its chat
    messages' text ``ERASED_TEXT`` without product, and cart lines it added lose their
    author. Ids, votes and reactions stay (member ids are opaque). No rule reads these
    fields, so a scrubbed snapshot folds the rest of the log exactly as the original."""
    info = state.members.get(member)
    if info is not None:
        info.name = ""
    for msg in state.chat:
        if msg.by == member:
            msg.text = ERASED_TEXT
            msg.product = None
    for line in state.cart:
        if line.added_by == member:
            line.added_by = ""
    for item in state.help:
        if item.by == member:
            item.note = None


def fold(events: list[Event], state: RoomState | None = None) -> RoomState:
    state = RoomState() if state is None else state
    for event in events:
        apply(state, event)
    return state


_state_encoder = msgspec.msgpack.Encoder()
_state_decoder = msgspec.msgpack.Decoder(RoomState)


def copy_state(state: RoomState) -> RoomState:
    """A deep copy (the state is mutable; products are frozen and shared)."""
    return _state_decoder.decode(_state_encoder.encode(state))


def limit_slack(state: RoomState, op: EventBody, limits: RoomLimits) -> int | None:
    """For a sequencer that checks limits on a replica behind the log (a cluster): how
    many events may be sequenced after ``state`` before ``op`` passing ``check_limits``
    here could break a count limit at its own position. None: no count limit depends on
    where ``op`` lands. Only ``cart.add`` adds a line, at most one per event, so:

    * an add that creates a line (cart at L lines) stays within the limit while fewer
      than ``max_cart_lines - L`` events came between;
    * an add that merges creates a line only if its target was removed in between, so it
      stays within while fewer than ``max_cart_lines - L + 2`` did.
    """
    if isinstance(op, CartAdd):
        free = limits.max_cart_lines - len(state.cart)
        return free + 2 if _merge_target(state, op) is not None else free
    return None
