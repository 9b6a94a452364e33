"""Described REST endpoints: one declaration per route, used both to serve it and to
generate the OpenAPI document (``cosession/http/openapi.py``).

A handler takes the request and its decoded inputs and returns a msgspec struct (or a
``Response`` for what is not JSON). The declaration names the request body struct, the
query struct, the response struct per status, the error statuses with their codes, and
the auth schemes. The same structs decode the request and encode the response, so the
document cannot drift from the code. Registering a route is one line::

    endpoint("GET", "/v1/admin/rooms", list_rooms, ok=RoomPage, query=RoomQuery, auth=SECRET, errors=...)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cosession.http.inputs import MAX_BODY_BYTES, BodyReader, read_query

# security scheme names (components.securitySchemes in the document)
SECRET_KEY = "secretKey"  # Authorization: Bearer sk_... (tenant secret API key)
PUBLISHABLE_KEY = "publishableKey"  # Authorization: Bearer pk_... (with an allowed Origin)
MEMBER_TOKEN = "memberToken"  # Authorization: Bearer v1.... (a member's join token)
ASSOCIATE_TOKEN = "associateToken"  # Authorization: Bearer at_... (a store associate, SPEC 21)
NONE = ""  # no credential needed (listed as an empty requirement)

Handler = Callable[..., Awaitable[Any]]


class ErrorDetail(msgspec.Struct):
    code: str
    message: str


class ErrorBody(msgspec.Struct):
    """Every REST error: ``{"error": {"code", "message"}}`` with a stable code."""

    error: ErrorDetail


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    ok: type | None  # response struct of the success status (None: no body)
    status: int = 200
    body: type | None = None  # JSON request body struct
    query: type | None = None  # query parameters struct (fields of str/int/bool/enum)
    auth: tuple[str, ...] = (NONE,)
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)
    tag: str = "rooms"
    media_type: str = "application/json"  # of the success response
    description: str = ""
    # other media types the success response may take, each a plain string body (e.g. text/csv)
    text_types: tuple[str, ...] = ()
    max_body: int = MAX_BODY_BYTES  # a longer JSON body is 413 too_large
    # OpenAPI links from the success response: target operationId -> {parameter: expression}
    links: dict[str, dict[str, str]] = field(default_factory=dict)

    def route(self) -> Route:
        return Route(self.path, self._serve, methods=[self.method])

    async def _serve(self, request: Request) -> Response:
        kwargs: dict[str, Any] = {}
        if self.query is not None:
            kwargs["query"] = read_query(request, self.query)
        if self.body is not None:
            kwargs["body"] = BodyReader(request, self.body, self.max_body)  # read by the handler, after its auth checks
        result = await self.handler(request, **kwargs)
        if isinstance(result, Response):
            return result
        return Response(msgspec.json.encode(result), status_code=self.status, media_type="application/json")


def endpoint(
    method: str,
    path: str,
    handler: Handler,
    summary: str,
    *,
    ok: type | None,
    status: int = 200,
    body: type | None = None,
    query: type | None = None,
    auth: tuple[str, ...] = (NONE,),
    errors: dict[int, tuple[str, ...]] | None = None,
    tag: str = "rooms",
    media_type: str = "application/json",
    description: str = "",
    links: dict[str, dict[str, str]] | None = None,
    text_types: tuple[str, ...] = (),
    max_body: int = MAX_BODY_BYTES,
) -> Endpoint:
    return Endpoint(
        method=method,
        path=path,
        handler=handler,
        summary=summary,
        ok=ok,
        status=status,
        body=body,
        query=query,
        auth=auth,
        errors=dict(errors or {}),
        tag=tag,
        media_type=media_type,
        description=description,
        links=dict(links or {}),
        text_types=text_types,
        max_body=max_body,
    )
