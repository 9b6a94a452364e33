"""``cosession-client``: a small terminal front end to ``RoomClient``.

``join`` opens an interactive session (room summary, then commands read from stdin,
every incoming event printed as one human line); ``watch`` prints incoming messages as
JSON lines until Ctrl-C. This module owns the sessions, argument parsing and ``main``;
the pure rendering helpers (``describe``, ``render_cart``, ...) live in ``cli_render``
and the interactive commands (``run_command``) in ``cli_commands``.

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
import shutil
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

import httpx
import msgspec

from cosession_client.cli_commands import (
    HELP,
    MAX_PRICE,
    find_position,
    parse_currency,
    parse_price,
    parse_qty,
    run_command,
)
from cosession_client.cli_render import (
    CHAT_LINES,
    describe,
    describe_event,
    line_label,
    money,
    position_of,
    render_cart,
    render_chat,
    render_room,
    render_who,
    to_json_line,
    who,
)
from cosession_client.client import RoomClient
from cosession_client.errors import ClientError, ConnectionClosedFinal
from cosession_client.explain import explain_closed, explain_join
from cosession_client.rest import base_urls, is_invite_link, parse_invite_link
from cosession_client.terminal import fold, json_printable, printable
from protocol.codec import Format
from protocol.messages import CartAdd, Event

__all__ = [  # the rendering and command helpers stay importable from here
    "CHAT_LINES",
    "CONNECT_TIMEOUT",
    "HELP",
    "MAX_PRICE",
    "PROBE_TIMEOUT",
    "build_parser",
    "describe",
    "describe_event",
    "find_position",
    "join_session",
    "line_label",
    "main",
    "money",
    "parse_currency",
    "parse_price",
    "parse_qty",
    "position_of",
    "render_cart",
    "render_chat",
    "render_room",
    "render_who",
    "run_command",
    "to_json_line",
    "watch_session",
    "who",
]

CONNECT_TIMEOUT = 10.0
PROBE_TIMEOUT = 5.0

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
