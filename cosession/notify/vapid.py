"""The deployment's VAPID key (RFC 8292): configured, or generated once and shared.

``push_vapid_key`` (base64url of the raw 32-byte P-256 private key) wins; otherwise the
first node to start stores a new key as the ``vapid`` row of ``server_secrets``
(insert-if-absent) and every node of the database reads that row, so browsers subscribed
through one node can be pushed to from any other. ``cosession push keys`` prints a new
key pair for configuring it by hand. The public key (uncompressed point, base64url) is
what browsers pass as ``applicationServerKey``.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from cosession.signing.shared import SECRETS
from cosession.store.store_sql import SqlStore

VAPID_SECRET = "vapid"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_private_key() -> str:
    from cryptography.hazmat.primitives.asymmetric import ec  # the [push] extra

    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


@dataclass(frozen=True)
class VapidKey:
    private: str  # base64url raw private key

    def __post_init__(self) -> None:
        from py_vapid import Vapid02  # the [push] extra

        object.__setattr__(self, "_vapid", Vapid02.from_raw(self.private.encode()))

    @property
    def public(self) -> str:
        from cryptography.hazmat.primitives import serialization

        key: Any = self._vapid.public_key  # type: ignore[attr-defined]
        return b64url(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))

    def authorization(self, endpoint: str, subject: str, ttl_s: int = 12 * 3600) -> str:
        """``Authorization: vapid t=<JWT>,k=<public key>`` for a push to ``endpoint``."""
        parts = urlsplit(endpoint)
        claims = {"aud": f"{parts.scheme}://{parts.netloc}", "sub": subject, "exp": int(time.time()) + ttl_s}
        header: str = self._vapid.sign(claims)["Authorization"]  # type: ignore[attr-defined]
        return header


async def deployment_key(store: SqlStore, configured: str) -> VapidKey:
    if configured:
        return VapidKey(configured)
    async with store.transaction() as conn:
        await conn.execute(
            store.insert(SECRETS).on_conflict_do_nothing(index_elements=["name"]),
            [{"name": VAPID_SECRET, "value": new_private_key(), "created_at": int(time.time() * 1000)}],
        )
        value = await conn.scalar(select(SECRETS.c.value).where(SECRETS.c.name == VAPID_SECRET))
    assert value is not None
    return VapidKey(str(value))
