"""The OpenAPI 3.1 document, generated from the endpoint declarations and their msgspec
structs (``msgspec.json.schema_components``), served at ``/v1/openapi.json``; and a
self-contained HTML page rendering it at ``/v1/docs`` (no scripts, no CDN).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from cosession.http.endpoint import (
    ASSOCIATE_TOKEN,
    MEMBER_TOKEN,
    NONE,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    Endpoint,
    ErrorBody,
)

REF = "#/components/schemas/{name}"
_PATH_PARAM = re.compile(r"{(\w+)}")

SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    SECRET_KEY: {
        "type": "http",
        "scheme": "bearer",
        "description": "A tenant's secret API key `sk_...` (server to server). Only the tenant's own rooms.",
    },
    PUBLISHABLE_KEY: {
        "type": "http",
        "scheme": "bearer",
        "description": "A tenant's publishable key `pk_...`, only with an `Origin` the tenant allows.",
    },
    MEMBER_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "description": "A member's join token `v1.<claims>.<mac>` for this room (SPEC.md section 11).",
    },
    ASSOCIATE_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "description": "A store associate's login token `at_...` issued by the tenant (SPEC.md section 21).",
    },
}

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    400: "Body is not JSON",
    401: "Missing, unknown or expired credential",
    403: "Credential not allowed here",
    404: "Not found",
    409: "Conflict",
    410: "Gone",
    413: "Body over 16 KiB",
    422: "A field is missing, of the wrong type or out of range",
    429: "Rate limited (see Retry-After)",
    503: "Unavailable: retry later",
}


def _types(endpoints: Iterable[Endpoint]) -> list[Any]:
    out: list[Any] = [ErrorBody]
    for e in endpoints:
        for kind in (e.ok, e.body, e.query):
            if kind is not None and kind not in out:
                out.append(kind)
    return out


def _parameters(e: Endpoint, components: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 64}}
        for name in _PATH_PARAM.findall(e.path)
    ]
    if e.query is not None:
        schema = components[e.query.__name__]
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return params


def _ref(kind: type) -> dict[str, str]:
    return {"$ref": REF.format(name=kind.__name__)}


def _operation(e: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": e.handler.__name__,
        "summary": e.summary,
        "tags": [e.tag],
        "parameters": _parameters(e, components),
    }
    if e.description:
        op["description"] = e.description
    if e.body is not None:
        required = bool(components[e.body.__name__].get("required"))  # else an empty body means {}
        op["requestBody"] = {"required": required, "content": {"application/json": {"schema": _ref(e.body)}}}
    security: list[dict[str, list[str]]] = [{scheme: []} for scheme in e.auth if scheme != NONE]
    if NONE in e.auth:
        security.append({})
    op["security"] = security
    ok: dict[str, Any] = {"description": _STATUS_TEXT.get(e.status, "OK")}
    if e.ok is not None:
        ok["content"] = {e.media_type: {"schema": _ref(e.ok)}}
    for media_type in e.text_types:
        ok.setdefault("content", {})[media_type] = {"schema": {"type": "string"}}
    if e.links:
        ok["links"] = {
            f"to_{target}": {"operationId": target, "parameters": params} for target, params in e.links.items()
        }
    responses: dict[str, Any] = {str(e.status): ok}
    for status, codes in sorted(e.errors.items()):
        responses[str(status)] = {
            "description": f"{_STATUS_TEXT.get(status, 'Error')}: " + ", ".join(f"`{c}`" for c in codes),
            "content": {"application/json": {"schema": _ref(ErrorBody)}},
        }
    op["responses"] = responses
    return op


def build_document(endpoints: Sequence[Endpoint], *, version: str) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for ``endpoints``."""
    _, components = msgspec.json.schema_components(_types(endpoints), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cosession REST API",
            "version": version,
            "description": "Generated from the server's typed request and response structs. "
            'Every error is `{"error": {"code", "message"}}`; codes are listed per response.',
        },
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }


# ---- the docs page ------------------------------------------------------------------------

_CSS = """body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2.5rem;border-bottom:1px solid #ddd}.op{margin:1.2rem 0;padding:.6rem 1rem;border:1px solid #ddd;
border-radius:6px}.m{font-weight:700;text-transform:uppercase;margin-right:.5rem}code,pre{background:#f5f5f5}
pre{padding:.5rem;overflow:auto;font-size:13px}td{padding:.1rem .6rem;vertical-align:top}"""


def _pre(value: Any) -> str:
    return f"<pre>{html.escape(json.dumps(value, indent=2, ensure_ascii=False))}</pre>"


def render_docs(doc: dict[str, Any]) -> str:
    """One static HTML page: every operation (auth, parameters, body, responses) and
    every schema. Escaped throughout; no scripts."""
    e = html.escape
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        f"<title>{e(doc['info']['title'])}</title><style>{_CSS}</style>",
        f"<h1>{e(doc['info']['title'])} <small>{e(doc['info']['version'])}</small></h1>",
        f"<p>{e(doc['info']['description'])} Machine-readable: <a href=/v1/openapi.json>/v1/openapi.json</a>.</p>",
        "<h2>Authentication</h2><table>",
    ]
    for name, scheme in doc["components"]["securitySchemes"].items():
        parts.append(f"<tr><td><code>{e(name)}</code></td><td>{e(scheme['description'])}</td></tr>")
    parts.append("</table><h2>Operations</h2>")
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            auth = ", ".join(next(iter(s), "none") for s in op["security"]) or "none"
            parts.append(
                f"<div class=op id={e(op['operationId'])}><span class=m>{e(method)}</span><code>{e(path)}</code>"
                f"<p>{e(op['summary'])}. Auth: {e(auth)}.</p>"
            )
            if op.get("description"):
                parts.append(f"<p>{e(op['description'])}</p>")
            if op["parameters"]:
                parts.append("<table>")
                for p in op["parameters"]:
                    parts.append(
                        f"<tr><td><code>{e(p['name'])}</code></td><td>{e(p['in'])}</td>"
                        f"<td><code>{e(json.dumps(p['schema']))}</code></td></tr>"
                    )
                parts.append("</table>")
            if "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                parts.append(f"<p>Body: <a href=#{e(ref.rsplit('/', 1)[1])}>{e(ref.rsplit('/', 1)[1])}</a></p>")
            parts.append("<table>")
            for status, resp in op["responses"].items():
                content: dict[str, Any] = resp.get("content", {})
                first: dict[str, Any] = next(iter(content.values()), {})
                schema: dict[str, Any] = first.get("schema", {})
                name = schema.get("$ref", "").rsplit("/", 1)[-1]
                link = f"<a href=#{e(name)}>{e(name)}</a>" if name else ""
                parts.append(f"<tr><td>{e(status)}</td><td>{e(resp['description'])}</td><td>{link}</td></tr>")
            parts.append("</table></div>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        parts.append(f"<h3 id={e(name)}>{e(name)}</h3>{_pre(schema)}")
    return "".join(parts) + "</html>"


def openapi_routes(endpoints: Sequence[Endpoint], *, version: str) -> list[Route]:
    """``/v1/openapi.json`` and ``/v1/docs`` for ``endpoints`` (built once, at start-up)."""
    doc = build_document(endpoints, version=version)
    body = msgspec.json.encode(doc)
    page = render_docs(doc)

    async def openapi_json(request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def docs(request: Request) -> Response:
        return HTMLResponse(page)

    return [Route("/v1/openapi.json", openapi_json, methods=["GET"]), Route("/v1/docs", docs, methods=["GET"])]
