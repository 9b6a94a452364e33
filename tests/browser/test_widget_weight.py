"""What the widget costs a product page before anyone touches it: one compressed launcher
of at most 6 KB on the wire, and nothing else — no panel bundle, WebSocket, QR code or
product image — until the shopper opens it, even for a returning shopper with a room."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import Page, Request, WebSocket, expect

from tests.browser.conftest import DESKTOP, Browsers
from tests.browser.pages import serve_pages
from tests.browser.widget_helpers import shop_html
from tests.support.server import ServerProcess

LAUNCHER_BUDGET = 6 * 1024  # bytes of compressed body on the wire


class Traffic:
    def __init__(self, page: Page) -> None:
        self.requests: list[Request] = []
        self.sockets: list[WebSocket] = []
        page.on("request", lambda r: self.requests.append(r))
        page.on("websocket", lambda w: self.sockets.append(w))

    def to(self, origin: str) -> list[str]:
        return [r.url for r in self.requests if r.url.startswith(origin)]

    def images(self) -> list[str]:
        return [r.url for r in self.requests if r.resource_type == "image"]


async def body_bytes(request: Request) -> dict[str, Any]:
    response = await request.response()
    assert response is not None
    sizes = await request.sizes()
    headers = await response.all_headers()
    return {"body": sizes["responseBodySize"], "encoding": headers.get("content-encoding"), "vary": headers.get("vary")}


async def test_launcher_alone_before_interaction(server: ServerProcess, browsers: Browsers) -> None:
    src = server.http_url + "/widget.js"
    image = server.http_url + "/demo/img/sku-tee.svg"
    html = shop_html(src, attrs=f'data-product-image="{image}"')
    with serve_pages({"/p": html}) as shop:
        _, page = await browsers.new_page("shop", **DESKTOP)
        traffic = Traffic(page)
        await page.goto(shop + "/p", wait_until="load")
        await expect(page.get_by_test_id("launcher")).to_be_visible()
        await page.wait_for_load_state("networkidle")
        assert traffic.to(server.http_url) == [src], traffic.to(server.http_url)
        assert not traffic.sockets and not traffic.images(), (traffic.sockets, traffic.images())
        launcher = await body_bytes(next(r for r in traffic.requests if r.url == src))
        print(f"launcher on the wire: {launcher}")
        assert launcher["encoding"] in ("gzip", "br") and launcher["vary"] == "Accept-Encoding", launcher
        assert launcher["body"] <= LAUNCHER_BUDGET, launcher

        # opening loads the panel (one immutable, compressed bundle), still no socket without a room
        await page.get_by_test_id("launcher").click()
        await expect(page.get_by_test_id("start")).to_be_visible()
        loaded = [u for u in traffic.to(server.http_url) if u != src]
        assert len(loaded) == 1 and "/static/widget-panel." in loaded[0], loaded
        panel = await body_bytes(next(r for r in traffic.requests if r.url == loaded[0]))
        print(f"panel on the wire: {panel}")
        assert panel["encoding"] in ("gzip", "br")
        assert not traffic.sockets


async def test_returning_shopper_connects_only_on_open(server: ServerProcess, browsers: Browsers) -> None:
    src = server.http_url + "/widget.js"
    with serve_pages({"/p": shop_html(src)}) as shop:
        _, page = await browsers.new_page("shop", **DESKTOP)
        remembered = {"token": "t_gone", "room": "r_x", "member": "m_x", "invite_code": "i_x", "invite_url": "x"}
        key = f"cosession:widget:{server.http_url}:pk_any"
        await page.add_init_script(f"localStorage.setItem({json.dumps(key)}, {json.dumps(json.dumps(remembered))})")
        traffic = Traffic(page)
        await page.goto(shop + "/p", wait_until="load")
        launcher = page.get_by_test_id("launcher")
        await expect(launcher).to_have_accessible_name("Shopping with friends")  # from storage, no request
        await page.wait_for_load_state("networkidle")
        assert traffic.to(server.http_url) == [src] and not traffic.sockets and not traffic.images()

        async with page.expect_websocket() as opened:
            await launcher.click()
        socket = await opened.value
        assert socket.url.startswith(server.ws_url.replace("/v1/ws", "")), socket.url
        # the remembered room is gone: the start form explains
        gone = "That room is no longer available. Start a new one."
        await expect(page.get_by_test_id("start-error")).to_have_text(gone)
