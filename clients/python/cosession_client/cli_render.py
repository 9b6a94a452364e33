"""Rendering for ``cosession-client`` (pure, no I/O): the room summary, the cart and
chat listings, and one human line (``describe``) or one JSON line (``to_json_line``) per
incoming message. Cart lines are named by their 1-based position, as ``cart`` lists them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import msgspec

from cosession_client.client import Disconnected, Incoming, Resynced, RoomClient
from protocol.messages import (
    CartAdd,
    CartQty,
    CartRemove,
    CartRevalidate,
    Chat,
    CheckoutStart,
    Event,
    FocusSignal,
    FollowSignal,
    LogGap,
    MemberErase,
    MemberJoin,
    MemberKick,
    PollClose,
    PollCreate,
    PollOption,
    PollVote,
    PresenceUpdate,
    QaAnswer,
    QaAsk,
    QaHide,
    QuestionAnswer,
    QuestionAsk,
    QuestionClose,
    React,
    RoomClose,
    RoomCreate,
    RoomLock,
    RoomRename,
    RoomState,
    TypingSignal,
    Vote,
)
from protocol.polls import tally

CHAT_LINES = 10


def money(amount: int, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{units}.{cents:02d} {currency}"


def position_of(state: RoomState, line_id: int) -> int | None:
    """The 1-based position of the line with id ``line_id``, None when it is not in the cart."""
    for position, item in enumerate(state.cart, 1):
        if item.line == line_id:
            return position
    return None


def line_label(state: RoomState, line_id: int, names: Mapping[int, str] | None = None) -> str:
    """``"Trail shoe (line 2)"`` for a line in the cart; its name alone when it is gone."""
    position = position_of(state, line_id)
    if position is not None:
        return f"{state.cart[position - 1].product.name} (line {position})"
    name = (names or {}).get(line_id)
    return f"{name} (no longer in the cart)" if name else "a line no longer in the cart"


def who(state: RoomState, member: str, client: RoomClient | None = None) -> str:
    info = state.members.get(member)
    if info is not None:
        return info.name
    if client is not None and (here := client.presence.get(member)) is not None:
        return here.name
    return member or "server"


def render_cart(state: RoomState) -> list[str]:
    if not state.cart:
        return ["cart: (empty)"]
    lines = ["cart:"]
    totals: dict[str, int] = {}
    for position, item in enumerate(state.cart, 1):
        p = item.product
        score = sum(item.votes.values())
        votes = f"  votes {score:+d}" if item.votes else ""
        variant = f" [{p.variant}]" if p.variant else ""
        price = money(p.price, p.currency)
        each = f"{price} each = {money(p.price * item.qty, p.currency)}" if item.qty != 1 else price
        flags = ""
        if item.price_changed is not None:
            flags += f"  [price now {money(item.price_changed.new, p.currency)}]"
        if item.out_of_stock:
            flags += "  [out of stock]"
        lines.append(
            f"  {f'{position}.':<4} {item.qty:>3} x {p.name}{variant}  {each}  (by {who(state, item.added_by)}){votes}"
            + flags
        )
        totals[p.currency] = totals.get(p.currency, 0) + p.price * item.qty
    lines.append("  total: " + ", ".join(money(v, c) for c, v in sorted(totals.items())))
    return lines


def render_chat(state: RoomState, last: int = CHAT_LINES) -> list[str]:
    if not state.chat:
        return ["chat: (no messages)"]
    return ["chat:"] + [f"  [{m.id}] {who(state, m.by)}: {m.text}" for m in state.chat[-last:]]


def option_label(state: RoomState, option: PollOption) -> str:
    if option.label:
        return option.label
    if option.product is not None:
        return option.product.name
    return line_label(state, option.line or 0)


def render_polls(state: RoomState) -> list[str]:
    """Open polls with their live tally, then closed ones with their result (SPEC 17)."""
    out = []
    for poll in state.polls:
        counts = poll.tally if poll.closed else tally(poll)
        choices = ", ".join(f"{i + 1}) {option_label(state, o)} [{counts[i]}]" for i, o in enumerate(poll.options))
        if poll.closed:
            result = "tie, no winner" if poll.winner is None else f"winner {poll.winner + 1}"
            status = f"closed, {result}"
        else:
            status = f"open until {poll.deadline}"
        out.append(f"  poll #{poll.id} by {who(state, poll.by)}: {poll.question} ({status}): {choices}")
    return ["polls:", *out] if out else []


def render_who(client: RoomClient) -> list[str]:
    here = [
        f"{p.name} ({p.role}, {p.device}{', away' if p.away else ''})"
        for p in client.presence.values()
        if p.member != client.member
    ]
    me = f"{who(client.state, client.member, client)} (you)"
    return ["here: " + ", ".join([me, *here])]


def render_room(client: RoomClient) -> list[str]:
    state = client.state
    me = who(state, client.member, client)
    head = f'room "{state.name}" ({client.room}), you are {me} ({client.role}), seq {client.seq}'
    if state.locked:
        head += ", locked"
    since = client.since_last_visit  # SPEC 15: what changed while this member was away
    news = [f"{since.messages} new messages"] if since.messages else []
    news += [f"{since.cart} cart changes"] if since.cart else []
    summary = [f"since you were here: {', '.join(news)}"] if news else []
    return [head, *summary, *render_cart(state), *render_polls(state), *render_chat(state), *render_who(client)]


def describe_event(event: Event, state: RoomState, names: Mapping[int, str] | None = None) -> str:
    """One line for ``event``; cart lines are named by product and position in ``state``
    (``names``: product names of lines seen before, for lines removed since)."""
    by = who(state, event.by)
    op = event.op
    text = f"{by}: {type(op).__name__}"  # a body this version does not describe
    if isinstance(op, CartAdd):
        text = f"{by} added {op.qty} x {op.product.name} ({money(op.product.price, op.product.currency)})"
    elif isinstance(op, CartQty):
        text = f"{by} set {line_label(state, op.line, names)} to {op.qty}"
    elif isinstance(op, CartRemove):
        name = (names or {}).get(op.line)
        text = f"{by} removed {name} from the cart" if name else f"{by} removed a cart line"
    elif isinstance(op, Vote):
        label = line_label(state, op.line, names)
        text = f"{by} cleared their vote on {label}" if op.value == "clear" else f"{by} voted {op.value} on {label}"
    elif isinstance(op, Chat):
        about = f" (about {op.product.name})" if op.product else ""
        reply = f" (re #{op.reply_to})" if op.reply_to else ""
        text = f"{by}{reply}: {op.text}{about}"
    elif isinstance(op, React):
        text = f"{by} {'reacted' if op.on else 'took back'} {op.emoji} on message #{op.msg}"
    elif isinstance(op, QuestionAsk):
        about = f" (about {line_label(state, op.line, names)})" if op.line else ""
        text = f"{by} asked {', '.join(who(state, m) for m in op.to)}: {op.text}{about}"
    elif isinstance(op, QuestionAnswer):
        text = f"{by} answered question #{op.question}: {op.text}"
    elif isinstance(op, QuestionClose):
        text = f"{by} closed question #{op.question}"
    elif isinstance(op, RoomRename):
        text = f'{by} renamed the room to "{op.name}"'
    elif isinstance(op, RoomLock):
        text = f"{by} {'locked' if op.locked else 'unlocked'} the room"
    elif isinstance(op, MemberKick):
        text = f"{by} removed {who(state, op.member)} from the room"
    elif isinstance(op, RoomCreate):
        text = f'{op.owner_name} created the room "{op.name}"'
    elif isinstance(op, MemberJoin):
        text = f"{op.name} joined as {op.role}"
    elif isinstance(op, LogGap):
        text = "(an event lost by the server; the room was reloaded)"
    elif isinstance(op, RoomClose):
        text = "the room was closed" + (f" ({op.reason})" if op.reason else "")
    elif isinstance(op, MemberErase):
        text = f"the personal data of {op.member} was erased"
    elif isinstance(op, CheckoutStart):
        text = f"checkout started by {op.requested_by_name or by} ({len(op.lines)} lines)"
    elif isinstance(op, PollCreate):
        text = f"{by} asked: {op.question} ({len(op.options)} options)"
    elif isinstance(op, PollVote):
        choice = "cleared their vote" if op.option is None else f"voted for option {op.option + 1}"
        text = f"{by} {choice} in poll #{op.poll}"
    elif isinstance(op, PollClose):
        text = f"poll #{op.poll} closed: " + ("no winner" if op.winner is None else f"option {op.winner + 1} won")
    elif isinstance(op, CartRevalidate):
        line = line_label(state, op.line, names)
        text = f"{line}: {'out of stock' if not op.in_stock else 'in stock'}"
        if op.price is not None:
            text += f", price now {op.price}"
    elif isinstance(op, QaAsk):
        text = f"{by} asked past buyers about {op.product.name}: {op.text}"
    elif isinstance(op, QaAnswer):
        text = f"{op.name} (verified buyer) answered: {op.text}"
    elif isinstance(op, QaHide):
        text = "the shop hid a buyer's answer"
    return f"[{event.seq}] {text}"


def describe(msg: Incoming, client: RoomClient, names: Mapping[int, str] | None = None) -> str | None:
    """One human line for an incoming message, or None for noise (presence updates)."""
    state = client.state
    if isinstance(msg, Event):
        return describe_event(msg, state, names)
    if isinstance(msg, PresenceUpdate):
        if msg.member.member == client.member:
            return None
        name = msg.member.name
        if msg.kind == "join":
            return f"* {name} is here ({msg.member.device})"
        return f"* {name} left" if msg.kind == "leave" else None
    if isinstance(msg, FocusSignal):
        name = who(state, msg.member, client)
        return f"* {name} looks at {msg.product.name}" if msg.product else f"* {name} looks away"
    if isinstance(msg, TypingSignal):
        return f"* {who(state, msg.member, client)} is typing..." if msg.on else None
    if isinstance(msg, FollowSignal):
        name = who(state, msg.member, client)
        return f"* {name} follows {who(state, msg.target, client)}" if msg.target else f"* {name} stops following"
    if isinstance(msg, Resynced):
        how = "resumed" if msg.recovered else "reloaded the room"
        return f"* reconnected: {how} at seq {msg.seq}"
    if isinstance(msg, Disconnected):
        why = f"{msg.code} {msg.reason}".strip()
        return f"* connection lost ({why})" + (", reconnecting..." if msg.retrying else "")
    return None


def to_json_line(msg: Incoming) -> str:
    if isinstance(msg, Resynced):
        data: object = {"t": "resynced", "recovered": msg.recovered, "epoch": msg.epoch, "seq": msg.seq}
    elif isinstance(msg, Disconnected):
        data = {"t": "disconnected", "code": msg.code, "reason": msg.reason, "retrying": msg.retrying}
    else:
        data = msgspec.to_builtins(msg)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
