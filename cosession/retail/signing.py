"""Checkout snapshot signatures (docs/checkout.md is the contract).

A snapshot is the ``checkout.start`` op map as it travels (the event's ``op``, the
webhook's payload, the widget's page event). Its signature is
``base64url_nopad(HMAC-SHA256(key, canonical(snapshot minus "sig")))`` where ``canonical``
is JSON with keys sorted at every level, separators ``,`` and ``:``, non-ASCII kept as
UTF-8 (Python's ``json.dumps(doc, sort_keys=True, separators=(",", ":"),
ensure_ascii=False).encode()``). The key is per tenant, derived from the server secret,
so every node of a cluster signs alike and no key is stored: rooms without a tenant use
the derivation for the tenant ``""``, known to the server only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

KEY_PREFIX = "ck_"
_KEY_LABEL = b"cosession checkout key v1:"


def checkout_key(server_secret: str, tenant: str) -> str:
    """The tenant's checkout verification key (a string; its UTF-8 bytes are the HMAC key)."""
    mac = hmac.new(server_secret.encode("utf-8"), _KEY_LABEL + tenant.encode("utf-8"), hashlib.sha256).digest()
    return KEY_PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def canonical(snapshot: dict[str, Any]) -> bytes:
    doc = {k: v for k, v in snapshot.items() if k != "sig"}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signature(key: str, snapshot: dict[str, Any]) -> str:
    mac = hmac.new(key.encode("utf-8"), canonical(snapshot), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def verify(key: str, snapshot: dict[str, Any]) -> bool:
    """Whether ``snapshot['sig']`` signs the rest of it under ``key`` (expiry not checked)."""
    sig = snapshot.get("sig")
    return isinstance(sig, str) and sig.isascii() and hmac.compare_digest(signature(key, snapshot), sig)
