"""axe-core (WCAG 2.2 A/AA and best practice, serious and critical) on the room page at
360 px and 1280 px — join form and every tab, with a busy room — and on the widget panel
(start form and every tab, inside the shadow root); the room page with a checkout note and
the catalog's price and stock flags, also in forced-colours mode; the tabs in forced-colours
mode; and the room page reflowing at 320 CSS px (400 % zoom)."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.async_api import Page, expect

from cosession_client import RoomClient
from protocol.messages import Product
from tests.browser.a11y import serious_violations
from tests.browser.conftest import DESKTOP, PHONE, Browsers, artifact
from tests.browser.test_checkout_ui import retail_room
from tests.conftest import ServerFactory
from tests.support.catalog_server import CatalogServer
from tests.support.server import ServerProcess

PANEL = ["cosession-widget", "[data-testid=panel]"]
SHOE = Product(id="shoe", name="Trail shoe", price=8990, currency="EUR", url="https://shop.example/shoe")
SOCKS = Product(id="sock", name="Wool socks", price=199, currency="EUR")


def report(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=1)[:4000]


async def busy_room(server: ServerProcess, owner: RoomClient) -> None:
    await owner.add_to_cart(SHOE, 1)
    await owner.add_to_cart(SOCKS, 3)
    await owner.chat("Which colour?", SHOE)
    await owner.chat("Socks are cheap")


async def join(page: Page, url: str, name: str = "Pat") -> None:
    await page.goto(url)
    await page.get_by_test_id("join-name").fill(name)
    await page.get_by_test_id("join").click()
    await expect(page.get_by_test_id("status")).to_have_attribute("data-status", "live")


async def each_tab(page: Page, label: str) -> None:
    for name in ("Cart", "Chat", "People"):
        tab = page.get_by_role("tab", name=re.compile(name))
        if await tab.is_visible():
            await tab.click()
            await expect(tab).to_have_attribute("aria-selected", "true")
        await page.screenshot(path=artifact(f"axe-{label}-{name.lower()}.png"))
        found = await serious_violations(page)
        assert found == [], f"{label} {name}: {report(found)}"


async def test_room_page_has_no_serious_axe_violations_at_360_and_1280(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory()
    created = await server.create_room(name="Ana's shopping", owner_name="Ana")
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        await busy_room(server, owner)
        _, page = await browsers.new_page("phone", bypass_csp=True, **PHONE)
        await page.goto(created["invite"]["url"])
        found = await serious_violations(page)
        assert found == [], f"join form: {report(found)}"
        assert await page.locator("main").count() == 1 and await page.locator("h1").count() == 1
        await join(page, created["invite"]["url"])
        await expect(page.locator("[data-testid=cart-line]")).to_have_count(2)
        assert await page.locator("main h1:visible").count() == 1
        await each_tab(page, "room-360")
        await page.set_viewport_size(DESKTOP["viewport"])
        await expect(page.get_by_role("tab").first).to_be_hidden()
        await each_tab(page, "room-1280")


async def test_room_page_with_checkout_note_and_catalog_flags_has_no_serious_axe_violations(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    catalog = CatalogServer()
    await catalog.start()
    try:
        server = await server_factory("--catalog-interval", "0.3")
        created = await retail_room(server, catalog, "Ana's shopping", "Ana")
        catalog.prices["shoe"] = 9490
        catalog.out_of_stock.add("sock")
        async with RoomClient.connect(created["token"], server=server.http_url) as owner:
            await busy_room(server, owner)
            await owner.request_checkout("all")
            _, page = await browsers.new_page("phone", bypass_csp=True, **PHONE)
            await join(page, created["invite"]["url"])
            shoe = page.locator('[data-testid=cart-line][data-product="shoe"]')
            sock = page.locator('[data-testid=cart-line][data-product="sock"]')
            await expect(shoe.get_by_test_id("line-flag")).to_have_attribute("data-kind", "price-up")
            await expect(sock.get_by_test_id("line-flag")).to_have_attribute("data-kind", "out-of-stock")
            await expect(page.get_by_test_id("checkout-note")).to_have_count(1)
            await each_tab(page, "retail-360")
            await page.set_viewport_size(DESKTOP["viewport"])
            await expect(page.get_by_test_id("checkout-note")).to_be_visible()
            await expect(shoe.get_by_test_id("line-flag")).to_be_visible()
            await each_tab(page, "retail-1280")
            # forced colours: flags and the note keep a visible border in the system colours
            await page.emulate_media(forced_colors="active")
            marks = await page.evaluate(
                """() => [...document.querySelectorAll('[data-testid=line-flag], [data-testid=checkout-note]')]
                     .map((el) => { const s = getComputedStyle(el);
                       return {border: s.borderTopColor, width: s.borderTopWidth, bg: s.backgroundColor}; })"""
            )
            await page.screenshot(path=artifact("axe-retail-forced-colours.png"))
            assert len(marks) == 3, marks
            for m in marks:
                assert m["border"] != m["bg"] and m["width"] != "0px", marks
    finally:
        await catalog.stop()


async def test_widget_panel_has_no_serious_axe_violations_on_each_tab(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory("--demo")
    _, page = await browsers.new_page("desktop", bypass_csp=True, **DESKTOP)
    await page.goto(server.http_url + "/demo")
    await page.get_by_test_id("launcher").click()
    await expect(page.get_by_test_id("start-name")).to_be_visible()
    await page.get_by_test_id("start-name").fill("Dana")
    await page.get_by_test_id("start").click()
    await expect(page.get_by_test_id("status")).to_have_attribute("data-status", "live")
    invite = await page.get_by_test_id("invite-link").input_value()
    code = invite.rsplit("/", 1)[1]
    joined = await server.accept(code, "Olga")
    async with RoomClient.connect(joined["token"], server=server.http_url) as friend:
        await busy_room(server, friend)
        await expect(page.locator("[data-testid=cart-line]")).to_have_count(2)
        await page.get_by_test_id("page-product").get_by_test_id("add-product").click()
        await expect(page.locator("[data-testid=cart-line]")).to_have_count(3)
        for name in ("Cart", "Chat", "Friends"):
            tab = page.get_by_role("tab", name=re.compile(name))
            await tab.click()
            await expect(tab).to_have_attribute("aria-selected", "true")
            await page.screenshot(path=artifact(f"axe-widget-{name.lower()}.png"))
            found = await serious_violations(page, PANEL)
            assert found == [], f"widget {name}: {report(found)}"


async def test_tabs_in_forced_colours_show_only_the_selected_tab_as_selected(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory()
    created = await server.create_room()
    _, page = await browsers.new_page("phone", **PHONE)
    await page.emulate_media(forced_colors="active")
    await join(page, created["invite"]["url"])
    marks = await page.evaluate(
        """() => [...document.querySelectorAll('[role=tab]')].map((t) => {
             const s = getComputedStyle(t);
             return {selected: t.getAttribute('aria-selected'), border: s.borderBottomColor,
                     width: s.borderBottomWidth, bg: s.backgroundColor};
           })"""
    )
    await page.screenshot(path=artifact("room-forced-colours.png"))
    selected = [m for m in marks if m["selected"] == "true"]
    others = [m for m in marks if m["selected"] == "false"]
    assert len(selected) == 1 and len(others) == 2, marks
    for m in others:  # no visible underline: the border is the background colour
        assert m["border"] == m["bg"], marks
    assert selected[0]["border"] != selected[0]["bg"] and selected[0]["width"] != others[0]["width"], marks


async def test_room_page_reflows_at_320_css_px(server_factory: ServerFactory, browsers: Browsers) -> None:
    """1280 px at 400 % zoom is 320 CSS px wide: no horizontal scrolling, nothing cut off."""
    server = await server_factory()
    created = await server.create_room(name="A long room name that needs to wrap or be cut", owner_name="Ana")
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        await busy_room(server, owner)
        _, page = await browsers.new_page("zoom", viewport={"width": 320, "height": 256})
        await join(page, created["invite"]["url"])
        await page.evaluate("() => document.fonts.ready")
        for name in ("Cart", "Chat", "People"):
            await page.get_by_role("tab", name=re.compile(name)).click()
            await page.screenshot(path=artifact(f"room-320-{name.lower()}.png"), full_page=True)
            wide = await page.evaluate(
                """() => {
                  const out = [];
                  for (const el of document.querySelectorAll('[data-testid=room-view] *')) {
                    const r = el.getBoundingClientRect();
                    if (r.width && (r.right > innerWidth + 1 || r.left < -1)) out.push(el.outerHTML.slice(0, 80));
                  }
                  return {scroll: document.documentElement.scrollWidth, out: out.slice(0, 5)};
                }"""
            )
            assert wide["scroll"] <= 320 and wide["out"] == [], (name, wide)
