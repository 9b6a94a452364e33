"""A desktop shopper (the demo shop, widget embedded) and a phone (the room page, joined
through the invite link) shop together in real Chromium: cart, votes, chat with product
cards, presence, focus and follow; then the phone loses its network and catches up."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import BrowserContext, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, Browsers, artifact
from tests.conftest import ServerFactory
from tests.support.server import ServerProcess


def line(page: Page, product: str) -> Any:
    return page.locator(f'[data-testid=cart-line][data-product="{product}"]')


def person(page: Page, name: str) -> Any:
    return page.locator(f'[data-testid=person][data-name="{name}"]')


async def tab(page: Page, name: str) -> None:
    await page.get_by_role("tab", name=re.compile(name)).click()


async def start_desktop(browsers: Browsers, server: ServerProcess) -> Page:
    _, desktop = await browsers.new_page("desktop", **DESKTOP)
    await desktop.goto(server.http_url + "/demo")
    await desktop.get_by_test_id("launcher").click()
    await desktop.get_by_test_id("start-name").fill("Dana")
    await desktop.get_by_test_id("start").click()
    await expect(desktop.get_by_test_id("status")).to_have_text("Live")
    return desktop


async def join_phone(browsers: Browsers, invite_url: str) -> tuple[BrowserContext, Page]:
    ctx, phone = await browsers.new_page("phone", **PHONE)
    await phone.goto(invite_url)
    await expect(phone.get_by_role("heading")).to_contain_text("Dana's shopping")
    await phone.get_by_test_id("join-name").fill("Pat")
    await phone.screenshot(path=artifact("phone-join.png"))
    await phone.get_by_test_id("join").click()
    await expect(phone.get_by_test_id("status")).to_have_text("Live")
    return ctx, phone


async def snapshot(server: ServerProcess, page: Page) -> dict[str, Any]:
    """The server's snapshot over REST, with the member token the room page stored."""
    session = await page.evaluate(
        "() => JSON.parse(Object.entries(localStorage).find(([k]) => k.startsWith('cosession:invite:'))[1])"
    )
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        r = await http.get(
            f"/v1/rooms/{session['room']}/snapshot", headers={"authorization": f"Bearer {session['token']}"}
        )
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data


async def test_desktop_widget_and_phone_page_shop_together(server_factory: ServerFactory, browsers: Browsers) -> None:
    server = await server_factory("--demo")
    desktop = await start_desktop(browsers, server)
    invite_url = await desktop.get_by_test_id("invite-link").input_value()
    assert re.fullmatch(re.escape(server.http_url) + r"/r/i_[\w-]+", invite_url), invite_url

    # the desktop adds the product on its page
    await desktop.get_by_test_id("page-product").get_by_test_id("add-product").click()
    await expect(line(desktop, "sku-tee")).to_have_count(1)

    ctx, phone = await join_phone(browsers, invite_url)
    await expect(line(phone, "sku-tee").get_by_test_id("line-name")).to_have_text("Organic cotton tee")
    await expect(line(phone, "sku-tee")).to_contain_text("added by Dana")
    # the desktop's launcher badge says so to screen readers too (the shell's live region)
    friend = re.compile("1 friend in your room")
    await expect(desktop.get_by_test_id("launcher")).to_have_accessible_name(friend)
    await expect(desktop.locator("cosession-widget").get_by_role("status").first).to_have_text(friend)

    # presence and focus, both ways
    await tab(phone, "People")
    await expect(person(phone, "Dana").get_by_test_id("person-focus")).to_contain_text("Organic cotton tee")
    await tab(desktop, "Friends")
    await expect(person(desktop, "Pat").get_by_test_id("person-name")).to_have_attribute("data-device", "phone")
    await expect(person(phone, "Dana").get_by_test_id("person-name")).to_have_attribute("data-device", "desktop")
    await expect(desktop.locator("#log")).to_contain_text("member-joined: Pat")  # the page's cosession.on(...)

    # the phone follows Dana; Dana browses to another product (setProduct, no reload)
    await person(phone, "Dana").get_by_test_id("follow").click()
    await expect(phone.get_by_test_id("followed-focus")).to_contain_text("Organic cotton tee")
    await desktop.locator(".thumb[data-id=sku-sneaker]").click()
    await expect(phone.get_by_test_id("followed-focus")).to_contain_text("Trail runner sneakers")
    await expect(person(desktop, "Pat").get_by_test_id("person-focus")).to_contain_text("following You")

    # the phone edits the cart: adds what Dana looks at, one more tee, a vote
    await phone.get_by_test_id("followed-focus").get_by_test_id("add-product").click()
    await expect(phone.get_by_test_id("cart-line")).to_have_count(2)
    await line(phone, "sku-tee").get_by_test_id("qty-inc").click()
    await line(phone, "sku-tee").get_by_test_id("vote-up").click()
    await tab(desktop, "Cart")
    await expect(line(desktop, "sku-sneaker")).to_contain_text("added by Pat")
    await expect(line(desktop, "sku-tee").get_by_test_id("qty")).to_have_text("2")
    await expect(line(desktop, "sku-tee").get_by_test_id("up-count")).to_have_text("1")
    # the desktop votes it down, removes nothing, and the phone sees the vote
    await line(desktop, "sku-sneaker").get_by_test_id("vote-down").click()
    await expect(line(phone, "sku-sneaker").get_by_test_id("down-count")).to_have_text("1")

    # chat with a product card, both ways
    await tab(desktop, "Chat")
    await desktop.get_by_test_id("attach").click()
    await desktop.get_by_test_id("chat-input").fill("What about these?")
    await desktop.get_by_test_id("send").click()
    await tab(phone, "Chat")
    last = phone.get_by_test_id("chat-message").last
    await expect(last.get_by_test_id("chat-text")).to_have_text("What about these?")
    await expect(last.get_by_test_id("product-card")).to_contain_text("Trail runner sneakers")
    await phone.get_by_test_id("chat-input").fill("Love them! Size 42?")
    await phone.get_by_test_id("send").click()
    await expect(desktop.get_by_test_id("chat-message").last).to_contain_text("Love them! Size 42?")
    await expect(desktop.get_by_test_id("chat-message").last).to_contain_text("Pat")

    # the retailer's page gets the cart at checkout (documented cosession.on("checkout"))
    await tab(desktop, "Cart")
    await desktop.get_by_test_id("checkout").click()
    await expect(desktop.locator("#log")).to_contain_text("checkout → the shop's own checkout with 2 line(s)")

    # both UIs agree with the server
    snap = await snapshot(server, phone)
    assert {(c["product"]["id"], c["qty"]) for c in snap["state"]["cart"]} == {("sku-tee", 2), ("sku-sneaker", 1)}
    assert [m["text"] for m in snap["state"]["chat"]] == ["What about these?", "Love them! Size 42?"]

    await tab(phone, "Cart")
    await desktop.screenshot(path=artifact("together-desktop.png"))
    await phone.screenshot(path=artifact("together-phone-cart.png"))
    await tab(phone, "Chat")
    await phone.screenshot(path=artifact("together-phone-chat.png"))
    await tab(phone, "People")
    await phone.screenshot(path=artifact("together-phone-people.png"))

    # a reload rejoins as the same member (the token is kept per invite)
    await phone.reload()
    await expect(phone.get_by_test_id("status")).to_have_text("Live")
    await expect(phone.get_by_test_id("cart-line")).to_have_count(2)
    snap = await snapshot(server, phone)
    assert sorted(m["name"] for m in snap["state"]["members"].values()) == ["Dana", "Pat"]
    await ctx.close()


async def test_phone_offline_edits_are_queued_and_applied_once(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory("--demo")
    desktop = await start_desktop(browsers, server)
    await desktop.get_by_test_id("page-product").get_by_test_id("add-product").click()
    invite_url = await desktop.get_by_test_id("invite-link").input_value()
    phone_ctx, phone = await join_phone(browsers, invite_url)
    await expect(line(phone, "sku-tee").get_by_test_id("qty")).to_have_text("1")

    # the network drops: the page says so, and edits are queued, not lost
    await phone_ctx.set_offline(True)
    await expect(phone.get_by_test_id("status")).to_have_text("Offline")
    await line(phone, "sku-tee").get_by_test_id("qty-inc").click()
    await tab(phone, "Chat")
    await phone.get_by_test_id("chat-input").fill("sent from the fitting room")
    await phone.get_by_test_id("send").click()
    await expect(phone.get_by_test_id("banner")).to_contain_text("Offline — 2 edits queued")
    await phone.screenshot(path=artifact("offline-phone.png"))
    # local state changes only from server events: the queued chat is not shown as sent
    await expect(phone.get_by_test_id("chat-message")).to_have_count(0)
    await expect(phone.get_by_test_id("chat-pending")).to_contain_text("Not sent yet")

    # meanwhile the desktop keeps shopping
    await desktop.locator(".thumb[data-id=sku-mug]").click()
    await desktop.get_by_test_id("page-product").get_by_test_id("add-product").click()
    await tab(desktop, "Chat")
    await desktop.get_by_test_id("chat-input").fill("I found a mug")
    await desktop.get_by_test_id("send").click()
    await expect(desktop.get_by_test_id("chat-message")).to_have_count(1)

    # back online: the phone resumes, gets what it missed, and its edits land once
    await phone_ctx.set_offline(False)
    await expect(phone.get_by_test_id("status")).to_have_text("Live")
    await expect(phone.get_by_test_id("banner")).to_be_hidden()
    await expect(phone.get_by_test_id("chat-text")).to_have_text(["I found a mug", "sent from the fitting room"])
    await expect(phone.get_by_test_id("chat-pending")).to_have_count(0)
    await tab(phone, "Cart")
    await expect(line(phone, "sku-mug")).to_contain_text("added by Dana")
    await expect(line(phone, "sku-tee").get_by_test_id("qty")).to_have_text("2")
    await expect(desktop.get_by_test_id("chat-text")).to_have_text(["I found a mug", "sent from the fitting room"])

    # a retry of an op whose ack was lost: the socket drops right after the op went out,
    # the client resends it under its original ref, and the server applies it once
    resent = await phone.evaluate(
        """async () => {
            const conn = window.__cosession.conn;
            const reconnects = conn.reconnects;
            const done = conn.chat("said once, sent twice");
            conn.dropConnection();
            const seq = await done;
            return { seq, reconnected: conn.reconnects > reconnects };
        }"""
    )
    assert resent["reconnected"] and resent["seq"] > 0
    await expect(phone.get_by_test_id("status")).to_have_text("Live")

    snap = await snapshot(server, phone)
    texts = [m["text"] for m in snap["state"]["chat"]]
    assert texts == ["I found a mug", "sent from the fitting room", "said once, sent twice"], texts
    cart = {c["product"]["id"]: c["qty"] for c in snap["state"]["cart"]}
    assert cart == {"sku-tee": 2, "sku-mug": 1}, cart
    # the phone's state is exactly the server's
    state = await phone.evaluate("() => window.__cosession.conn.state.seq")
    assert state == snap["seq"]
    await phone.screenshot(path=artifact("offline-phone-back-online.png"))
