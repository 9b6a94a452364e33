"""Decoding REST inputs with msgspec structs: JSON bodies (capped at 16 KiB, 413 before
they are read whole) and query strings. Errors: 400 ``bad_json``, 413 ``too_large``,
422 ``invalid_field``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec
from starlette.requests import Request

from cosession.http.errors import ApiError

T = TypeVar("T")
MAX_BODY_BYTES = 16 * 1024


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with 413 before it is read whole: on its
    ``Content-Length``, or (chunked, no length) as soon as the stream passes ``limit``."""
    too_large = ApiError(413, "too_large", f"request body over {limit // 1024} KiB")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)
    return b"".join(parts)


async def read_body(request: Request, kind: type[T], limit: int = MAX_BODY_BYTES) -> T:
    raw = await read_capped(request, limit)
    try:
        return msgspec.json.decode(raw or b"{}", type=kind)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_json", str(exc)) from None


class BodyReader(Generic[T]):
    """The declared body struct of an endpoint, read when the handler asks (after its
    auth checks, so an unauthenticated caller learns nothing from body errors)."""

    def __init__(self, request: Request, kind: type[T], limit: int = MAX_BODY_BYTES) -> None:
        self._request = request
        self._kind = kind
        self._limit = limit

    async def read(self) -> T:
        return await read_body(self._request, self._kind, self._limit)


def read_query(request: Request, kind: type[T]) -> T:
    """Query parameters into ``kind`` (strings converted: ``limit=5`` is an int). An
    unknown or repeated parameter, or a bad value, is 422 ``invalid_field``."""
    params: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if "\x00" in value or "\x00" in key:
            raise ApiError(422, "invalid_field", "U+0000 in a query parameter")
        if key in params:
            raise ApiError(422, "invalid_field", f"query parameter {key!r} given twice")
        params[key] = value
    try:
        return msgspec.convert(params, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None
