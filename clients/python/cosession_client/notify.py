"""A member's notification settings over REST (SPEC 18.3): mute, and Web Push
subscriptions (a subscription is what a browser's ``PushSubscription.toJSON()`` gives, or
a push receiver of your own that speaks RFC 8030/8291)."""

from __future__ import annotations

from typing import Any

import msgspec

from cosession_client.rest import DEFAULT_TIMEOUT, _client, decode_response


class NotifySettings(msgspec.Struct):
    muted: bool
    subscriptions: int
    push_key: str | None  # the server's VAPID public key (applicationServerKey), None: no Web Push


async def get_settings(
    http_base: str, token: str, room: str, *, request_timeout: float = DEFAULT_TIMEOUT
) -> NotifySettings:
    async with _client(http_base, token, request_timeout) as http:
        response = await http.get(f"/v1/rooms/{room}/notify")
    return decode_response(response, NotifySettings)


async def set_muted(
    http_base: str, token: str, room: str, muted: bool, *, request_timeout: float = DEFAULT_TIMEOUT
) -> NotifySettings:
    async with _client(http_base, token, request_timeout) as http:
        response = await http.put(f"/v1/rooms/{room}/notify", json={"muted": muted})
    return decode_response(response, NotifySettings)


async def subscribe(
    http_base: str,
    token: str,
    room: str,
    subscription: dict[str, Any],
    *,
    page: str = "",
    request_timeout: float = DEFAULT_TIMEOUT,
) -> NotifySettings:
    """Register ``{endpoint, keys: {p256dh, auth}}``; ``page``: the room page path it opens."""
    body = {"endpoint": subscription["endpoint"], "keys": subscription["keys"], "page": page}
    async with _client(http_base, token, request_timeout) as http:
        response = await http.post(f"/v1/rooms/{room}/notify/push", json=body)
    return decode_response(response, NotifySettings)


async def unsubscribe(
    http_base: str, token: str, room: str, endpoint: str | None = None, *, request_timeout: float = DEFAULT_TIMEOUT
) -> NotifySettings:
    """Remove one subscription (``endpoint``), or all of the member's in the room."""
    params = {"endpoint": endpoint} if endpoint is not None else {}
    async with _client(http_base, token, request_timeout) as http:
        response = await http.delete(f"/v1/rooms/{room}/notify/push", params=params)
    return decode_response(response, NotifySettings)
