"""Pure parts of the help queue: request ids, associate tokens, the room context, the
metrics' label bound."""

from __future__ import annotations

import pytest

from cosession.help import tokens
from cosession.help.context import build_context
from cosession.help.items import parse_request_id
from cosession.help.stats import MAX_LABEL_SETS, HelpStats, collect
from protocol.messages import CartLine, HelpRequest, PresenceMember, Product, RoomState

SHOE = Product(id="s", name="Shoe", price=1000, currency="EUR")
HAT = Product(id="h", name="Hat", price=500, currency="USD")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("r_abc:7", ("r_abc", 7)),
        ("r:a:b:3", ("r:a:b", 3)),
        ("r_abc:0", None),
        ("r_abc:", None),
        (":5", None),
        ("r_abc:²", None),  # a digit that int() refuses
        ("r_abc:٣", None),  # not ASCII
        ("r_abc:" + "9" * 17, None),
        ("x" * 65 + ":1", None),
        ("nonsense", None),
    ],
)
def test_request_ids(text: str, parsed: tuple[str, int] | None) -> None:
    assert parse_request_id(text) == parsed


def test_associate_tokens() -> None:
    token = tokens.issue("secret", "as_mia1")
    assert token.startswith("at_as_mia1.") and tokens.parse("secret", token) == "as_mia1"
    for bad in (token + "x", token.replace("mia1", "leo1"), "at_as_mia1", "v1.a.b", "at_" + "é", "", token * 3):
        with pytest.raises(tokens.AssociateTokenError):
            tokens.parse("secret", bad)
    with pytest.raises(tokens.AssociateTokenError):
        tokens.parse("other-secret", token)


def test_context_takes_the_requesters_focus_and_one_currency_totals() -> None:
    state = RoomState(name="Trip", cart=[CartLine(line=2, product=SHOE, qty=3, added_by="m1")])
    presence = [
        PresenceMember(member="m2", name="Bo", role="member", focus=HAT),
        PresenceMember(member="m1", name="Ana", role="owner", focus=SHOE),
    ]
    ctx = build_context(state, presence, "m1", HelpRequest(department="Shoes"))
    assert (ctx.room_name, ctx.focus, ctx.cart_lines, ctx.department) == ("Trip", SHOE, 1, "Shoes")
    assert ctx.cart_total is not None and (ctx.cart_total.amount, ctx.cart_total.currency) == (3000, "EUR")
    assert build_context(state, presence, "m9", HelpRequest()).focus == HAT  # anyone's, when the requester has none
    state.cart.append(CartLine(line=3, product=HAT, qty=1, added_by="m2"))
    assert build_context(state, [], "m1", HelpRequest()).cart_total is None  # mixed currencies: no total


def test_metrics_label_sets_are_bounded_and_start_at_zero() -> None:
    stats = HelpStats()
    names = {m.name for m in collect(stats)}
    assert "cosession_help_claim_seconds" in names and all(m.samples for m in collect(stats))
    for i in range(MAX_LABEL_SETS + 50):
        stats.requested("s1", f"dept {i}", "in_store")
    assert len(stats.requests) == MAX_LABEL_SETS + 1  # the rest count as "other"
    assert stats.requests[("other", "other", "in_store")] == 50
