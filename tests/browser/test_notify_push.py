"""The room page's "Notify me" flow in real Chromium (SPEC 18): the permission is asked
only from a click (granted through the Playwright context), the service worker /sw.js is
registered for scope /r/, and the subscription reaches the server; a vote while the page
is closed is then pushed to the test's real push receiver and decrypted there. The
service worker shows a pushed message (delivered through the DevTools protocol) as a
localized notification that opens the room.

Chromium's own push service (FCM) cannot be reached from this machine, so
``PushManager.subscribe`` is the one thing replaced: it returns a subscription whose
endpoint and keys belong to the test's push receiver (generated in Python, as the browser
would). Everything else is the real browser and the real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import DESKTOP, Browsers
from tests.integration.test_notify_push import PUSH_ENV
from tests.support.push_receiver import PushReceiver
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

# PushManager.subscribe / getSubscription backed by a subscription of the test's receiver
STUB = """
(() => {
  const json = %s;
  let current = null;
  const make = () => ({
    endpoint: json.endpoint, expirationTime: null, options: { userVisibleOnly: true },
    toJSON: () => json,
    unsubscribe: async () => { current = null; return true; },
  });
  if (self.PushManager) {
    PushManager.prototype.subscribe = async function (opts) {
      const key = opts && opts.applicationServerKey;
      if (!key || key.byteLength !== 65) throw new Error("bad key");
      self.__subscribedWith = opts.applicationServerKey.byteLength;
      return (current = make());
    };
    PushManager.prototype.getSubscription = async function () { return current; };
  }
})();
"""


@pytest.fixture
async def push() -> AsyncIterator[PushReceiver]:
    r = await PushReceiver().start()
    try:
        yield r
    finally:
        await r.stop()


async def settings_of(server: ServerProcess, room: str, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{server.http_url}/v1/rooms/{room}/notify", headers={"authorization": f"Bearer {token}"})
    r.raise_for_status()
    data: dict[str, Any] = r.json()
    return data


async def test_notify_me_registers_the_service_worker_and_the_subscription(
    browsers: Browsers, push: PushReceiver, tmp_path: Any
) -> None:
    # closing the browser may hide the page first (away, SPEC 15): a member whose last
    # connection was away stays "away" for away_grace before leaving; keep both graces short
    server = ServerProcess(tmp_path, "--presence-grace", "0.3", env={**PUSH_ENV, "COSESSION_AWAY_GRACE": "0.3"})
    await server.start()
    try:
        room = await server.create_room(owner_name="Olga")
        owner, _ = await RawClient.join(server.ws_url, room["token"])
        sub = push.subscription("pat")
        ctx, page = await browsers.new_page("pat", **DESKTOP)
        await ctx.grant_permissions(["notifications"], origin=server.http_url)
        await ctx.add_init_script(STUB % json.dumps(sub.to_json()))
        code = room["invite"]["code"]
        await page.goto(f"{server.http_url}/r/{code}")
        await page.get_by_test_id("join-name").fill("Pat")
        await page.get_by_test_id("join").click()
        await expect(page.get_by_test_id("status")).to_have_text("Live")
        session = await page.evaluate(
            "() => JSON.parse(Object.entries(localStorage).find(([k]) => k.startsWith('cosession:invite:'))[1])"
        )
        notify_me = page.get_by_test_id("notify-me")
        await expect(notify_me).to_have_attribute("aria-pressed", "false")
        assert await page.evaluate("() => navigator.serviceWorker.getRegistration('/r/').then((r) => !!r)") is False
        await notify_me.focus()
        await page.keyboard.press("Enter")  # the user gesture: keyboard works like a click
        await expect(notify_me).to_have_attribute("aria-pressed", "true")
        await expect(page.get_by_test_id("notify-status")).to_have_text("You will be notified while you are away.")
        reg = await page.evaluate(
            """async () => { const r = await navigator.serviceWorker.getRegistration('/r/');
                 await navigator.serviceWorker.ready;
                 return { scope: r.scope, script: (r.active || r.waiting || r.installing).scriptURL }; }"""
        )
        assert reg == {"scope": f"{server.http_url}/r/", "script": f"{server.http_url}/sw.js"}
        assert await page.evaluate("() => self.__subscribedWith") == 65  # the server's VAPID key, decoded
        settings = await settings_of(server, session["room"], session["token"])
        assert settings["subscriptions"] == 1 and settings["muted"] is False

        # the service worker shows a pushed message and keeps the room page URL for the click
        cdp = await ctx.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
        await cdp.send("ServiceWorker.enable")
        for _ in range(200):  # bounded: 10 s
            if any(r["scopeURL"].endswith("/r/") for r in registrations):
                break
            await asyncio.sleep(0.05)
        reg_id = next(r["registrationId"] for r in registrations if r["scopeURL"].endswith("/r/"))
        data = {"t": "notification", "room": session["room"], "reasons": {"vote": 2}, "count": 2, "digest": True,
                "url": f"/r/{code}"}  # fmt: skip
        shown = None
        for _ in range(3):  # DevTools may drop a delivery while the worker starts up: try again
            await cdp.send(
                "ServiceWorker.deliverPushMessage",
                {"origin": server.http_url, "registrationId": reg_id, "data": json.dumps(data)},
            )
            shown = await page.evaluate(
                """async () => { const r = await navigator.serviceWorker.getRegistration('/r/');
                     for (let i = 0; i < 60; i++) {
                       const n = await r.getNotifications();
                       if (n.length) return { title: n[0].title, body: n[0].body, url: n[0].data.url };
                       await new Promise((ok) => setTimeout(ok, 50));
                     }
                     return null; }"""
            )
            if shown is not None:
                break
        assert shown == {"title": "While you were away", "body": "2 votes on your items.", "url": f"/r/{code}"}

        # mute and unmute from the page
        mute = page.get_by_test_id("notify-mute")
        await mute.click()
        await expect(mute).to_have_attribute("aria-pressed", "true")
        assert (await settings_of(server, session["room"], session["token"]))["muted"] is True
        await mute.click()
        await expect(mute).to_have_attribute("aria-pressed", "false")

        # Pat adds a line, closes the browser; a vote on it is pushed to Pat's subscription
        line = await page.evaluate(
            "() => window.__cosession.conn.submit({t: 'cart.add', qty: 1,"
            " product: {id: 'p1', name: 'Jacket', price: 4900, currency: 'EUR'}})"
        )
        await ctx.close()
        while True:  # until the owner sees Pat leave (bounded by expect's timeout)
            msg = await owner.recv(timeout=10)
            if type(msg).__name__ == "PresenceUpdate" and msg.kind == "leave":  # type: ignore[attr-defined]
                break
        from tests.integration.test_notify_webhook import vote

        await vote(owner, line)
        [got] = await push.wait_for(1)
        assert got.payload["url"] == f"/r/{code}" and got.payload["reasons"] == {"vote": 1}
        assert got.vapid_key == settings["push_key"] and push.refused == []
        await owner.close()
    finally:
        server.kill()
