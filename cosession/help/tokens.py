"""Associate login tokens: ``at_<associate id>.<HMAC>`` (SPEC 21.3).

The HMAC (SHA-256 over ``"at1." + associate id`` with the server secret, base64url) proves
the server issued the token; the ``associates`` row makes it revocable (``revoked_at``)
and names the tenant. ``parse`` raises ``AssociateTokenError`` for anything malformed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

PREFIX = "at_"
_ID = re.compile(r"^as_[A-Za-z0-9_-]{1,60}$")


class AssociateTokenError(Exception):
    pass


def _mac(secret: str, associate: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"at1.{associate}".encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue(secret: str, associate: str) -> str:
    return f"{PREFIX}{associate}.{_mac(secret, associate)}"


def parse(secret: str, token: str) -> str:
    """The associate id an authentic token names (not yet checked against the database)."""
    if not isinstance(token, str) or not token.isascii() or not token.startswith(PREFIX) or len(token) > 200:
        raise AssociateTokenError("not an associate token")
    associate, _, mac = token[len(PREFIX) :].partition(".")
    if not _ID.match(associate) or not hmac.compare_digest(_mac(secret, associate), mac):
        raise AssociateTokenError("associate token signature does not match")
    return associate
