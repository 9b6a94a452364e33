"""``cosession-client``: a small terminal front end to ``RoomClient``.

``join`` opens an interactive session (room summary, then commands read from stdin,
every incoming event printed as one human line); ``watch`` prints incoming messages as
JSON lines until Ctrl-C. Rendering helpers (``describe``, ``render_cart``, ...) are pure.

Cart lines are numbered by their position in the cart as ``cart`` lists them (1, 2, ...):
``up 1`` votes on the first line. Every line printed goes through
``terminal.printable``, so nothing a member or the server sends can reach the terminal
as a control sequence, a line break or a bidi override; on a terminal, long lines are
folded with a marked continuation (``terminal.fold``). Errors are one line saying what
to do (``explain``), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import shlex
import shutil
import sys
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

import httpx
import msgspec

from cosession_client.client import Disconnected, Incoming, Resynced, RoomClient
from cosession_client.errors import ClientError, ConnectionClosedFinal, OpRejected
from cosession_client.explain import FIELD_RULES, explain_closed, explain_invalid, explain_join
from cosession_client.rest import base_urls, is_invite_link, parse_invite_link
from cosession_client.terminal import fold, json_printable, printable
from protocol.codec import Format
from protocol.messages import (
    CartAdd,
    CartLine,
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
    "up <line> | down <line> | say <text> | cart | who | help | quit  (<line>: its number in `cart`)"
)
CHAT_LINES = 10
CONNECT_TIMEOUT = 10.0
PROBE_TIMEOUT = 5.0
MAX_PRICE = 10**10  # in units: the protocol's bound is 10**12 minor units
_CURRENCY = re.compile(r"[A-Za-z]{3}")

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
        raise ValueError(FIELD_RULES["product.price"] + f" (not {text!r})") from None
    if not value.is_finite() or not 0 <= value <= MAX_PRICE or value * 100 != (value * 100).to_integral_value():
        raise ValueError(FIELD_RULES["product.price"] + f" (not {text!r})")
    return int(value * 100)


def parse_currency(text: str) -> str:
    """``"eur"`` → ``"EUR"``; anything but three letters is refused with the rule."""
    if not _CURRENCY.fullmatch(text):
        raise ValueError(FIELD_RULES["product.currency"] + f" (not {text!r})")
    return text.upper()


def parse_qty(text: str) -> int:
    """A quantity from 1 to 999."""
    try:
        qty = int(text)
    except ValueError:
        qty = 0
    if not 1 <= qty <= 999:
        raise ValueError(FIELD_RULES["qty"] + f" (not {text!r})")
    return qty


def find_position(state: RoomState, text: str) -> CartLine:
    """The cart line at position ``text`` (1-based, as ``cart`` lists them; a leading ``#``
    is allowed); ``ValueError`` saying so for a line that does not exist."""
    try:
        position = int(text.removeprefix("#"))
    except ValueError:
        raise ValueError(f"{text!r} is not a cart line; {FIELD_RULES['line']}") from None
    if not state.cart:
        raise ValueError(f"no cart line {position}: the cart is empty")
    if not 1 <= position <= len(state.cart):
        lines = "line 1" if len(state.cart) == 1 else f"lines 1 to {len(state.cart)}"
        raise ValueError(f"no cart line {position}; the cart has {lines} (`cart` lists them)")
    return state.cart[position - 1]


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
        lines.append(
            f"  {f'{position}.':<4} {item.qty:>3} x {p.name}{variant}  {each}  (by {who(state, item.added_by)}){votes}"
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
            currency = parse_currency(args[3]) if len(args) > 3 else "EUR"
            qty = parse_qty(args[4]) if len(args) > 4 else 1
            product = Product(id=args[0], name=args[1], price=parse_price(args[2]), currency=currency)
            seq = await client.add_to_cart(product, qty)
            out(f"ok: {_added_as(client, product, seq)}")
        elif verb in ("qty", "rm", "up", "down"):
            args = rest.split()
            want = 2 if verb == "qty" else 1
            if len(args) != want:
                usage = f"{verb} <line> <n>" if verb == "qty" else f"{verb} <line>"
                raise ValueError(f"usage: {usage}; `cart` lists the lines")
            line_id = find_position(client.state, args[0]).line
            if verb == "qty":
                await client.set_quantity(line_id, parse_qty(args[1]))
            elif verb == "rm":
                await client.remove_line(line_id)
            else:
                await client.vote(line_id, "up" if verb == "up" else "down")
        else:
            out(f"unknown command {verb!r}; {HELP}")
    except OpRejected as exc:
        out(f"rejected: {exc.code}: {_rejection(verb, exc)}")
    except msgspec.ValidationError as exc:
        out(f"error: {explain_invalid(str(exc))}")
    except ValueError as exc:
        out(f"error: {exc}")
    except TimeoutError:
        out("error: no answer from the server in time (the op may still apply)")
    except ClientError as exc:  # the connection ended, too many ops waiting, ...
        out(f"error: {explain_closed(exc) if isinstance(exc, ConnectionClosedFinal) else exc}")
    return True


def _rejection(verb: str, exc: OpRejected) -> str:
    if exc.code == "not_found" and verb in ("qty", "rm", "up", "down"):
        return "that cart line was removed meanwhile; `cart` lists the lines"
    if exc.code == "invalid_field":
        return explain_invalid(exc.message)
    return exc.message


def _added_as(client: RoomClient, product: Product, seq: int) -> str:
    state = client.state
    position = position_of(state, seq)
    if position is None:  # merged into an existing line of the same product
        for number, item in enumerate(state.cart, 1):
            if item.product.id == product.id and item.product.variant == product.variant:
                position = number
    return f"cart line {position}" if position is not None else "added (the line is already gone)"


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


def _printer(stream: TextIO, clean: Callable[[str], str] = printable, *, wrap: bool = True) -> Callable[[str], None]:
    """Write one line to ``stream``, made terminal-safe by ``clean``: whatever the room or
    the server sent, it stays one line of visible text. On a terminal (``wrap``), long
    lines are folded here, continuations marked, rather than left to the terminal."""
    tty = wrap and stream.isatty()

    def out(text: str) -> None:
        safe = clean(text)
        lines = fold(safe, shutil.get_terminal_size().columns) if tty else [safe]
        stream.write("\n".join(lines) + "\n")
        stream.flush()

    return out


class _SafeLogFormatter(logging.Formatter):
    """Log records (``-v``) may quote the server (close reasons): keep them printable."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return "\n".join(printable(line) for line in super().formatException(ei).split("\n"))


def _error(text: str) -> None:
    _printer(sys.stderr)(text)


async def join_session(client: RoomClient, out: Callable[[str], None]) -> int:
    for text in render_room(client):
        out(text)
    out(HELP)
    lines = _stdin_lines(asyncio.get_running_loop())
    names = {item.line: item.product.name for item in client.state.cart}  # every line seen

    async def show_events() -> None:
        async for msg in client.events():
            text = describe(msg, client, names)
            if isinstance(msg, Event) and isinstance(msg.op, CartAdd):
                names.setdefault(msg.seq, msg.op.product.name)
            names.update((item.line, item.product.name) for item in client.state.cart)
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
        out(f"disconnected: {explain_closed(error) if isinstance(error, ConnectionClosedFinal) else error}")
        return 1
    return 0


async def watch_session(client: RoomClient, out: Callable[[str], None] | None = None) -> int:
    out = _printer(sys.stdout, json_printable, wrap=False) if out is None else out
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
        _error(f"disconnected: {explain_closed(exc)}")
        return 1
    return 0


def _server_of(args: argparse.Namespace) -> str:
    """The server's base URL named by the command line (for messages and the probe)."""
    if is_invite_link(args.target):
        return parse_invite_link(args.target)[0]
    return base_urls(args.server)[0]


def _check_target(args: argparse.Namespace, name: str | None) -> None:
    if is_invite_link(args.target):
        if not name:
            raise ValueError("joining with an invite link needs --name YOURNAME")
        return
    if args.target.startswith(("http://", "https://")):
        parse_invite_link(args.target)  # raises, saying what an invite link looks like
    if not args.server:
        raise ValueError(
            "TARGET is neither an invite link (http://HOST/r/CODE) nor usable as a join token "
            "without --server (the server's address, e.g. --server http://127.0.0.1:8080)"
        )


async def _probe(server: str) -> None:
    """Fail fast, with the transport's error, when nothing answers at ``server`` (joining by
    token would otherwise retry until its timeout and say only that it timed out)."""
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as http:
        await http.get(server.rstrip("/") + "/healthz")


async def _main(args: argparse.Namespace) -> int:
    fmt: Format = "json" if args.json else "msgpack"
    name = args.name or ("watcher" if args.command == "watch" else None)
    try:
        _check_target(args, name)
        server = _server_of(args)
    except ValueError as exc:
        _error(f"cannot join: {exc}")
        return 2
    try:
        if not is_invite_link(args.target):
            await _probe(server)
        client = await RoomClient.connect(
            args.target,
            server=args.server,
            name=name,
            format=fmt,
            device="desktop",
            connect_timeout=CONNECT_TIMEOUT,
        )
    except (ClientError, TimeoutError, ValueError, OSError, httpx.HTTPError) as exc:
        _error(f"cannot join: {explain_join(exc, server, CONNECT_TIMEOUT)}")
        return 2
    async with client:
        if args.command == "join":
            return await join_session(client, _printer(sys.stdout))
        return await watch_session(client)


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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_SafeLogFormatter(logging.BASIC_FORMAT))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR, handlers=[handler])
    for stream in (sys.stdout, sys.stderr):  # a name the terminal cannot encode is no crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line, not a traceback (-v shows it)
        logging.getLogger("cosession_client").debug("unexpected error", exc_info=True)
        _error(f"cosession-client: unexpected error: {type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
