"""``TokenSigner.verify`` raises ``TokenError`` for any text that is not a valid token,
never anything else (a ``TypeError`` from ``hmac.compare_digest`` on non-ASCII text used to
reach the handlers as a 500 / a dropped WebSocket), and tokens are signed as SPEC section 11
says: HMAC-SHA256 keyed with the secret itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosession.auth import TokenError, TokenSigner

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SECRET = "test-secret"
signer = TokenSigner(SECRET)
GOOD = signer.issue(room="r_1", member="m_1", role="member", name="Ana", ttl=3600)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_per_spec(secret: str, claims: dict[str, object]) -> str:
    """A token made from SPEC section 11 alone, without cosession's code."""
    body = "v1." + b64(json.dumps(claims).encode())
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return body + "." + b64(mac)


def verify_or_token_error(token: str) -> None:
    try:
        signer.verify(token)
    except TokenError as exc:
        assert exc.kind == "invalid"


@SETTINGS
@given(st.text())
def test_any_text_is_a_token_error(token: str) -> None:
    verify_or_token_error(token)


@SETTINGS
@given(st.text(), st.text(), st.text())
def test_any_three_parts_are_a_token_error(a: str, b: str, c: str) -> None:
    verify_or_token_error(f"{a}.{b}.{c}")
    verify_or_token_error(f"v1.{b}.{c}")


@SETTINGS
@given(st.text(min_size=1), st.integers(0, len(GOOD) - 1))
def test_a_valid_token_with_foreign_text_spliced_in_is_a_token_error(text: str, at: int) -> None:
    verify_or_token_error(GOOD[:at] + text + GOOD[at:])
    verify_or_token_error(GOOD[:at] + text + GOOD[at + 1 :])


@SETTINGS
@given(st.binary(max_size=64))
def test_signed_garbage_claims_are_a_token_error(claims: bytes) -> None:
    """A correctly signed token whose claims are not JSON claims is still just invalid."""
    body = "v1." + b64(claims)
    mac = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest()
    verify_or_token_error(body + "." + b64(mac))


def test_nasty_tokens() -> None:
    for token in ("", ".", "..", "v1..", "v1.é.x", "v1.abc.déf", "v1.abc.\x00", "ü" * 3000, "v1.%%%.===", "\ud800"):
        verify_or_token_error(token)


@SETTINGS
@given(st.text(min_size=1, max_size=40), st.text(max_size=40))
def test_a_token_minted_per_spec_verifies(secret: str, name: str) -> None:
    claims = {"room": "r_1", "member": "m_1", "role": "member", "name": name, "iat": 1, "exp": 4_000_000_000}
    token = mint_per_spec(secret, claims)
    got = TokenSigner(secret).verify(token)
    assert (got.room, got.member, got.role, got.name) == ("r_1", "m_1", "member", name)
    # and what the server issues is exactly what SPEC describes
    issued = TokenSigner(secret).issue(room="r_1", member="m_1", role="member", name=name, ttl=60)
    body, _, mac = issued.rpartition(".")
    assert mac == b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
