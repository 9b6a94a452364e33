"""The widget behaves as a dialog (WCAG 2.2 AA): focus moves into the panel on open,
Escape closes it and focus returns to what opened it, the full-screen panel on a phone
keeps Tab inside, the launcher comes first in the DOM, and at 400 % zoom the launcher
does not cover the panel's own controls."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, Browsers, artifact
from tests.browser.widget_helpers import deep_focus, wait_focus
from tests.conftest import ServerFactory

DIALOG = """() => {
    const root = document.querySelector("cosession-widget").shadowRoot;
    const launcher = root.querySelector("[data-testid=launcher]");
    const panel = root.querySelector("[data-testid=panel]");
    return {
        launcherFirst: !!(launcher.compareDocumentPosition(panel) & Node.DOCUMENT_POSITION_FOLLOWING),
        role: panel.getAttribute("role"),
        modal: panel.getAttribute("aria-modal"),
        label: panel.getAttribute("aria-label"),
        expanded: launcher.getAttribute("aria-expanded"),
        controls: launcher.getAttribute("aria-controls") === panel.id,
    };
}"""


def rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(x) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return r, g, b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    def lum(c: tuple[int, int, int]) -> float:
        lin = [v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


async def dialog(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(DIALOG)
    return result


async def banners(page: Page) -> int:
    """How many `banner` landmarks Chromium's accessibility tree has (shadow DOM included)."""
    cdp = await page.context.new_cdp_session(page)
    tree = await cdp.send("Accessibility.getFullAXTree")
    return sum(1 for n in tree["nodes"] if (n.get("role") or {}).get("value") == "banner")


async def test_phone_dialog_focus_in_trap_escape_and_back(server_factory: ServerFactory, browsers: Browsers) -> None:
    server = await server_factory("--demo")
    _, page = await browsers.new_page("phone", **PHONE)
    await page.goto(server.http_url + "/demo")
    launcher = page.get_by_test_id("launcher")
    await expect(launcher).to_be_visible()
    info = await dialog(page)
    assert info["launcherFirst"] and info["controls"], info
    assert info["role"] == "dialog" and info["label"] == "Shop with friends" and info["expanded"] == "false", info

    # keyboard: open with Enter, focus goes into the panel (the name field)
    await launcher.focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("start-name")).to_be_visible()
    assert (await wait_focus(page, "start-name"))["inPanel"]
    info = await dialog(page)
    assert info["modal"] == "true" and info["expanded"] == "true", info  # full screen on a phone: modal
    await page.screenshot(path=artifact("widget-dialog-phone-open.png"))

    # Tab and Shift+Tab never leave the full-screen panel (the shop behind it is hidden)
    seen = set()
    for key in ["Tab"] * 7 + ["Shift+Tab"] * 7:
        await page.keyboard.press(key)
        focus = await deep_focus(page)
        assert focus["inPanel"], f"{key} moved focus out of the panel: {focus}"
        seen.add(focus["id"])
    assert {"start-name", "start"} <= seen, seen

    # Escape closes and focus returns to the launcher
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("panel")).to_be_hidden()
    focus = await deep_focus(page)
    assert focus["id"] == "launcher" and focus["inWidget"], focus
    assert (await dialog(page))["expanded"] == "false"
    # its keyboard focus ring: a 3 px dark ring (≥ 3:1 on a light page) around a white one
    # (≥ 3:1 against the launcher), so it shows on any page background
    ring = await launcher.evaluate(
        "(el) => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth, s.outlineColor,"
        " s.boxShadow, s.backgroundColor]; }"
    )
    assert ring[:2] == ["solid", "3px"] and ring[3].startswith("rgb(255, 255, 255) 0px 0px 0px 2px"), ring
    assert contrast(rgb(ring[2]), (255, 255, 255)) >= 3 and contrast(rgb(ring[4]), (255, 255, 255)) >= 3, ring

    # the close button does the same
    await page.keyboard.press("Enter")
    assert (await wait_focus(page, "start-name"))["inPanel"]
    await page.get_by_role("button", name="Close").click()
    await expect(page.get_by_test_id("panel")).to_be_hidden()
    assert (await deep_focus(page))["id"] == "launcher"


async def test_desktop_dialog_is_not_modal_no_banner(server_factory: ServerFactory, browsers: Browsers) -> None:
    server = await server_factory("--demo")
    _, page = await browsers.new_page("desktop", **DESKTOP)
    await page.goto(server.http_url + "/demo")
    assert await banners(page) == 1  # the shop's own <header>
    await page.get_by_test_id("launcher").click()
    assert (await wait_focus(page, "start-name"))["inPanel"]
    assert (await dialog(page))["modal"] == "false"  # beside the page, which stays usable
    await page.get_by_test_id("start-name").fill("Dana")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("status")).to_have_text("Live")
    assert await banners(page) == 1, "the room view must not add a second banner landmark to the shop's page"
    # focus stays inside the widget after starting, and Escape from anywhere in it closes
    assert (await deep_focus(page))["inWidget"]
    await page.get_by_test_id("panel").focus()
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("panel")).to_be_hidden()
    assert (await deep_focus(page))["id"] == "launcher"


async def test_no_launcher_mode_returns_focus_to_the_shops_button(
    server_factory: ServerFactory, browsers: Browsers
) -> None:
    server = await server_factory("--demo")
    _, page = await browsers.new_page("desktop", **DESKTOP)
    await page.goto(server.http_url + "/demo?launcher=none")
    await expect(page.locator("#own")).to_be_visible()
    await expect(page.get_by_test_id("launcher")).to_be_hidden()
    await page.locator("#own").focus()
    await page.keyboard.press("Enter")  # the shop's button calls cosession.open()
    assert (await wait_focus(page, "start-name"))["inPanel"]
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("panel")).to_be_hidden()
    assert (await deep_focus(page))["id"] == "own"


async def test_400_percent_zoom_launcher_covers_nothing(server_factory: ServerFactory, browsers: Browsers) -> None:
    """1280x860 at 400 %: a 320x215 CSS-pixel viewport. The launcher is a small round button,
    the open panel fills the screen above it, and its start button can be scrolled to and hit."""
    server = await server_factory("--demo")
    _, page = await browsers.new_page("zoom", viewport={"width": 320, "height": 215}, device_scale_factor=4)
    await page.goto(server.http_url + "/demo")
    launcher = page.get_by_test_id("launcher")
    box = await launcher.bounding_box()
    assert box and box["width"] <= 56 and box["height"] <= 56, box  # compact, label kept for screen readers
    await expect(launcher).to_have_accessible_name("Shop with friends")
    await launcher.click()
    start = page.get_by_test_id("start")
    await expect(start).to_be_visible()
    # scrolled to the bottom of the screen, where the launcher sits: every part of it can be hit
    hit = await start.evaluate(
        """(el) => { el.scrollIntoView({ block: "end" }); const r = el.getBoundingClientRect();
                     return [r.left + 10, r.left + r.width / 2, r.right - 10].map((x) =>
                         el.contains(el.getRootNode().elementFromPoint(x, r.bottom - 6))); }"""
    )
    await page.screenshot(path=artifact("widget-zoom-400-open.png"))
    assert all(hit), f"something (the launcher?) covers the start button at 400 % zoom: {hit}"
    # and the launcher is under the full-screen panel, not over the panel's fields
    on_top = await launcher.evaluate(
        """(el) => { const r = el.getBoundingClientRect();
                     return el.contains(el.getRootNode().elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)); }"""
    )
    assert not on_top, "the launcher is drawn over the open panel"
