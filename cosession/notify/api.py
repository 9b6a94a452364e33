"""REST for a member's notifications (SPEC 18.3), with the member's join token.

* ``GET|PUT /v1/rooms/{room}/notify`` — member token; PUT ``{muted: bool}`` →
  ``{muted, subscriptions, push_key}`` (``push_key``: the deployment's VAPID public key,
  the browser's ``applicationServerKey``; null when this server sends no Web Push).
* ``POST /v1/rooms/{room}/notify/push`` — member token; ``{endpoint, keys: {p256dh, auth},
  page?}`` (a browser's ``PushSubscription.toJSON()`` plus the room page path) → settings.
* ``DELETE /v1/rooms/{room}/notify/push[?endpoint=…]`` — one subscription, or all of the
  member's in the room.

Limits: ``notify_api_per_minute`` calls per member and room per node (429
``rate_limited``), ``push_max_subscriptions`` per member and room (409
``too_many_subscriptions``); the endpoint must be ``https://`` (``http://`` only with
``push_allow_http``), the keys a valid P-256 point and a 16-byte secret (422
``invalid_field``).
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta
from starlette.requests import Request

from cosession.http.api import ApiError, _member, _services
from cosession.http.endpoint import MEMBER_TOKEN, Endpoint, endpoint
from cosession.http.inputs import BodyReader
from cosession.http.ratelimit import retry_after
from cosession.notify.service import NotifyService
from cosession.notify.store import Subscription


class PushKeys(msgspec.Struct, forbid_unknown_fields=True):
    p256dh: Annotated[str, Meta(min_length=80, max_length=100, pattern=r"^[A-Za-z0-9_-]+=*$")]
    auth: Annotated[str, Meta(min_length=16, max_length=32, pattern=r"^[A-Za-z0-9_-]+=*$")]


class PushSubscriptionIn(msgspec.Struct, forbid_unknown_fields=True):
    endpoint: Annotated[str, Meta(min_length=8, max_length=2048)]
    keys: PushKeys
    page: Annotated[str, Meta(max_length=100, pattern=r"^(/r/[A-Za-z0-9_-]{1,64})?$")] = ""  # the room page path
    expirationTime: float | None = None  # as PushSubscription.toJSON() spells it; ignored


class MuteIn(msgspec.Struct, forbid_unknown_fields=True):
    muted: bool


class EndpointQuery(msgspec.Struct, forbid_unknown_fields=True):
    endpoint: Annotated[str, Meta(min_length=1, max_length=2048)] | None = None


class NotifySettings(msgspec.Struct):
    muted: bool
    subscriptions: int  # this member's push subscriptions in the room
    push_key: str | None  # the deployment's VAPID public key (applicationServerKey); null: no Web Push here


def _notify(request: Request) -> NotifyService:
    notify = _services(request).notify
    if notify is None:  # pragma: no cover - wired by build_services
        raise ApiError(503, "unavailable", "notifications are not running")
    return notify


def _b64(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid_field", "keys must be base64url: a P-256 point and a 16-byte secret") from None


async def _caller(request: Request) -> tuple[str, str, NotifyService]:
    services = _services(request)
    room_id = request.path_params["room"]
    claims, room = await _member(request, services, room_id)
    notify = _notify(request)
    wait = notify.limiter.take(f"{room.id}\x1f{claims.member}", time.monotonic())
    if wait > 0:
        raise ApiError(
            429, "rate_limited", "too many notification calls: retry later", {"retry-after": retry_after(wait)}
        )
    return room.id, claims.member, notify


async def _settings(notify: NotifyService, room: str, member: str) -> NotifySettings:
    return NotifySettings(
        muted=await notify.store.muted(room, member),
        subscriptions=await notify.store.subscriptions(room, member),
        push_key=None if notify.key is None else notify.key.public,
    )


async def get_notify(request: Request) -> NotifySettings:
    room, member, notify = await _caller(request)
    return await _settings(notify, room, member)


async def put_notify(request: Request, body: BodyReader[MuteIn]) -> NotifySettings:
    room, member, notify = await _caller(request)
    data = await body.read()
    await notify.store.set_muted(room, member, data.muted, int(time.time() * 1000))
    return await _settings(notify, room, member)


def _check_subscription(notify: NotifyService, sub: PushSubscriptionIn) -> None:
    parts = urlsplit(sub.endpoint)
    allowed = ("https", "http") if notify.settings.push_allow_http else ("https",)
    if parts.scheme not in allowed or not parts.hostname or parts.username or parts.password:
        raise ApiError(422, "invalid_field", "endpoint must be an https:// URL of a push service")
    from cryptography.hazmat.primitives.asymmetric import ec  # the [push] extra (checked at start-up)

    point = _b64(sub.keys.p256dh)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise ApiError(422, "invalid_field", "keys.p256dh is not a P-256 public key") from None
    if len(point) != 65 or len(_b64(sub.keys.auth)) != 16:
        raise ApiError(422, "invalid_field", "keys.p256dh must be 65 bytes and keys.auth 16 bytes")


async def add_push(request: Request, body: BodyReader[PushSubscriptionIn]) -> NotifySettings:
    room, member, notify = await _caller(request)
    data = await body.read()
    if notify.key is None:
        raise ApiError(503, "unavailable", "Web Push is not available on this server (pip install 'cosession[push]')")
    _check_subscription(notify, data)
    sub = Subscription(endpoint=data.endpoint, p256dh=data.keys.p256dh, auth=data.keys.auth, url=data.page)
    cap = notify.settings.push_max_subscriptions
    if not await notify.store.subscribe(room, member, sub, int(time.time() * 1000), cap):
        raise ApiError(409, "too_many_subscriptions", f"at most {cap} push subscriptions per member and room")
    return await _settings(notify, room, member)


async def remove_push(request: Request, query: EndpointQuery) -> NotifySettings:
    room, member, notify = await _caller(request)
    await notify.store.unsubscribe(room, member, query.endpoint)
    return await _settings(notify, room, member)


_MEMBER_ERRORS: dict[int, tuple[str, ...]] = {
    401: ("unauthorized", "token_expired"),
    403: ("forbidden", "kicked"),
    404: ("room_not_found",),
    429: ("rate_limited",),
    503: ("unavailable",),
}
_BODY_ERRORS: dict[int, tuple[str, ...]] = {400: ("bad_json",), 413: ("too_large",), 422: ("invalid_field",)}
N = "notifications"

endpoints: list[Endpoint] = [
    endpoint("GET", "/v1/rooms/{room}/notify", get_notify, "The member's notification settings in the room",
             ok=NotifySettings, auth=(MEMBER_TOKEN,), errors=_MEMBER_ERRORS, tag=N),
    endpoint("PUT", "/v1/rooms/{room}/notify", put_notify, "Mute or unmute the member's notifications",
             ok=NotifySettings, body=MuteIn, auth=(MEMBER_TOKEN,), errors={**_MEMBER_ERRORS, **_BODY_ERRORS},
             tag=N, max_body=1024),
    endpoint("POST", "/v1/rooms/{room}/notify/push", add_push, "Register a browser push subscription",
             ok=NotifySettings, body=PushSubscriptionIn, auth=(MEMBER_TOKEN,), tag=N, max_body=8192,
             errors={**_MEMBER_ERRORS, **_BODY_ERRORS, 409: ("too_many_subscriptions",)}),
    endpoint("DELETE", "/v1/rooms/{room}/notify/push", remove_push, "Remove one or all push subscriptions",
             ok=NotifySettings, query=EndpointQuery, auth=(MEMBER_TOKEN,),
             errors={**_MEMBER_ERRORS, 422: ("invalid_field",)}, tag=N),
]  # fmt: skip
routes = [e.route() for e in endpoints]
