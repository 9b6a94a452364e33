"""A page on an origin that the tenant did not allow can neither create rooms (the
browser's CORS check refuses the response) nor connect (the server closes the WebSocket
with 4003); a page on an allowed origin can do both. Real Chromium, real CORS."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page

from protocol.errors import CloseCode
from tests.browser.conftest import DESKTOP, Browsers
from tests.browser.pages import serve_pages
from tests.integration.test_tenants import create_tenant
from tests.support.server import ServerProcess

PAGE = "<!doctype html><title>shop</title><link rel=icon href='data:,'><h1>A shop</h1>"

CREATE_ROOM = """async ([server, key]) => {
    try {
        const r = await fetch(server + "/v1/rooms", {
            method: "POST",
            headers: { "authorization": "Bearer " + key, "content-type": "application/json" },
            body: JSON.stringify({ owner_name: "Ana" }),
        });
        return { ok: true, status: r.status, body: await r.json() };
    } catch (e) {
        return { ok: false, error: String(e) };
    }
}"""

# The JSON subprotocol keeps this page free of any bundle: hello, then the first frame
# and the close code.
CONNECT = """([url, token]) => new Promise((resolve) => {
    const frames = [];
    const ws = new WebSocket(url, "cosession.v1.json");
    const timer = setTimeout(() => resolve({ frames, code: null }), 8000);
    ws.onopen = () => ws.send(JSON.stringify({ t: "hello", token, client: "origin-test" }));
    ws.onmessage = (ev) => {
        const msg = JSON.parse(ev.data);
        frames.push(msg);
        if (msg.t === "welcome") { clearTimeout(timer); ws.close(); resolve({ frames, code: "welcomed" }); }
    };
    ws.onclose = (ev) => { clearTimeout(timer); resolve({ frames, code: ev.code }); };
})"""


async def create_room(page: Page, server: ServerProcess, key: str) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(CREATE_ROOM, [server.http_url, key])
    return result


async def connect(page: Page, server: ServerProcess, token: str) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(CONNECT, [server.ws_url, token])
    return result


async def test_foreign_origin_cannot_create_rooms_or_connect(server: ServerProcess, browsers: Browsers) -> None:
    with serve_pages({"/": PAGE}) as allowed, serve_pages({"/": PAGE}) as foreign:
        tenant = await create_tenant(server, allowed)
        pk = tenant["publishable_key"]
        _, page = await browsers.new_page("shop", **DESKTOP)

        # the allowed origin: the browser lets the page read the new room
        await page.goto(allowed + "/")
        made = await create_room(page, server, pk)
        assert made["ok"] and made["status"] == 201, made
        joined = await connect(page, server, made["body"]["token"])
        assert joined["code"] == "welcomed", joined

        # a foreign origin: the fetch fails as a CORS error, the socket is closed with 4003
        await page.goto(foreign + "/")
        refused = await create_room(page, server, pk)
        assert not refused["ok"] and "Failed to fetch" in refused["error"], refused
        # (the server answered 403 to the preflight: no room was made)
        closed = await connect(page, server, made["body"]["token"])
        assert closed["code"] == CloseCode.FORBIDDEN, closed
        assert closed["frames"] and closed["frames"][0]["t"] == "error"
        assert closed["frames"][0]["code"] == "forbidden"

        # the publishable key is no secret key, whoever calls it
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
            auth = {"authorization": f"Bearer {pk}", "origin": allowed}
            for method, path in (("GET", "/v1/tenant"), ("GET", f"/v1/rooms/{made['body']['room']}/snapshot")):
                r = await http.request(method, path, headers=auth)
                assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (path, r.text)
            r = await http.get("/v1/tenant", headers={"authorization": f"Bearer {tenant['secret_key']}"})
            assert r.status_code == 200
