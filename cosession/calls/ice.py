"""ICE servers for ``welcome.ice``: STUN URLs, and TURN URLs with TURN REST credentials.

The TURN REST API convention (what coturn's ``use-auth-secret`` checks): the username is
``<unix expiry>:<member>`` and the credential is ``base64(HMAC-SHA1(secret, username))``.
Every welcome issues fresh ones, valid for ``turn_ttl`` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from cosession.config import Settings
from protocol.messages import IceServer


def turn_credentials(secret: str, member: str, ttl: float, now: float | None = None) -> tuple[str, str]:
    """(username, credential) valid until ``now + ttl`` (Unix seconds)."""
    expiry = int((time.time() if now is None else now) + ttl)
    username = f"{expiry}:{member}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers(settings: Settings, member: str, now: float | None = None) -> list[IceServer]:
    """The ICE servers one member gets in its welcome (empty when none are configured).
    TURN URLs without a ``turn_secret`` are left out: they could not be used."""
    servers: list[IceServer] = []
    if settings.stun_urls:
        servers.append(IceServer(urls=list(settings.stun_urls)))
    if settings.turn_urls and settings.turn_secret:
        username, credential = turn_credentials(settings.turn_secret, member, settings.turn_ttl, now)
        servers.append(IceServer(urls=list(settings.turn_urls), username=username, credential=credential))
    return servers
