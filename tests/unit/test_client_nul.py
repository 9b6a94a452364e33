"""The Python client refuses to send an op holding U+0000 (SPEC section 1), as the JS
client does and as the server would (``invalid_field``)."""

from __future__ import annotations

import msgspec
import pytest

from cosession_client.client import validate_op
from protocol.messages import CartAdd, Chat, Product, React, RoomRename


@pytest.mark.parametrize(
    "body",
    [
        Chat(text="hi\x00"),
        Chat(text="hi", product=Product(id="s\x00", name="n", price=1, currency="EUR")),
        CartAdd(product=Product(id="s", name="n", price=1, currency="EUR", variant="\x00")),
        React(msg=1, emoji="\x00"),
        RoomRename(name="R\x00"),
    ],
)
def test_validate_op_refuses_nul(body: object) -> None:
    with pytest.raises(msgspec.ValidationError):
        validate_op(body)  # type: ignore[arg-type]


def test_validate_op_lets_an_escaped_backslash_through() -> None:
    validate_op(Chat(text="C:\\u0000 and \\\\u0000"))
