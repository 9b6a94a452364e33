"""Key generation and hashing, and origin normalisation."""

from __future__ import annotations

import hashlib
import secrets
from urllib.parse import urlsplit

SECRET_PREFIX = "sk_"
PUBLISHABLE_PREFIX = "pk_"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def new_secret_key() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_publishable_key() -> str:
    return PUBLISHABLE_PREFIX + secrets.token_urlsafe(18)


def hash_secret(key: str) -> str:
    """What the database keeps of a secret key (a long random key needs no slow hash)."""
    return hashlib.sha256(key.encode()).hexdigest()


class OriginError(ValueError):
    pass


def normalize_origin(origin: str) -> str:
    """``HTTPS://Shop.Example:443/`` → ``https://shop.example``. Raises ``OriginError``."""
    parts = urlsplit(origin.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise OriginError(f"not an http(s) origin: {origin!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise OriginError(f"an origin is scheme://host[:port] only: {origin!r}")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise OriginError(f"bad port in {origin!r}") from exc
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def origin_or_none(origin: str | None) -> str | None:
    """A request's ``Origin`` header, normalised; None when absent, ``null`` or malformed."""
    if not origin or origin == "null":
        return None
    try:
        return normalize_origin(origin)
    except OriginError:
        return None
