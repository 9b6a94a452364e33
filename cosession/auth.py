"""Signed join tokens and invite codes.

A token is ``v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(secret, "v1." + claims))>``
(SPEC section 11): the HMAC key is the secret's UTF-8 bytes, as they are, so anyone holding
the secret can mint tokens with any HMAC library. Claims: room, member, role, display name,
issued-at and expiry (Unix seconds). ``verify`` raises ``TokenError`` for anything that is
not a valid token, whatever the text (non-ASCII, huge, empty): never another exception.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Literal

import msgspec

from protocol.messages import Role

TOKEN_VERSION = "v1"


class Claims(msgspec.Struct, frozen=True, omit_defaults=True):
    room: str
    member: str
    role: Role
    name: str
    iat: int
    exp: int
    in_store: bool = False  # joined through a store's QR code (SPEC §20): presence shows "in store"


class TokenError(Exception):
    def __init__(self, kind: Literal["invalid", "expired"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


_claims_decoder = msgspec.json.Decoder(Claims)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a token secret is required")
        self._key = secret.encode("utf-8")

    def _mac(self, signed_part: bytes) -> bytes:
        return _b64(hmac.new(self._key, signed_part, hashlib.sha256).digest()).encode("ascii")

    def issue(
        self,
        *,
        room: str,
        member: str,
        role: Role,
        name: str,
        ttl: float,
        now: float | None = None,
        in_store: bool = False,
    ) -> str:
        issued = int(time.time() if now is None else now)
        claims = Claims(
            room=room, member=member, role=role, name=name, iat=issued, exp=issued + int(ttl), in_store=in_store
        )
        body = f"{TOKEN_VERSION}.{_b64(msgspec.json.encode(claims))}"
        return f"{body}.{self._mac(body.encode('ascii')).decode('ascii')}"

    def verify(self, token: str, now: float | None = None) -> Claims:
        # A token is base64url and dots: anything else (non-ASCII text included, which
        # ``hmac.compare_digest`` would refuse with TypeError) is malformed, never a crash.
        if not isinstance(token, str) or not token.isascii():
            raise TokenError("invalid", "malformed token")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_VERSION:
            raise TokenError("invalid", "malformed token")
        body = f"{parts[0]}.{parts[1]}".encode("ascii")
        if not hmac.compare_digest(self._mac(body), parts[2].encode("ascii")):
            raise TokenError("invalid", "token signature does not match")
        try:
            claims = _claims_decoder.decode(_unb64(parts[1]))
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError) as exc:
            raise TokenError("invalid", f"token claims unreadable: {exc}") from None
        if claims.exp <= (time.time() if now is None else now):
            raise TokenError("expired", "token expired")
        return claims


def new_id(prefix: str, nbytes: int = 9) -> str:
    """Random, URL-safe ids: rooms ``r_…``, members ``m_…``, invites ``i_…``."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"
