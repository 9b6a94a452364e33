"""Checkout hand-off and revalidation in real browsers: the widget (owner, the demo shop)
and the phone room page. The catalog is a real HTTP server in this test process; the page
gets the signed snapshot in its ``checkout`` event and it verifies with docs/checkout.md."""

from __future__ import annotations

import copy
from typing import Any

from playwright.async_api import expect

from cosession.retail.signing import checkout_key
from tests.browser.conftest import Browsers, artifact
from tests.browser.test_shopping_together import join_phone, line, start_desktop, tab
from tests.conftest import ServerFactory
from tests.integration.test_checkout import verify_checkout
from tests.support.catalog_server import CatalogServer
from tests.support.server import ServerProcess


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
