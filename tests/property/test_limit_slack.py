"""``limit_slack`` (SPEC 8.3): a cart.add checked on a replica ``d`` events behind the
sequencer, with ``d`` below its slack, never takes the cart past ``max_cart_lines``
wherever it lands, whatever those ``d`` events were (each of them within the limit too)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol.messages import CartAdd, CartRemove, Event, Product, RoomCreate, RoomState
from protocol.reducer import RoomLimits, apply, check_limits, limit_slack

PRODUCTS = [Product(id=f"p{i}", name="P", price=1, currency="EUR") for i in range(8)]
OWNER = "m_owner"
cart_op = st.one_of(
    st.builds(CartAdd, product=st.sampled_from(PRODUCTS)),
    st.builds(CartRemove, line=st.integers(1, 60)),
)


def fold_within(state: RoomState, ops: list[CartAdd | CartRemove], limits: RoomLimits) -> RoomState:
    """Apply ``ops`` as a sequencer would: an add past the limit is refused (not logged)."""
    for op in ops:
        if check_limits(state, op, limits) is None:
            apply(state, Event(seq=state.seq + 1, ts=0, by=OWNER, op=op))
    return state


@given(
    limit=st.integers(1, 5),
    before=st.lists(cart_op, max_size=20),
    op=st.builds(CartAdd, product=st.sampled_from(PRODUCTS)),
    between=st.lists(cart_op, max_size=12),
)
def test_an_add_within_its_slack_keeps_the_cart_within_the_limit(
    limit: int, before: list[CartAdd | CartRemove], op: CartAdd, between: list[CartAdd | CartRemove]
) -> None:
    limits = RoomLimits(max_cart_lines=limit)
    state = apply(RoomState(), Event(seq=1, ts=0, by="", op=RoomCreate(name="r", owner=OWNER, owner_name="O")))
    state = fold_within(state, before, limits)
    if check_limits(state, op, limits) is not None:
        return  # refused where it was checked
    slack = limit_slack(state, op, limits)
    assert slack is not None and slack > 0
    state = fold_within(state, between[: slack - 1], limits)  # fewer than slack events between
    apply(state, Event(seq=state.seq + 1, ts=0, by=OWNER, op=op))
    assert len(state.cart) <= limit


def test_ops_without_a_count_limit_have_no_slack() -> None:
    assert limit_slack(RoomState(), CartRemove(line=1), RoomLimits()) is None
