"""REST for webhook endpoints (tenant secret key only): create, list, read, enable or
disable, delete; the delivery log of an endpoint; redelivery of a message.

Bodies are msgspec structs (the OpenAPI document is generated from them); errors are
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
from starlette.routing import Route

from cosession.auth import new_id
from cosession.http.api import ApiError, _read_capped
from cosession.http.ratelimit import retry_after
from cosession.services import Services
from cosession.tenants.auth import tenant_key
from cosession.webhooks.events import EVENT_TYPES
from cosession.webhooks.service import WebhookService
from cosession.webhooks.signing import new_secret
from cosession.webhooks.store import Endpoint

MAX_BODY_BYTES = 8 * 1024
EventType = Annotated[str, Meta(min_length=1, max_length=64)]
Status = Literal["pending", "delivered", "dead"]


class CreateEndpoint(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, Meta(min_length=1, max_length=2048, pattern=r"^[^\x00]*$")]
    event_types: Annotated[list[EventType], Meta(max_length=32)] = []  # empty: every type
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


def _json(body: msgspec.Struct, status: int = 200) -> Response:
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json")


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


async def _decode(request: Request, kind: type[Any]) -> Any:
    raw = await _read_capped(request, MAX_BODY_BYTES)
    try:
        return msgspec.json.decode(raw or b"{}", type=kind)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_json", str(exc)) from None


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


async def create_endpoint(request: Request) -> Response:
    """``POST /v1/webhooks/endpoints``: 201 with the endpoint and its secret (shown once)."""
    tenant, webhooks = await _tenant(request)
    body: CreateEndpoint = await _decode(request, CreateEndpoint)
    url = check_url(body.url)
    unknown = sorted(set(body.event_types) - set(EVENT_TYPES))
    if unknown:
        raise ApiError(422, "invalid_event_type", f"unknown event types {unknown}: known are {list(EVENT_TYPES)}")
    cap = webhooks.settings.max_webhook_endpoints
    if await webhooks.store.count_endpoints(tenant) >= cap:
        raise ApiError(409, "too_many_endpoints", f"a tenant can have at most {cap} webhook endpoints")
    endpoint = Endpoint(
        id=new_id("ep"),
        tenant=tenant,
        url=url,
        secret=new_secret(),
        event_types=tuple(sorted(set(body.event_types))),
        description=body.description,
        enabled=body.enabled,
        created_at=int(time.time() * 1000),
    )
    await webhooks.store.create_endpoint(endpoint)
    out = _out(endpoint)
    return _json(CreatedEndpoint(**msgspec.structs.asdict(out), secret=endpoint.secret), 201)


async def list_endpoints(request: Request) -> Response:
    tenant, webhooks = await _tenant(request)
    return _json(EndpointList(endpoints=[_out(e) for e in await webhooks.store.endpoints(tenant)]))


async def get_endpoint(request: Request) -> Response:
    tenant, webhooks = await _tenant(request)
    return _json(_out(await _endpoint(request, tenant, webhooks)))


async def update_endpoint(request: Request) -> Response:
    """``PATCH /v1/webhooks/endpoints/{endpoint}`` ``{"enabled": false}``: a disabled
    endpoint gets no new messages and its pending ones wait until it is enabled again."""
    tenant, webhooks = await _tenant(request)
    body: UpdateEndpoint = await _decode(request, UpdateEndpoint)
    endpoint = await _endpoint(request, tenant, webhooks)
    await webhooks.store.set_enabled(tenant, endpoint.id, body.enabled)
    if body.enabled:
        webhooks.worker.wake()
    return _json(_out(await _endpoint(request, tenant, webhooks)))


async def delete_endpoint(request: Request) -> Response:
    tenant, webhooks = await _tenant(request)
    if not await webhooks.store.delete_endpoint(tenant, request.path_params["endpoint"]):
        raise ApiError(404, "endpoint_not_found", "no such webhook endpoint")
    return Response(status_code=204)


def _int_param(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(422, "invalid_field", f"{name} must be an integer in [{low}, {high}]")
    return int(raw)


async def list_messages(request: Request) -> Response:
    """``GET …/{endpoint}/messages?status=&limit=&before=``: the delivery log, newest first."""
    tenant, webhooks = await _tenant(request)
    endpoint = await _endpoint(request, tenant, webhooks)
    status = request.query_params.get("status")
    if status is not None and status not in ("pending", "delivered", "dead"):
        raise ApiError(422, "invalid_field", "status must be pending, delivered or dead")
    limit = _int_param(request, "limit", 50, 1, 500) or 50
    before = _int_param(request, "before", None, 1, 2**62)
    rows = await webhooks.store.messages(endpoint.id, status=status, limit=limit, before=before)
    return _json(MessageList(messages=[_message(r) for r in rows]))


async def message_attempts(request: Request) -> Response:
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
    return _json(AttemptList(message=_message(row), attempts=attempts))


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
routes = [
    Route(_BASE, create_endpoint, methods=["POST"]),
    Route(_BASE, list_endpoints, methods=["GET"]),
    Route(_BASE + "/{endpoint}", get_endpoint, methods=["GET"]),
    Route(_BASE + "/{endpoint}", update_endpoint, methods=["PATCH"]),
    Route(_BASE + "/{endpoint}", delete_endpoint, methods=["DELETE"]),
    Route(_BASE + "/{endpoint}/messages", list_messages, methods=["GET"]),
    Route(_BASE + "/{endpoint}/messages/{message}", message_attempts, methods=["GET"]),
    Route(_BASE + "/{endpoint}/messages/{message}/redeliver", redeliver, methods=["POST"]),
]
