"""The interactive commands of ``cosession-client join``: parsing what is typed (prices,
currencies, quantities, cart line positions) and ``run_command``, which executes one
command line against a ``RoomClient`` and reports the outcome (or the error) as one line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import msgspec

from cosession_client.cli_render import position_of, render_cart, render_who
from cosession_client.client import RoomClient
from cosession_client.errors import ClientError, ConnectionClosedFinal, OpRejected
from cosession_client.explain import FIELD_RULES, explain_closed, explain_invalid
from protocol.messages import CartLine, Product, RoomState

HELP = (
    "commands: add <product-id> <name> <price> [currency] [qty] | qty <line> <n> | rm <line> | "
    "up <line> | down <line> | say <text> | ask <line> <question> | checkout [all|mine] | cart | who | help | quit  "
    "(<line>: its number in `cart`)"
)
MAX_PRICE = 10**10  # in units: the protocol's bound is 10**12 minor units
_CURRENCY = re.compile(r"[A-Za-z]{3}")


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
        elif verb == "ask":  # product Q&A: ask the shop's past buyers about a cart line's product
            number, _, question = rest.strip().partition(" ")
            if not number or not question.strip():
                raise ValueError("usage: ask <line> <question>; `cart` lists the lines")
            await client.ask_past_buyers(find_position(client.state, number).product, question.strip())
            out("ok: asked past buyers; their answers will appear here")
        elif verb == "checkout":
            scope = rest.strip() or ("all" if client.member == client.state.owner else "mine")
            if scope not in ("all", "mine"):
                raise ValueError("usage: checkout [all|mine]")
            snap = await client.request_checkout(scope)  # type: ignore[arg-type]
            out(f"ok: checkout {snap.id} with {len(snap.lines)} line(s), valid until {snap.expires_at} (ms)")
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
    if exc.code == "qa_unavailable":
        return "questions to past buyers work only in a shop's rooms (created with its key)"
    if exc.code == "empty_checkout":
        return "nothing to check out: `checkout mine` takes the lines you added, `checkout all` (owner) the cart"
    return exc.message


def _added_as(client: RoomClient, product: Product, seq: int) -> str:
    state = client.state
    position = position_of(state, seq)
    if position is None:  # merged into an existing line of the same product
        for number, item in enumerate(state.cart, 1):
            if item.product.id == product.id and item.product.variant == product.variant:
                position = number
    return f"cart line {position}" if position is not None else "added (the line is already gone)"
