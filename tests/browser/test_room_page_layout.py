"""The demo shop and the room page on a 360x740 phone, in real Chromium: the shop's
header stays on two lines (its name on one, the note on the other), the widget's
launcher covers no text on the first screen nor at the end of the page, and the room
page's cart shows lines (badge) with unit price x quantity = total."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from cosession_client import RoomClient
from protocol.messages import Product
from tests.browser.conftest import PHONE, Browsers, artifact
from tests.conftest import ServerFactory

# Every non-blank text node of the page (the widget lives in a shadow root, outside this
# walk): its line boxes in viewport coordinates, with the text they hold.
TEXT_BOXES = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight)
        out.push({text: node.textContent.trim().slice(0, 40),
                  left: r.left, right: r.right, top: r.top, bottom: r.bottom});
    }
  }
  return out;
}"""

# The line boxes of one element's text, to count the lines it takes.
LINE_TOPS = """(el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  return [...new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)))];
}"""


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


async def covered_text(page: Page) -> list[str]:
    box = await page.get_by_test_id("launcher").bounding_box()
    assert box is not None
    launcher = {"left": box["x"], "right": box["x"] + box["width"], "top": box["y"], "bottom": box["y"] + box["height"]}
    texts: list[dict[str, Any]] = await page.evaluate(TEXT_BOXES)
    assert texts, "no text found on the page"
    return [t["text"] for t in texts if overlaps(t, launcher)]


async def test_demo_shop_header_and_launcher_at_360px(server_factory: ServerFactory, browsers: Browsers) -> None:
    server = await server_factory("--demo")
    _, page = await browsers.new_page("phone", **PHONE)
    await page.goto(server.http_url + "/demo")
    await expect(page.get_by_test_id("launcher")).to_be_visible()
    await page.screenshot(path=artifact("demo-360.png"))

    # the header: the shop's name on one line, the note on one line, two lines at most
    for selector in ("header h1", "header nav"):
        tops = await page.locator(selector).evaluate(LINE_TOPS)
        assert len(tops) == 1, f"{selector} takes {len(tops)} lines at 360 px"
    header = await page.locator("header").bounding_box()
    assert header is not None and header["height"] <= 80, header

    # the launcher covers no text: on the first screen, nor once scrolled to the end
    assert await covered_text(page) == []
    await page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    await page.wait_for_function("() => innerHeight + scrollY >= document.documentElement.scrollHeight - 1")
    await page.screenshot(path=artifact("demo-360-end.png"))
    assert await covered_text(page) == []


async def test_room_page_cart_badge_counts_lines_and_lines_show_unit_price(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory()
    created = await server.create_room(name="Socks", owner_name="Olga")
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        await owner.add_to_cart(Product(id="sock", name="Wool socks", price=199, currency="EUR"), 3)
        await owner.add_to_cart(Product(id="shoe", name="Trail shoe", price=8990, currency="EUR"), 1)
        _, page = await browsers.new_page("phone", **PHONE)
        await page.goto(created["invite"]["url"])
        await page.get_by_test_id("join-name").fill("Pat")
        await page.get_by_test_id("join").click()
        await expect(page.get_by_test_id("status")).to_have_text("Live")
        await expect(page.locator("[data-testid=cart-line]")).to_have_count(2)
        await page.screenshot(path=artifact("room-page-cart-360.png"))

        # the badge counts lines (2), not pieces (4)
        await expect(page.get_by_role("tab", name=re.compile("Cart"))).to_have_text(re.compile(r"Cart\s*2$"))
        socks = page.locator('[data-testid=cart-line][data-product="sock"] [data-testid=line-price]')
        await expect(socks).to_contain_text(re.compile(r"€1\.99 \u00d7 3 = €5\.97"))
        shoe = page.locator('[data-testid=cart-line][data-product="shoe"] [data-testid=line-price]')
        await expect(shoe).to_contain_text(re.compile(r"^€89\.90 · added by Olga$"))
        await expect(page.get_by_test_id("cart-total")).to_contain_text("€95.87")
