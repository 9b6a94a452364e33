"""The room page in the shop's language, in real Chromium: `?lang=de` (and a German
browser) shows German strings, prices as "1.234,50 €", and no English string of the room
UI anywhere in its DOM (text, names, titles), also for a checkout note and the catalog's
flags; `?lang=ar` renders right to left.
Screenshots in test-artifacts/."""

from __future__ import annotations

import json
import re

from playwright.async_api import Page, expect

from cosession_client import RoomClient
from protocol.messages import Product
from tests.browser.conftest import DESKTOP, PHONE, ROOT, Browsers, artifact
from tests.browser.test_checkout_ui import retail_room
from tests.conftest import ServerFactory
from tests.support.catalog_server import CatalogServer

TABLES = ROOT / "clients" / "js" / "src" / "i18n" / "locales"
BIKE = Product(id="bike", name="Stadtrad", price=123450, currency="EUR")
BELL = Product(id="bell", name="Klingel", price=990, currency="EUR")

# Everything a person reads or hears in the room UI: text, and accessible names/titles.
UI_TEXT = """() => {
  const widget = document.querySelector('cosession-widget');
  const root = (widget ? widget.shadowRoot : document).querySelector('[data-testid=room-view]');
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) if (n.textContent.trim()) out.push(n.textContent);
  for (const el of root.querySelectorAll('*'))
    for (const a of ['aria-label', 'title', 'alt', 'placeholder'])
      if (el.getAttribute(a)) out.push(el.getAttribute(a));
  return out;
}"""


def english_fragments() -> set[str]:
    """Pieces of English table strings (split at placeholders) that differ in German."""
    en = json.loads((TABLES / "en.json").read_text(encoding="utf-8"))
    de = json.loads((TABLES / "de.json").read_text(encoding="utf-8"))
    out: set[str] = set()
    for key, value in en.items():
        forms = value.values() if isinstance(value, dict) else [value]
        german = json.dumps(de[key], ensure_ascii=False)
        for form in forms:
            for piece in re.split(r"\{\w+\}", form):
                piece = piece.strip(" —:·.,()")
                if len(piece) >= 4 and re.search(r"[A-Za-z]{3}", piece) and piece not in german:
                    out.add(piece)
    return out


async def open_room(browsers: Browsers, url: str, name: str, **options: object) -> Page:
    _, page = await browsers.new_page(name, **PHONE, **options)  # type: ignore[arg-type]
    await page.goto(url)
    await page.get_by_test_id("join-name").fill("Pat")
    await page.get_by_test_id("join").click()
    await expect(page.get_by_test_id("status")).to_have_attribute("data-status", "live")
    return page


async def test_german_room_page_has_german_strings_and_prices_only(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory()
    created = await server.create_room(name="Radtour", owner_name="Jörg")
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        await owner.add_to_cart(BIKE, 1)
        await owner.add_to_cart(BELL, 2)
        await owner.chat("Schau mal", BIKE)
        page = await open_room(browsers, created["invite"]["url"] + "?lang=de", "de")
        await expect(page.locator("html")).to_have_attribute("lang", "de")
        await expect(page.get_by_test_id("room-view")).to_have_attribute("lang", "de")
        bike = page.locator('[data-testid=cart-line][data-product="bike"]')
        await expect(bike.get_by_test_id("line-unit")).to_have_text(re.compile("^1\\.234,50\\s€$"))
        await expect(bike).to_contain_text("hinzugefügt von Jörg")
        await expect(page.get_by_role("tab", name=re.compile("Warenkorb"))).to_have_attribute("aria-selected", "true")
        await expect(page.get_by_test_id("status")).to_have_text("Verbunden")
        await expect(page.get_by_test_id("cart-total")).to_contain_text(re.compile("1\\.254,30\\s€"))
        vote = bike.get_by_test_id("vote-up")
        await expect(vote).to_have_attribute("aria-label", "Dafür stimmen: Stadtrad, 0 Stimmen")
        await owner.add_to_cart(Product(id="lamp", name="Lampe", price=2500, currency="EUR"), 1)
        await expect(page.get_by_test_id("announce")).to_contain_text("Jörg hat Lampe in den Warenkorb gelegt")
        texts: list[str] = []
        for tab in ("Warenkorb", "Chat", "Personen"):
            await page.get_by_role("tab", name=re.compile(tab)).click()
            texts += await page.evaluate(UI_TEXT)
            await page.screenshot(path=artifact(f"room-de-{tab.lower()}.png"))
        fragments = english_fragments()
        assert len(fragments) > 60
        left = sorted({f for f in fragments for text in texts if f in text})
        assert left == [], f"English left in the German room UI: {left}"


async def test_german_room_page_shows_the_checkout_note_and_flags_in_german(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    catalog = CatalogServer()
    await catalog.start()
    try:
        server = await server_factory("--catalog-interval", "0.3")
        created = await retail_room(server, catalog, "Radtour", "Jörg")
        catalog.prices["bike"] = 129900
        catalog.out_of_stock.add("bell")
        async with RoomClient.connect(created["token"], server=server.http_url) as owner:
            await owner.add_to_cart(BIKE, 1)
            await owner.add_to_cart(BELL, 2)
            page = await open_room(browsers, created["invite"]["url"] + "?lang=de", "de-retail")
            bike = page.locator('[data-testid=cart-line][data-product="bike"]')
            bell = page.locator('[data-testid=cart-line][data-product="bell"]')
            price = re.compile("^Preis jetzt 1\\.299,00\\s€ \\(vorher 1\\.234,50\\s€\\)$")
            await expect(bike.get_by_test_id("line-flag")).to_have_text(price)
            await expect(bell.get_by_test_id("line-flag")).to_have_text("Nicht vorrätig")
            await expect(page.get_by_test_id("cart-out-of-stock")).to_have_text("1 Position ist nicht vorrätig")
            await expect(page.get_by_test_id("cart-total")).to_contain_text(re.compile("1\\.318,80\\s€"))
            await owner.request_checkout("all")
            await expect(page.get_by_test_id("announce")).to_contain_text("Bezahlvorgang gestartet: Jörg")
            texts = await page.evaluate(UI_TEXT)
            await page.get_by_role("tab", name=re.compile("Chat")).click()
            note = page.get_by_test_id("checkout-note")
            await expect(note).to_have_text("Bezahlvorgang gestartet: Jörg — der ganze Warenkorb · 2 Positionen")
            texts += await page.evaluate(UI_TEXT)
            await page.screenshot(path=artifact("room-de-checkout-note.png"))
        left = sorted({f for f in english_fragments() for text in texts if f in text})
        assert left == [], f"English left in the German room UI: {left}"
    finally:
        await catalog.stop()


async def test_accept_language_picks_the_language_and_arabic_renders_rtl(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory()
    created = await server.create_room(name="تسوق", owner_name="Layla")
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        await owner.add_to_cart(BELL, 3)
        await owner.chat("مرحبا")
        # the server-rendered join form, before and without the script, in German
        _, de = await browsers.new_page("de-browser", **PHONE, locale="de-DE")
        await de.route("**/static/room.js*", lambda route: route.abort())
        await de.goto(created["invite"]["url"])
        await expect(de.get_by_test_id("join")).to_have_text("Beitreten")
        await expect(de.get_by_text("Ihr Name")).to_be_visible()
        await de.screenshot(path=artifact("room-de-join-no-js.png"))

        page = await open_room(browsers, created["invite"]["url"] + "?lang=ar", "ar")
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        view = page.get_by_test_id("room-view")
        await expect(view).to_have_attribute("dir", "rtl")
        assert await view.evaluate("(el) => getComputedStyle(el).direction") == "rtl"
        cart = await page.get_by_role("tab", name=re.compile("السلة")).bounding_box()
        chat = await page.get_by_role("tab", name=re.compile("الدردشة")).bounding_box()
        assert cart and chat and cart["x"] > chat["x"], (cart, chat)  # the first tab is on the right
        await page.get_by_role("tab", name=re.compile("السلة")).focus()
        await page.keyboard.press("ArrowLeft")  # in RTL, left is the next tab
        await expect(page.get_by_role("tab", name=re.compile("الدردشة"))).to_have_attribute("aria-selected", "true")
        await expect(page.get_by_test_id("chat-text")).to_have_text("مرحبا")
        await page.screenshot(path=artifact("room-ar-chat.png"))
        await page.get_by_role("tab", name=re.compile("السلة")).click()
        line = page.locator('[data-testid=cart-line][data-product="bell"]')
        name = await line.get_by_test_id("line-name").bounding_box()
        qty = await line.get_by_test_id("qty-inc").bounding_box()
        assert name and qty and name["x"] + name["width"] > qty["x"] + qty["width"], (name, qty)
        await page.screenshot(path=artifact("room-ar-cart.png"))


async def test_widget_panel_on_a_german_shop_page_speaks_german(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    """No locale option given by the shell: the room UI takes the shop page's `lang` (the
    demo shop, made a German page before the widget opens)."""
    server = await server_factory("--demo")
    _, page = await browsers.new_page("shop-de", **DESKTOP)
    await page.goto(server.http_url + "/demo")
    await page.evaluate("() => { document.documentElement.lang = 'de-DE'; }")
    await page.get_by_test_id("launcher").click()
    await page.get_by_test_id("start-name").fill("Dana")
    await page.get_by_test_id("start").click()
    view = page.get_by_test_id("room-view")
    await expect(view).to_have_attribute("lang", "de-DE")
    await expect(page.get_by_test_id("status")).to_have_text("Verbunden")
    await expect(page.get_by_test_id("page-product")).to_contain_text(re.compile("\\d,\\d\\d\\s€"))
    invite = await page.get_by_test_id("invite-link").input_value()
    joined = await server.accept(invite.rsplit("/", 1)[1], "Jörg")
    async with RoomClient.connect(joined["token"], server=server.http_url) as friend:
        await friend.add_to_cart(BIKE, 1)
        await friend.chat("Schau mal", BIKE)
        bike = page.locator('[data-testid=cart-line][data-product="bike"]')
        await expect(bike.get_by_test_id("line-unit")).to_have_text(re.compile("^1\\.234,50\\s€$"))
        texts: list[str] = []
        for tab in ("Warenkorb", "Chat", "Freunde"):
            await page.get_by_role("tab", name=re.compile(tab)).click()
            texts += await page.evaluate(UI_TEXT)
            await page.screenshot(path=artifact(f"widget-de-{tab.lower()}.png"))
    # the room's name is data: the widget shell names a new room ("Dana's shopping" today;
    # the localized "room.defaultName" key is there for it), so it is left out here
    room_name = await page.get_by_test_id("room-name").text_content()
    texts = [t for t in texts if t != room_name]
    left = sorted({f for f in english_fragments() for text in texts if f in text})
    assert left == [], f"English left in the German widget panel: {left}"
