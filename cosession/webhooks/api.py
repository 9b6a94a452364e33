"""REST for webhook endpoints (tenant secret key only): create, list, read, enable or
disable, delete; the delivery log of an endpoint; redelivery of a message.

Each route is declared with the endpoint layer (``cosession/http/endpoint.py``): its
bodies, query and answers are msgspec structs, and the OpenAPI document is generated
from them; errors are
``{"error": {"code", "message"}}`` like every REST route (``ApiError``). Calls are
limited per tenant (``webhooks_api_per_minute``): 429 ``rate_limited`` with Retry-After.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from cosession.auth import new_id
from cosession.http.endpoint import SECRET_KEY, endpoint
from cosession.http.endpoint import Endpoint as Described
from cosession.http.errors import ApiError
from cosession.http.inputs import BodyReader
from cosession.http.ratelimit import retry_after
from cosession.services import Services
from cosession.tenants.auth import tenant_key
from cosession.webhooks.events import EventType
from cosession.webhooks.service import WebhookService
from cosession.webhooks.signing import new_secret
from cosession.webhooks.store import Endpoint

MAX_BODY_BYTES = 8 * 1024
Status = Literal["pending", "delivered", "dead"]


class CreateEndpoint(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, Meta(min_length=1, max_length=2048, pattern=r"^[^\x00]*$")]
    event_types: Annotated[list[EventType], Meta(max_length=32)] = []  # empty: every type (EVENT_TYPES)
    description: Annotated[str, Meta(max_length=500, pattern=r"^[^\x00]*$")] = ""
    enabled: bool = True


class UpdateEndpoint(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool


class EndpointOut(msgspec.Struct):
    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    created_at: int  # ms


class CreatedEndpoint(EndpointOut):
    secret: str  # whsec_...: shown once, on creation


class EndpointList(msgspec.Struct):
    endpoints: list[EndpointOut]


class MessagesQuery(msgspec.Struct, forbid_unknown_fields=True):
    status: Status | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 50
    before: Annotated[int, Meta(ge=1, le=2**62)] | None = None  # a message's cursor: older ones


class MessageOut(msgspec.Struct):
    id: str  # the webhook-id header: idempotency key
    type: str
    room: str
    status: Status
    attempts: int
    next_attempt_at: int | None  # ms; None once delivered or dead
    last_code: int | None
    created_at: int
    delivered_at: int | None
    cursor: int  # pass as ?before= for older messages


class MessageList(msgspec.Struct):
    messages: list[MessageOut]


class AttemptOut(msgspec.Struct):
    attempt: int
    at: int  # ms
    ok: bool
    code: int | None  # HTTP status; None when no response came
    error: str
    duration_ms: int


class AttemptList(msgspec.Struct):
    message: MessageOut
    attempts: list[AttemptOut]


async def _tenant(request: Request) -> tuple[str, WebhookService]:
    key = await tenant_key(request, allow_publishable=False)
    if key is None:
        raise ApiError(401, "unauthorized", "an Authorization: Bearer sk_... header is required")
    services: Services = request.app.state.services
    webhooks = services.webhooks
    if webhooks is None:  # pragma: no cover - always set by build_services
        raise ApiError(503, "unavailable", "webhooks are not running")
    wait = webhooks.api_limiter.take(key.tenant.id, time.monotonic())
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            "too many webhook calls for this tenant: retry later",
            {"retry-after": retry_after(wait)},
        )
    return key.tenant.id, webhooks


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host and no credentials; else 422 ``invalid_url``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ApiError(422, "invalid_url", "the url cannot be parsed") from None
    if parts.scheme not in ("http", "https"):
        raise ApiError(422, "invalid_url", "the url must start with http:// or https://")
    if not parts.hostname or any(c.isspace() for c in url):
        raise ApiError(422, "invalid_url", "the url needs a host and no spaces")
    if parts.username or parts.password:
        raise ApiError(422, "invalid_url", "the url must not carry credentials")
    if port == 0:
        raise ApiError(422, "invalid_url", "the url's port must be 1-65535")
    return url


def _out(e: Endpoint) -> EndpointOut:
    return EndpointOut(
        id=e.id,
        url=e.url,
        event_types=list(e.event_types),
        description=e.description,
        enabled=e.enabled,
        created_at=e.created_at,
    )


def _message(row: Any) -> MessageOut:
    return MessageOut(
        id=row.msg_id,
        type=row.type,
        room=row.room_id,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_code=row.last_code,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        cursor=row.id,
    )


async def _endpoint(request: Request, tenant: str, webhooks: WebhookService) -> Endpoint:
    endpoint = await webhooks.store.endpoint(tenant, request.path_params["endpoint"])
    if endpoint is None:
        raise ApiError(404, "endpoint_not_found", "no such webhook endpoint")
    return endpoint


async def create_endpoint(request: Request, body: BodyReader[CreateEndpoint]) -> CreatedEndpoint:
    """``POST /v1/webhooks/endpoints``: 201 with the endpoint and its secret (shown once)."""
    tenant, webhooks = await _tenant(request)
    data = await body.read()
    url = check_url(data.url)
    cap = webhooks.settings.max_webhook_endpoints
    if await webhooks.store.count_endpoints(tenant) >= cap:
        raise ApiError(409, "too_many_endpoints", f"a tenant can have at most {cap} webhook endpoints")
    endpoint = Endpoint(
        id=new_id("ep"),
        tenant=tenant,
        url=url,
        secret=new_secret(),
        event_types=tuple(sorted(set(data.event_types))),
        description=data.description,
        enabled=data.enabled,
        created_at=int(time.time() * 1000),
    )
    await webhooks.store.create_endpoint(endpoint)
    out = _out(endpoint)
    return CreatedEndpoint(**msgspec.structs.asdict(out), secret=endpoint.secret)


async def list_endpoints(request: Request) -> EndpointList:
    tenant, webhooks = await _tenant(request)
    return EndpointList(endpoints=[_out(e) for e in await webhooks.store.endpoints(tenant)])


async def get_endpoint(request: Request) -> EndpointOut:
    tenant, webhooks = await _tenant(request)
    return _out(await _endpoint(request, tenant, webhooks))


async def update_endpoint(request: Request, body: BodyReader[UpdateEndpoint]) -> EndpointOut:
    """``PATCH /v1/webhooks/endpoints/{endpoint}`` ``{"enabled": false}``: a disabled
    endpoint gets no new messages and its pending ones wait until it is enabled again."""
    tenant, webhooks = await _tenant(request)
    data = await body.read()
    endpoint = await _endpoint(request, tenant, webhooks)
    await webhooks.store.set_enabled(tenant, endpoint.id, data.enabled)
    if data.enabled:
        webhooks.worker.wake()
    return _out(await _endpoint(request, tenant, webhooks))


async def delete_endpoint(request: Request) -> Response:
    tenant, webhooks = await _tenant(request)
    if not await webhooks.store.delete_endpoint(tenant, request.path_params["endpoint"]):
        raise ApiError(404, "endpoint_not_found", "no such webhook endpoint")
    return Response(status_code=204)


async def list_messages(request: Request, query: MessagesQuery) -> MessageList:
    """``GET …/{endpoint}/messages?status=&limit=&before=``: the delivery log, newest first."""
    tenant, webhooks = await _tenant(request)
    endpoint = await _endpoint(request, tenant, webhooks)
    rows = await webhooks.store.messages(endpoint.id, status=query.status, limit=query.limit, before=query.before)
    return MessageList(messages=[_message(r) for r in rows])


async def message_attempts(request: Request) -> AttemptList:
    """``GET …/{endpoint}/messages/{message}``: the message and each attempt."""
    tenant, webhooks = await _tenant(request)
    endpoint = await _endpoint(request, tenant, webhooks)
    msg_id = request.path_params["message"]
    row = await webhooks.store.message(endpoint.id, msg_id)
    if row is None:
        raise ApiError(404, "message_not_found", "no such message for this endpoint")
    attempts = [
        AttemptOut(attempt=a.attempt, at=a.at, ok=bool(a.ok), code=a.code, error=a.error, duration_ms=a.duration_ms)
        for a in await webhooks.store.attempts(endpoint.id, msg_id)
    ]
    return AttemptList(message=_message(row), attempts=attempts)


async def redeliver(request: Request) -> Response:
    """``POST …/{endpoint}/messages/{message}/redeliver``: 202; sent again soon with the
    same id (a fresh retry schedule)."""
    tenant, webhooks = await _tenant(request)
    endpoint = await _endpoint(request, tenant, webhooks)
    if not await webhooks.store.redeliver(endpoint.id, request.path_params["message"], int(time.time() * 1000)):
        raise ApiError(404, "message_not_found", "no such message for this endpoint")
    webhooks.worker.wake()
    return Response(status_code=202)


_BASE = "/v1/webhooks/endpoints"
_AUTH: dict[int, tuple[str, ...]] = {
    401: ("unauthorized",), 403: ("forbidden",), 429: ("rate_limited",), 503: ("unavailable",),
}  # fmt: skip
_BODY: dict[int, tuple[str, ...]] = {400: ("bad_json",), 413: ("too_large",), 422: ("invalid_field",)}
_ONE: dict[int, tuple[str, ...]] = {**_AUTH, 404: ("endpoint_not_found",)}
_MSG: dict[int, tuple[str, ...]] = {**_AUTH, 404: ("endpoint_not_found", "message_not_found")}
_ID = {"endpoint": "$response.body#/id"}
W = "webhooks"

endpoints: list[Described] = [
    endpoint("POST", _BASE, create_endpoint, "Create a webhook endpoint (its secret is shown once)",
             ok=CreatedEndpoint, status=201, body=CreateEndpoint, auth=(SECRET_KEY,), max_body=MAX_BODY_BYTES,
             errors={**_AUTH, **_BODY, 409: ("too_many_endpoints",),
                     422: ("invalid_field", "invalid_url")},
             links={op: _ID for op in ("get_endpoint", "update_endpoint", "delete_endpoint", "list_messages")},
             tag=W),
    endpoint("GET", _BASE, list_endpoints, "List the tenant's webhook endpoints", ok=EndpointList,
             auth=(SECRET_KEY,), errors=_AUTH, tag=W),
    endpoint("GET", _BASE + "/{endpoint}", get_endpoint, "Read a webhook endpoint", ok=EndpointOut,
             auth=(SECRET_KEY,), errors=_ONE, tag=W),
    endpoint("PATCH", _BASE + "/{endpoint}", update_endpoint, "Enable or disable a webhook endpoint",
             ok=EndpointOut, body=UpdateEndpoint, auth=(SECRET_KEY,), max_body=MAX_BODY_BYTES,
             errors={**_ONE, **_BODY}, tag=W),
    endpoint("DELETE", _BASE + "/{endpoint}", delete_endpoint, "Delete a webhook endpoint", ok=None, status=204,
             auth=(SECRET_KEY,), errors=_ONE, tag=W),
    endpoint("GET", _BASE + "/{endpoint}/messages", list_messages, "The endpoint's delivery log, newest first",
             ok=MessageList, query=MessagesQuery, auth=(SECRET_KEY,), errors={**_ONE, 422: ("invalid_field",)},
             tag=W),
    endpoint("GET", _BASE + "/{endpoint}/messages/{message}", message_attempts,
             "A message of the endpoint and each delivery attempt", ok=AttemptList, auth=(SECRET_KEY,),
             errors=_MSG, tag=W),
    endpoint("POST", _BASE + "/{endpoint}/messages/{message}/redeliver", redeliver,
             "Send a message again (same id, a fresh retry schedule)", ok=None, status=202,
             auth=(SECRET_KEY,), errors=_MSG, tag=W),
]  # fmt: skip
routes = [e.route() for e in endpoints]
