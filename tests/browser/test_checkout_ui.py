"""Checkout hand-off and revalidation in real browsers: the widget (owner, the demo shop)
and the phone room page. The catalog is a real HTTP server in this test process; the page
gets the signed snapshot in its ``checkout`` event and it verifies with docs/checkout.md.
On the room page, notes and flags are keyed items updated in place: one note per checkout
and one flag set per line after any number of updates, focus kept, changes announced."""

from __future__ import annotations

import copy
from typing import Any

import httpx
from playwright.async_api import Page, expect

from cosession.retail.signing import checkout_key
from cosession_client import RoomClient
from protocol.messages import Product
from tests.browser.conftest import PHONE, Browsers, artifact
from tests.browser.test_shopping_together import join_phone, line, start_desktop, tab
from tests.conftest import ServerFactory
from tests.integration.test_checkout import join, verify_checkout
from tests.integration.test_tenants import bearer, create_tenant
from tests.support.catalog_server import CatalogServer
from tests.support.server import ServerProcess

SHIRT = Product(id="shirt", name="Linen shirt", price=4900, currency="EUR")
MUG = Product(id="mug", name="Mug", price=1200, currency="EUR")

# every text the announcer's live region shows, in order (it is replaced batch by batch)
RECORD_ANNOUNCEMENTS = """() => {
  window.__said = [];
  const region = document.querySelector('[data-testid=announce]');
  new MutationObserver(() => { if (region.textContent) window.__said.push(region.textContent); })
    .observe(region, {childList: true, characterData: true, subtree: true});
}"""

# the focused element: its test id, and the product of the cart line it is in
FOCUSED = """() => {
  const a = document.activeElement;
  const lineEl = a && a.closest('[data-testid=cart-line]');
  const desc = (a.getAttribute('aria-describedby') || '').split(' ').filter(Boolean)
    .map((id) => document.getElementById(id).textContent).join(' ');
  return {testid: a.dataset.testid || a.tagName, product: lineEl ? lineEl.dataset.product : null, desc,
          value: a.value === undefined ? null : a.value};
}"""

# the chat list: each item's kind and seq, in DOM order
TIMELINE = """() => [...document.querySelectorAll('[data-testid=chat] > li')].map((li) =>
  li.dataset.testid === 'checkout-note' ? ['note', Number(li.dataset.seq), li.dataset.checkout]
                                        : ['msg', Number(li.dataset.id), null])"""


async def set_catalog(server: ServerProcess, tenant: str, url: str) -> None:
    from cosession.retail.catalog_store import CatalogSettings
    from cosession.store.store_sql import SqlStore
    from cosession.tenants.store import TenantStore

    store = SqlStore(f"sqlite:///{server.db}")
    await store.start()
    try:
        await CatalogSettings(TenantStore(store)).set(tenant, url)
    finally:
        await store.close()


async def retail_room(
    server: ServerProcess, catalog: CatalogServer, name: str = "Brunch", owner_name: str = "Ana"
) -> dict[str, Any]:
    """A tenant's room (made with its secret key) whose cart the catalog re-checks."""
    tenant = await create_tenant(server)
    await set_catalog(server, tenant["id"], catalog.url)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.post(
            "/v1/rooms", json={"name": name, "owner_name": owner_name}, headers=bearer(tenant["secret_key"])
        )
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created


async def join_room_page(browsers: Browsers, url: str, label: str, name: str = "Pat", **options: Any) -> Page:
    _, page = await browsers.new_page(label, **{**PHONE, **options})
    await page.goto(url)
    await page.get_by_test_id("join-name").fill(name)
    await page.get_by_test_id("join").click()
    await expect(page.get_by_test_id("status")).to_have_attribute("data-status", "live")
    return page


async def test_room_page_keeps_one_note_per_checkout_and_one_flag_set_per_line_and_focus(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    catalog = CatalogServer()
    await catalog.start()
    try:
        server = await server_factory("--catalog-interval", "0.3")
        created = await retail_room(server, catalog)
        catalog.prices["shirt"] = 5200
        async with RoomClient.connect(created["token"], server=server.http_url) as ana:
            shirt = await ana.add_to_cart(SHIRT, 1)
            bo = await join(server, created, "Bo")
            try:
                page = await join_room_page(browsers, created["invite"]["url"], "phone")
                await page.evaluate(RECORD_ANNOUNCEMENTS)
                flag = line(page, "shirt").get_by_test_id("line-flag")
                await expect(flag).to_have_attribute("data-kind", "price-up")
                await expect(flag).to_have_text("Price now €52.00 (was €49.00)")
                await expect(line(page, "shirt").get_by_test_id("line-unit")).to_have_text("€52.00")
                await flag.evaluate("(el) => { el.__first = true; }")
                inc = line(page, "shirt").get_by_test_id("qty-inc")
                await inc.focus()

                # another member's checkout, cart edits and chat while focus is on "+"
                await ana.request_checkout("all")
                await bo.add_to_cart(MUG, 1)
                for i in range(4):
                    await bo.chat(f"look {i}")
                    await ana.set_quantity(shirt, 2 + i)
                    await expect(line(page, "shirt").get_by_test_id("qty")).to_have_text(str(2 + i))
                catalog.prices["shirt"] = 3900
                catalog.out_of_stock.add("shirt")
                flags = line(page, "shirt").get_by_test_id("line-flag")
                await expect(flags).to_have_count(2)
                await expect(flags.nth(0)).to_have_attribute("data-kind", "price-down")
                await expect(flags.nth(1)).to_have_text("Out of stock")
                await bo.chat("still there?")
                await expect(page.get_by_role("tab", name="Chat")).to_contain_text("5")
                await page.screenshot(path=artifact("checkout-room-flags.png"))

                # one flag set per line, the price flag updated in place, focus where it was
                for product, want in (("shirt", 2), ("mug", 0)):
                    await expect(line(page, product).get_by_test_id("line-flags")).to_have_count(1)
                    await expect(line(page, product).get_by_test_id("line-flag")).to_have_count(want)
                assert await flags.nth(0).evaluate("(el) => el.__first === true")
                focused = await page.evaluate(FOCUSED)
                assert focused["testid"] == "qty-inc" and focused["product"] == "shirt", focused
                assert "Out of stock" in focused["desc"] and "€39.00" in focused["desc"], focused
                await expect(line(page, "shirt")).to_have_attribute("data-out-of-stock", "true")
                # the total at the revalidated price: 5 x 39.00 + 12.00
                await expect(page.get_by_test_id("cart-total-value")).to_have_text("€207.00")
                await expect(page.get_by_test_id("cart-out-of-stock")).to_have_text("1 line is out of stock")
                said = " | ".join(await page.evaluate("() => window.__said"))
                assert "Checkout started by Ana (the whole cart · 1 line)" in said, said
                assert "Linen shirt: price now €39.00 (was €52.00)" in said, said
                assert "Linen shirt is out of stock" in said, said

                # the chat: a note per checkout, in seq order among the messages, focus kept
                await tab(page, "Chat")
                await page.get_by_test_id("chat-input").fill("draft")
                await bo.request_checkout("mine")
                for i in range(3):
                    await bo.chat(f"more {i}")
                await expect(page.get_by_test_id("chat-message")).to_have_count(8)
                notes = page.get_by_test_id("checkout-note")
                await expect(notes).to_have_count(2)
                await expect(notes.nth(0)).to_have_text("Checkout started by Ana — the whole cart · 1 line")
                await expect(notes.nth(1)).to_have_text("Checkout started by Bo — their lines · 1 line")
                timeline = await page.evaluate(TIMELINE)
                seqs = [seq for _, seq, _ in timeline]
                assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), timeline
                assert [kind for kind, _, _ in timeline].count("note") == 2, timeline
                focused = await page.evaluate(FOCUSED)
                assert focused["testid"] == "chat-input" and focused["value"] == "draft", focused
                await page.screenshot(path=artifact("checkout-room-notes.png"))
            finally:
                await bo.close()
    finally:
        await catalog.stop()


async def test_widget_checkout_carries_the_signed_snapshot_and_lines_show_the_catalog(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    catalog = CatalogServer()
    await catalog.start()
    try:
        server = await server_factory("--demo", "--catalog-interval", "0.5")
        await set_catalog(server, "t_demo", catalog.url)
        catalog.prices["sku-tee"] = 3100  # dearer than the 29.00 on the page
        desktop = await start_desktop(browsers, server)
        await desktop.evaluate("() => window.cosession.on('checkout', (c) => { window.__checkout = c; })")
        await desktop.get_by_test_id("page-product").get_by_test_id("add-product").click()
        invite_url = await desktop.get_by_test_id("invite-link").input_value()
        ctx, phone = await join_phone(browsers, invite_url)

        # every member sees the catalog's verdict on the line
        for page in (desktop, phone):
            await tab(page, "Cart")
            flag = line(page, "sku-tee").get_by_test_id("line-flag")
            await expect(flag).to_have_attribute("data-kind", "price-up")
            await expect(flag).to_contain_text("31.00")
        await phone.screenshot(path=artifact("checkout-phone-price-changed.png"))

        # the owner checks out: the page's event carries the signed snapshot
        await desktop.get_by_test_id("checkout").click()
        await desktop.wait_for_function("() => window.__checkout !== undefined", timeout=10_000)
        event: dict[str, Any] = await desktop.evaluate("() => window.__checkout")
        snap = event["snapshot"]
        assert event["scope"] == "all" and snap["t"] == "checkout.start" and snap["tenant"] == "t_demo"
        assert [(ln["product"]["id"], ln["qty"], ln["price"]) for ln in snap["lines"]] == [("sku-tee", 1, 3100)]
        assert event["lines"][0]["price"] == 3100 and event["total"] == {"EUR": 3100}
        key = checkout_key("test-secret", "t_demo")  # what GET /v1/tenant/checkout-key returns
        assert verify_checkout(snap, key)
        tampered = copy.deepcopy(snap)
        tampered["lines"][0]["price"] = 2900
        assert not verify_checkout(tampered, key)
        await expect(desktop.locator("#log")).to_contain_text("checkout → the shop's own checkout with 1 line(s)")

        # the room shows who started it
        await tab(phone, "Chat")
        note = phone.get_by_test_id("checkout-note")
        await expect(note).to_have_count(1)
        await expect(note).to_contain_text("Checkout started by Dana")
        await phone.screenshot(path=artifact("checkout-phone-note.png"))
        await tab(desktop, "Chat")
        await expect(desktop.get_by_test_id("checkout-note")).to_contain_text("Checkout started by You")
        await ctx.close()
    finally:
        await catalog.stop()
