"""What a help request shows the associates about its room (pure, no I/O).

Built on the node that sequences the ``help.request`` (it has the room's state and
presence) and stored with the request's queue row as JSON. It carries no member id or
name: the room's name, what the room is looking at (the requester's focus, else anyone's),
the cart's line count and total, and the room's store context when it has one.
"""

from __future__ import annotations

from typing import Any

import msgspec

from protocol.messages import HelpRequest, PresenceMember, Product, RoomState


class Money(msgspec.Struct, frozen=True):
    amount: int  # minor units
    currency: str


class HelpContext(msgspec.Struct, frozen=True, omit_defaults=True):
    room_name: str = ""
    store: str | None = None
    department: str | None = None
    focus: Product | None = None
    cart_lines: int = 0
    cart_total: Money | None = None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(HelpContext)


def _store_context(state: RoomState) -> tuple[str | None, str | None]:
    """HOOK: the room's store context (``RoomState.store``, added by the in-store work);
    read defensively so this module works with or without it."""
    ctx: Any = getattr(state, "store", None)
    if ctx is None:
        return None, None
    store = getattr(ctx, "store", None)
    department = getattr(ctx, "department", None)
    return (store if isinstance(store, str) else None), (department if isinstance(department, str) else None)


def build_context(state: RoomState, presence: list[PresenceMember], by: str, op: HelpRequest) -> HelpContext:
    focus = next((p.focus for p in presence if p.member == by and p.focus is not None), None)
    if focus is None:
        focus = next((p.focus for p in presence if p.focus is not None), None)
    currencies = {line.product.currency for line in state.cart}
    total = None
    if len(currencies) == 1:
        amount = sum(
            (line.price_changed.new if line.price_changed else line.product.price) * line.qty for line in state.cart
        )
        total = Money(amount=amount, currency=currencies.pop())
    store, department = _store_context(state)
    return HelpContext(
        room_name=state.name,
        store=store,
        department=op.department or department,
        focus=focus,
        cart_lines=len(state.cart),
        cart_total=total,
    )


def encode_context(ctx: HelpContext) -> bytes:
    return _encoder.encode(ctx)


def decode_context(raw: str | bytes | None) -> HelpContext:
    if not raw:
        return HelpContext()
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError:
        return HelpContext()
