"""``cosession-client``: a small terminal front end to ``RoomClient``.

``join`` opens an interactive session (room summary, then commands read from stdin,
every incoming event printed as one human line); ``watch`` prints incoming messages as
JSON lines until Ctrl-C. Rendering helpers (``describe``, ``render_cart``, ...) are pure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shlex
import sys
import threading
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TextIO

import msgspec

from cosession_client.client import Disconnected, Incoming, Resynced, RoomClient
from cosession_client.errors import ApiError, ClientError, ConnectionClosedFinal, OpRejected
from protocol.codec import Format
from protocol.messages import (
    CartAdd,
    CartQty,
    CartRemove,
    Chat,
    Event,
    FocusSignal,
    FollowSignal,
    LogGap,
    MemberJoin,
    MemberKick,
    PresenceUpdate,
    Product,
    React,
    RoomCreate,
    RoomLock,
    RoomRename,
    RoomState,
    TypingSignal,
    Vote,
)

HELP = (
    "commands: add <product-id> <name> <price> [currency] [qty] | qty <line> <n> | rm <line> | "
    "up <line> | down <line> | say <text> | cart | who | help | quit"
)
CHAT_LINES = 10

# ---- rendering (pure) ------------------------------------------------------------------


def money(amount: int, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{units}.{cents:02d} {currency}"


def parse_price(text: str) -> int:
    """``"19.99"`` → 1999 (minor units); at most two decimals."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a price: {text!r}") from None
    cents = value * 100
    if value < 0 or cents != cents.to_integral_value():
        raise ValueError(f"not a price: {text!r}")
    return int(cents)


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
    for item in state.cart:
        p = item.product
        score = sum(item.votes.values())
        votes = f"  votes {score:+d}" if item.votes else ""
        variant = f" [{p.variant}]" if p.variant else ""
        lines.append(
            f"  #{item.line:<5} {item.qty:>3} x {p.name}{variant}  {money(p.price, p.currency)}"
            f"  (by {who(state, item.added_by)}){votes}"
        )
        totals[p.currency] = totals.get(p.currency, 0) + p.price * item.qty
    lines.append("  total: " + ", ".join(money(v, c) for c, v in sorted(totals.items())))
    return lines


def render_chat(state: RoomState, last: int = CHAT_LINES) -> list[str]:
    if not state.chat:
        return ["chat: (no messages)"]
    return ["chat:"] + [f"  [{m.id}] {who(state, m.by)}: {m.text}" for m in state.chat[-last:]]


def render_who(client: RoomClient) -> list[str]:
    here = [f"{p.name} ({p.role}, {p.device})" for p in client.presence.values() if p.member != client.member]
    me = f"{who(client.state, client.member, client)} (you)"
    return ["here: " + ", ".join([me, *here])]


def render_room(client: RoomClient) -> list[str]:
    state = client.state
    me = who(state, client.member, client)
    head = f'room "{state.name}" ({client.room}), you are {me} ({client.role}), seq {client.seq}'
    if state.locked:
        head += ", locked"
    return [head, *render_cart(state), *render_chat(state), *render_who(client)]


def describe_event(event: Event, state: RoomState) -> str:
    by = who(state, event.by)
    op = event.op
    text = f"{by}: {type(op).__name__}"  # a body this version does not describe
    if isinstance(op, CartAdd):
        text = f"{by} added {op.qty} x {op.product.name} ({money(op.product.price, op.product.currency)})"
    elif isinstance(op, CartQty):
        text = f"{by} set line #{op.line} to {op.qty}"
    elif isinstance(op, CartRemove):
        text = f"{by} removed line #{op.line}"
    elif isinstance(op, Vote):
        text = (
            f"{by} cleared their vote on line #{op.line}"
            if op.value == "clear"
            else f"{by} voted {op.value} on #{op.line}"
        )
    elif isinstance(op, Chat):
        about = f" (about {op.product.name})" if op.product else ""
        reply = f" (re #{op.reply_to})" if op.reply_to else ""
        text = f"{by}{reply}: {op.text}{about}"
    elif isinstance(op, React):
        text = f"{by} {'reacted' if op.on else 'took back'} {op.emoji} on message #{op.msg}"
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
    return f"[{event.seq}] {text}"


def describe(msg: Incoming, client: RoomClient) -> str | None:
    """One human line for an incoming message, or None for noise (presence updates)."""
    state = client.state
    if isinstance(msg, Event):
        return describe_event(msg, state)
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
        return f"* connection lost ({msg.code} {msg.reason})" + (", reconnecting..." if msg.retrying else "")
    return None


def to_json_line(msg: Incoming) -> str:
    if isinstance(msg, Resynced):
        data: object = {"t": "resynced", "recovered": msg.recovered, "epoch": msg.epoch, "seq": msg.seq}
    elif isinstance(msg, Disconnected):
        data = {"t": "disconnected", "code": msg.code, "reason": msg.reason, "retrying": msg.retrying}
    else:
        data = msgspec.to_builtins(msg)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# ---- commands --------------------------------------------------------------------------


async def run_command(client: RoomClient, line: str, out: Callable[[str], None]) -> bool:
    """Execute one command line; False when the session should end."""
    line = line.strip()
    if not line:
        return True
    verb, _, rest = line.partition(" ")
    try:
        if verb in ("quit", "exit"):
            return False
        if verb == "help":
            out(HELP)
        elif verb == "cart":
            for text in render_cart(client.state):
                out(text)
        elif verb == "who":
            for text in render_who(client):
                out(text)
        elif verb == "say":
            if not rest.strip():
                raise ValueError("usage: say <text>")
            await client.chat(rest.strip())
        elif verb == "add":
            args = shlex.split(rest)
            if not 3 <= len(args) <= 5:
                raise ValueError("usage: add <product-id> <name> <price> [currency] [qty]")
            currency = args[3].upper() if len(args) > 3 else "EUR"
            qty = int(args[4]) if len(args) > 4 else 1
            product = Product(id=args[0], name=args[1], price=parse_price(args[2]), currency=currency)
            seq = await client.add_to_cart(product, qty)
            out(f"ok: line #{_line_of(client, product, seq)}")
        elif verb in ("qty", "rm", "up", "down"):
            args = rest.split()
            want = 2 if verb == "qty" else 1
            if len(args) != want:
                raise ValueError(f"usage: {verb} <line>" + (" <n>" if verb == "qty" else ""))
            line_id = int(args[0].lstrip("#"))
            if verb == "qty":
                await client.set_quantity(line_id, int(args[1]))
            elif verb == "rm":
                await client.remove_line(line_id)
            else:
                await client.vote(line_id, "up" if verb == "up" else "down")
        else:
            out(f"unknown command {verb!r}; {HELP}")
    except OpRejected as exc:
        out(f"rejected: {exc.code}: {exc.message}")
    except (ValueError, msgspec.ValidationError) as exc:
        out(f"error: {exc}")
    except TimeoutError:
        out("error: no answer from the server in time (the op may still apply)")
    return True


def _line_of(client: RoomClient, product: Product, seq: int) -> int:
    for item in client.state.cart:
        if item.product.id == product.id and item.product.variant == product.variant:
            return item.line
    return seq


# ---- sessions --------------------------------------------------------------------------


def _stdin_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Lines of stdin, read by a daemon thread (a blocked read never delays exit); None at EOF."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    return queue


def _printer(stream: TextIO) -> Callable[[str], None]:
    def out(text: str) -> None:
        stream.write(text + "\n")
        stream.flush()

    return out


async def join_session(client: RoomClient, out: Callable[[str], None]) -> int:
    for text in render_room(client):
        out(text)
    out(HELP)
    lines = _stdin_lines(asyncio.get_running_loop())

    async def show_events() -> None:
        async for msg in client.events():
            text = describe(msg, client)
            if text is not None:
                out(text)

    printer = asyncio.create_task(show_events())
    try:
        while True:
            next_line = asyncio.ensure_future(lines.get())
            await asyncio.wait({next_line, printer}, return_when=asyncio.FIRST_COMPLETED)
            if printer.done():
                next_line.cancel()
                break
            line = next_line.result()
            if line is None or not await run_command(client, line, out):
                break
    finally:
        printer.cancel()
        await asyncio.gather(printer, return_exceptions=True)
    if printer.done() and not printer.cancelled() and (error := printer.exception()) is not None:
        out(f"disconnected: {error}")
        return 1
    return 0


async def watch_session(client: RoomClient, out: Callable[[str], None]) -> int:
    out(
        json.dumps(
            {
                "t": "snapshot",
                "room": client.room,
                "epoch": client.epoch,
                "seq": client.seq,
                "state": msgspec.to_builtins(client.state),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
    )
    try:
        async for msg in client.events():
            out(to_json_line(msg))
    except ConnectionClosedFinal as exc:
        print(f"disconnected: {exc}", file=sys.stderr)
        return 1
    return 0


async def _main(args: argparse.Namespace) -> int:
    fmt: Format = "json" if args.json else "msgpack"
    name = args.name or ("watcher" if args.command == "watch" else None)
    try:
        client = await RoomClient.connect(args.target, server=args.server, name=name, format=fmt, device="desktop")
    except (ClientError, TimeoutError, ValueError, OSError) as exc:
        print(f"cannot join: {exc}", file=sys.stderr)
        return 2
    async with client:
        out = _printer(sys.stdout)
        if args.command == "join":
            return await join_session(client, out)
        return await watch_session(client, out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosession-client", description="Join a cosession shopping room.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the client's reconnects to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    for command, summary in (("join", "interactive session"), ("watch", "print events as JSON lines")):
        p = sub.add_parser(command, help=summary)
        p.add_argument("target", help="invite link (http://host/r/CODE), or a join token with --server")
        p.add_argument("--name", help="your display name (needed with an invite link)")
        p.add_argument("--server", help="server base URL, when TARGET is a token")
        p.add_argument("--json", action="store_true", help="use the JSON subprotocol instead of MessagePack")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR, stream=sys.stderr)
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return 130
    except ApiError as exc:  # pragma: no cover - REST calls happen inside connect
        print(str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
