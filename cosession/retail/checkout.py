"""Freezing a ``checkout.request`` into a signed ``checkout.start`` snapshot (pure)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import msgspec

from cosession.retail.signing import signature
from protocol.messages import CartLine, CheckoutLine, CheckoutRequest, CheckoutStart, RoomState
from protocol.reducer import checkout_lines

CHECKOUT_TTL_MS = 30 * 60 * 1000  # a snapshot is valid for 30 minutes (expires_at)

ProductKey = tuple[str, str | None]  # (product id, variant)
Verdict = tuple[int | None, bool]  # the catalog's (price or None, in stock) for a product


def product_key(line: CartLine) -> ProductKey:
    return (line.product.id, line.product.variant)


def new_checkout_id(room_id: str) -> str:
    """``co.<room>.<random>``: the room is in the id, so the REST lookup needs no index."""
    return f"co.{room_id}.{secrets.token_hex(8)}"


def room_of(checkout_id: str) -> str | None:
    parts = checkout_id.split(".")
    return parts[1] if len(parts) == 3 and parts[0] == "co" and parts[1] else None


def build_checkout(
    state: RoomState,
    *,
    room_id: str,
    tenant: str,
    by: str,
    request: CheckoutRequest,
    key: str,
    now_ms: int,
    checkout_id: str | None = None,
    catalog: Mapping[ProductKey, Verdict] | None = None,
) -> CheckoutStart:
    """The snapshot of the lines ``request`` selects in ``state``, signed with ``key``.
    ``catalog``: verdicts just fetched for these products, which win over the lines'
    last known state (the ``cart.revalidate`` events for them may not be folded yet)."""
    members = state.members
    lines = []
    for item in checkout_lines(state, by, request.scope):
        price = item.price_changed.new if item.price_changed is not None else item.product.price
        out_of_stock = item.out_of_stock
        verdict = (catalog or {}).get(product_key(item))
        if verdict is not None:
            price = verdict[0] if verdict[0] is not None else price
            out_of_stock = not verdict[1]
        lines.append(
            CheckoutLine(
                line=item.line,
                product=item.product,
                qty=item.qty,
                price=price,
                added_by=item.added_by,
                added_by_name=members[item.added_by].name if item.added_by in members else "",
                out_of_stock=out_of_stock,
            )
        )
    unsigned = CheckoutStart(
        id=checkout_id or new_checkout_id(room_id),
        room=room_id,
        tenant=tenant,
        scope=request.scope,
        requested_by=by,
        requested_by_name=members[by].name if by in members else "",
        lines=lines,
        created_at=now_ms,
        expires_at=now_ms + CHECKOUT_TTL_MS,
        sig="",
    )
    return msgspec.structs.replace(unsigned, sig=signature(key, snapshot_dict(unsigned)))


def snapshot_dict(body: CheckoutStart) -> dict[str, Any]:
    """The snapshot as it travels: the op map, ``t`` included, defaults left out."""
    out: dict[str, Any] = msgspec.to_builtins(body)
    out["t"] = "checkout.start"
    return out
