"""Routes for browsers: ``/r/{invite}`` (room page), ``/r/{invite}/qr.svg``,
``/associates`` (the associate console), ``/widget.js``, ``/static/*`` (built bundles)
and, with ``--demo``, ``/demo``."""

from __future__ import annotations

import html
import io
from functools import lru_cache

import segno
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from cosession.services import Services
from cosession.tenants.store import DEMO_TENANT_ID, TenantStore
from cosession.web.assets import BUILD_HINT, Asset, Assets
from cosession.web.console_page import console_html
from cosession.web.demo import BY_ID, demo_page, product_svg
from cosession.web.encoding import choose, compressed_html
from cosession.web.room_page import page_html, pick_locale, room_name_or_default

_assets = Assets()

# The room page loads only our own script (and compiles our own WebAssembly: the barcode
# decoder); product images may come from any shop; the camera shows in a <video> (blob:/media).
_PAGE_CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; media-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' https: http: data:; "
    "connect-src 'self' {ws}; worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def assets() -> Assets:
    return _assets


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _asset_response(request: Request, asset: Asset, *, immutable: bool, max_age: int = 0) -> Response:
    """The asset, compressed as the client accepts (br, gzip) with ``Vary: Accept-Encoding``;
    each encoding has its own ETag (a strong validator names one representation)."""
    if immutable:
        cache = "public, max-age=31536000, immutable"
    elif max_age:
        cache = f"public, max-age={max_age}, must-revalidate"
    else:
        cache = "no-cache"
    coding = choose(request.headers.get("accept-encoding"), tuple(asset.variants))
    etag = asset.etag if coding is None else f'{asset.etag[:-1]}-{coding}"'
    headers = {"etag": etag, "cache-control": cache, "x-content-type-options": "nosniff", "vary": "Accept-Encoding"}
    if asset.content_type.startswith("text/javascript"):
        # the launcher imports the panel across origins (a module script needs CORS)
        headers["access-control-allow-origin"] = "*"
        headers["cross-origin-resource-policy"] = "cross-origin"
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if coding is not None:
        headers["content-encoding"] = coding
    body = asset.body if coding is None else asset.variants[coding]
    return Response(body, media_type=asset.content_type, headers=headers)


def _not_built(name: str) -> Response:
    message = f"cosession: {name} is not built: {BUILD_HINT}"
    body = f"console.error({message!r});\n"
    return Response(
        body, status_code=503, media_type="text/javascript; charset=utf-8", headers={"cache-control": "no-store"}
    )


async def widget_js(request: Request) -> Response:
    asset = _assets.get("widget.js")
    if asset is None:
        return _not_built("widget.js")
    # The stable URL embedded in retailers' pages: short cache, revalidated by ETag; the
    # panel it imports has a hashed name and is cached for good.
    return _asset_response(request, asset, immutable=False, max_age=300)


async def service_worker(request: Request) -> Response:
    """The room page's service worker (Web Push, SPEC 18.4) at the root, so it may control
    scope ``/r/``; revalidated on every check so a new build replaces it."""
    asset = _assets.get("sw.js")
    if asset is None:
        return _not_built("sw.js")
    response = _asset_response(request, asset, immutable=False)
    for name in ("access-control-allow-origin", "cross-origin-resource-policy"):  # same origin only
        if name in response.headers:
            del response.headers[name]
    return response


async def static_file(request: Request) -> Response:
    name: str = request.path_params["path"]
    asset = _assets.get(name)
    if asset is None:
        if name in ("widget.js", "room.js", "console.js"):
            return _not_built(name)
        current = _assets.current_for(name)
        asset = _assets.get(current) if current else None
        if asset is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return _asset_response(request, asset, immutable=False)  # an older build's name: not for keeps
    version = request.query_params.get("v")
    hashed = name in _assets.hashed_names()
    return _asset_response(request, asset, immutable=hashed or (bool(version) and version == _assets.version(name)))


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><link rel=icon href='data:,'>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:40px 20px;text-align:center;color:#1d1d21;"
        "background:#f5f5f9}</style></head>"
        f"<body>{body}</body></html>",
        status_code=status,
        headers={"referrer-policy": "no-referrer", "cache-control": "no-store"},
    )


async def room_page(request: Request) -> Response:
    """The phone room page: the join form, server-rendered in the visitor's language, and
    the room bundle that takes it over."""
    services = _services(request)
    code: str = request.path_params["code"]
    invite = await services.store.get_invite(code)
    if invite is None:
        return _page("Invite not found", "<h1>This invite link does not exist.</h1><p>Ask for a new link.</p>", 404)
    room = await services.registry.get(invite.room_id)
    if room is not None:
        services.registry.release(room)
    locale = pick_locale(request.query_params.get("lang"), request.headers.get("accept-language"))
    name = room_name_or_default(room.committed.name if room is not None else None, locale)
    if _assets.get("room.js") is None:
        link = html.escape(f"{services.settings.base_url}/r/{code}")
        return _page(
            name,
            f"<h1>You're invited to {html.escape(name)}</h1><p>The room page is not built on this server "
            f"({html.escape(BUILD_HINT)}).</p><p>Join from a terminal: "
            f"<code>cosession-client join {link} --name YOURNAME</code></p>",
        )
    host = request.headers.get("host", "")
    ws = f"ws://{host} wss://{host}" if host else ""
    script = _assets.url("room.js")
    qa = room is not None and room.tenant is not None
    body = page_html(locale=locale, code=code, room_name=name, script_url=script, qa=qa)
    return HTMLResponse(
        body,
        headers={
            "content-security-policy": _PAGE_CSP.format(ws=ws),
            # the invite code is in the URL: never send it to image hosts
            "referrer-policy": "no-referrer",
            "cache-control": "no-store",
            "content-language": locale,
            "vary": "Accept-Language",
            "x-content-type-options": "nosniff",
        },
    )


async def associates_page(request: Request) -> Response:
    """The associate console: the login form, server-rendered in the visitor's language,
    and the console bundle that takes it over (the token never appears in a URL)."""
    locale = pick_locale(request.query_params.get("lang"), request.headers.get("accept-language"))
    if _assets.get("console.js") is None:
        return _page(
            "Associate console",
            f"<h1>The associate console is not built on this server.</h1><p>{html.escape(BUILD_HINT)}</p>",
            503,
        )
    host = request.headers.get("host", "")
    ws = f"ws://{host} wss://{host}" if host else ""
    return HTMLResponse(
        console_html(locale=locale, script_url=_assets.url("console.js")),
        headers={
            "content-security-policy": _PAGE_CSP.format(ws=ws),
            "referrer-policy": "no-referrer",
            "cache-control": "no-store",
            "content-language": locale,
            "vary": "Accept-Language",
            "x-content-type-options": "nosniff",
        },
    )


@lru_cache(maxsize=1024)
def qr_svg(url: str) -> bytes:
    qr = segno.make(url, error="m")
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=4, border=2, dark="#1d1d21", light="#ffffff", xmldecl=False, svgclass=None)
    return out.getvalue()


async def room_qr(request: Request) -> Response:
    services = _services(request)
    code: str = request.path_params["code"]
    invite = await services.store.get_invite(code)
    if invite is None:
        return Response("no such invite", status_code=404, media_type="text/plain")
    url = f"{services.settings.base_url}/r/{code}"
    return Response(
        qr_svg(url),
        media_type="image/svg+xml",
        headers={"cache-control": "public, max-age=86400", "x-content-type-options": "nosniff"},
    )


async def demo(request: Request) -> Response:
    services = _services(request)
    if not services.settings.demo:
        return Response("the demo shop is off (start the server with --demo)", status_code=404, media_type="text/plain")
    tenants: TenantStore = request.app.state.tenants
    tenant = await tenants.get(DEMO_TENANT_ID)  # ensured at startup (see demo_origins)
    if tenant is None:
        return Response("the demo tenant is missing", status_code=503, media_type="text/plain")
    page = demo_page(
        base_url=services.settings.base_url,
        publishable_key=tenant.publishable_key,
        selected=request.query_params.get("product"),
    )
    return compressed_html(request.headers.get("accept-encoding"), page, {"cache-control": "no-store"})


async def demo_image(request: Request) -> Response:
    if not _services(request).settings.demo:
        return Response("not found", status_code=404, media_type="text/plain")
    product = BY_ID.get(request.path_params["product"])
    if product is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(product_svg(product), media_type="image/svg+xml", headers={"cache-control": "public, max-age=3600"})


routes = [
    Route("/r/{code}", room_page, methods=["GET"]),
    Route("/r/{code}/qr.svg", room_qr, methods=["GET"]),
    Route("/associates", associates_page, methods=["GET"]),
    Route("/widget.js", widget_js, methods=["GET"]),
    Route("/sw.js", service_worker, methods=["GET"]),
    Route("/static/{path:path}", static_file, methods=["GET"]),
    Route("/demo", demo, methods=["GET"]),
    Route("/demo/img/{product}.svg", demo_image, methods=["GET"]),
]
