"""Who calls the associate API: an ``at_`` token, checked against the ``associates`` row.

Errors: 401 ``unauthorized`` (no credential, a forged or unknown token), 401
``token_revoked`` (the tenant deleted the associate), 403 ``wrong_token`` (a credential of
another kind: a tenant key or a member token).
"""

from __future__ import annotations

import time

from starlette.requests import Request

from cosession.help import tokens
from cosession.help.queue_store import Associate
from cosession.help.service import HelpService
from cosession.http.errors import ApiError
from cosession.http.ratelimit import AddressLimiter, retry_after
from cosession.services import Services


def help_service(request: Request) -> HelpService:
    services: Services = request.app.state.services
    service = services.help
    if service is None:  # pragma: no cover - the app always wires it
        raise ApiError(503, "unavailable", "the help queue is not configured")
    return service


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def associate_of(request: Request, token: str | None = None) -> Associate:
    token = token or bearer(request)
    if token is None:
        raise ApiError(401, "unauthorized", "an Authorization: Bearer at_... associate token is required")
    if not token.startswith(tokens.PREFIX):
        raise ApiError(403, "wrong_token", "this route takes an associate token (at_...), not this credential")
    service = help_service(request)
    try:
        associate_id = tokens.parse(service.services.settings.secret, token)
    except tokens.AssociateTokenError as exc:
        raise ApiError(401, "unauthorized", str(exc)) from None
    associate = await service.store.associate(associate_id)
    if associate is None:
        raise ApiError(401, "unauthorized", "unknown associate")
    if associate.revoked:
        raise ApiError(401, "token_revoked", "this associate was removed by the tenant")
    return associate


def limit(limiter: AddressLimiter, key: str) -> None:
    wait = limiter.take(key, time.monotonic())
    if wait > 0:
        raise ApiError(
            429, "rate_limited", "too many claims and closes: retry later", {"retry-after": retry_after(wait)}
        )
