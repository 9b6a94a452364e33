"""A shop brands and controls the widget: theme custom properties and ::part change what
is drawn, the position options and the shop's own CSS move it, the no-launcher mode hides
the launcher (cosession.open() still opens the panel), and display:none / the `hidden`
attribute hide it. The launcher speaks the shop's language and sets lang/dir itself."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP, Browsers, artifact
from tests.browser.pages import serve_pages
from tests.browser.test_widget_isolation import differing_fraction
from tests.browser.widget_helpers import shop_html
from tests.support.server import ServerProcess

BRAND = (
    "<style>cosession-widget{--cosession-accent:#0a6b31;--cosession-accent-text:#fff;--cosession-surface:#fdf6e3;"
    "--cosession-text:#222;--cosession-radius:2px;--cosession-font:Georgia,serif}"
    "cosession-widget::part(launcher){border-radius:4px;box-shadow:none}</style>"
)

LAUNCHER_STYLE = """() => {
    const root = document.querySelector("cosession-widget").shadowRoot;
    const l = root.querySelector("[data-testid=launcher]");
    const s = getComputedStyle(l);
    const r = l.getBoundingClientRect();
    const inner = root.querySelector(".cs-root");
    return { bg: s.backgroundColor, radius: s.borderTopLeftRadius, font: s.fontFamily, left: r.left, right: r.right,
             bottom: r.bottom, text: l.textContent, lang: inner.getAttribute("lang"), dir: inner.getAttribute("dir"),
             hostLang: document.querySelector("cosession-widget").lang };
}"""


async def launcher_style(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(LAUNCHER_STYLE)
    return result


async def corner_shot(page: Page, name: str) -> bytes:
    await page.mouse.move(0, 0)
    return await page.screenshot(
        path=artifact(name), clip={"x": 880, "y": 660, "width": 400, "height": 200}, animations="disabled"
    )


async def test_theme_properties_parts_and_position(server: ServerProcess, browsers: Browsers) -> None:
    src = server.http_url + "/widget.js"
    pages = {
        "/plain": shop_html(src),
        "/brand": shop_html(src, head=BRAND),
        "/left": shop_html(src, attrs='data-position="bottom-left" data-offset="32 40"'),
        "/moved": shop_html(src, head="<style>cosession-widget{bottom:120px}</style>"),
        "/text": shop_html(src, attrs='data-launcher-text="Ask a friend"'),
        "/none": shop_html(src, attrs='data-launcher="none"'),
    }
    with serve_pages(pages) as shop:
        _, page = await browsers.new_page("shop", **DESKTOP)
        await page.goto(shop + "/plain")
        await expect(page.get_by_test_id("launcher")).to_be_visible()
        plain = await launcher_style(page)
        plain_shot = await corner_shot(page, "widget-theme-plain.png")
        assert plain["bg"] == "rgb(91, 61, 245)" and plain["right"] == 1280 - 20 and plain["bottom"] == 860 - 20, plain

        await page.goto(shop + "/brand")
        await expect(page.get_by_test_id("launcher")).to_be_visible()
        brand = await launcher_style(page)
        assert brand["bg"] == "rgb(10, 107, 49)" and brand["radius"] == "4px" and "Georgia" in brand["font"], brand
        brand_shot = await corner_shot(page, "widget-theme-brand.png")
        assert differing_fraction(plain_shot, brand_shot, 0) > 0.02, "the theme did not change the picture"
        await page.get_by_test_id("launcher").click()
        panel = page.get_by_test_id("panel")
        await expect(page.get_by_test_id("start")).to_be_visible()
        start_bg = await page.get_by_test_id("start").evaluate("(el) => getComputedStyle(el).backgroundColor")
        panel_bg = await panel.evaluate("(el) => getComputedStyle(el).backgroundColor")
        assert start_bg == "rgb(10, 107, 49)" and panel_bg == "rgb(253, 246, 227)", (start_bg, panel_bg)
        await panel.screenshot(path=artifact("widget-theme-brand-panel.png"))

        await page.goto(shop + "/left")
        await expect(page.get_by_test_id("launcher")).to_be_visible()
        left = await launcher_style(page)
        assert left["left"] == 32 and left["bottom"] == 860 - 40, left

        await page.goto(shop + "/moved")  # the shop's own CSS on the host wins (nothing !important)
        await expect(page.get_by_test_id("launcher")).to_be_visible()
        assert (await launcher_style(page))["bottom"] == 860 - 120

        await page.goto(shop + "/text")
        await expect(page.get_by_test_id("launcher")).to_have_accessible_name("Ask a friend")

        await page.goto(shop + "/none")
        await page.wait_for_function("() => window.cosession && document.querySelector('cosession-widget')")
        await expect(page.get_by_test_id("launcher")).to_be_hidden()
        none_shot = await corner_shot(page, "widget-theme-no-launcher.png")
        assert differing_fraction(plain_shot, none_shot, 0) > 0.02
        await page.evaluate("() => window.cosession.open()")
        await expect(page.get_by_test_id("start")).to_be_visible()
        await page.screenshot(path=artifact("widget-theme-no-launcher-open.png"))
        await page.evaluate("() => window.cosession.configure({ launcher: 'button' }).close()")
        await expect(page.get_by_test_id("launcher")).to_be_visible()


async def test_shop_can_hide_the_widget(server: ServerProcess, browsers: Browsers) -> None:
    src = server.http_url + "/widget.js"
    pages = {
        "/hidden-css": shop_html(src, head="<style>cosession-widget{display:none}</style>"),
        "/plain": shop_html(src),
    }
    with serve_pages(pages) as shop:
        _, page = await browsers.new_page("shop", **DESKTOP)
        await page.goto(shop + "/hidden-css")
        await page.wait_for_function("() => window.cosession && document.querySelector('cosession-widget')")
        await expect(page.get_by_test_id("launcher")).to_be_hidden()
        await page.screenshot(path=artifact("widget-hidden-by-shop.png"))

        await page.goto(shop + "/plain")
        launcher = page.get_by_test_id("launcher")
        await expect(launcher).to_be_visible()
        await page.evaluate("() => { document.querySelector('cosession-widget').hidden = true; }")
        await expect(launcher).to_be_hidden()
        await page.evaluate("() => { document.querySelector('cosession-widget').hidden = false; }")
        await expect(launcher).to_be_visible()
        await page.evaluate("() => { document.querySelector('cosession-widget').style.display = 'none'; }")
        await expect(launcher).to_be_hidden()


async def test_launcher_speaks_the_shops_language(server: ServerProcess, browsers: Browsers) -> None:
    src = server.http_url + "/widget.js"
    pages = {
        "/de": shop_html(src, lang="de-DE"),
        "/ar": shop_html(src, lang="ar", head="<style>html{direction:rtl}</style>"),
        "/de-en": shop_html(src, lang="de", attrs='data-locale="en"'),
        "/xx": shop_html(src, lang="xx"),
    }
    with serve_pages(pages) as shop:
        _, page = await browsers.new_page("shop", **DESKTOP)
        await page.goto(shop + "/de")
        await expect(page.get_by_test_id("launcher")).to_have_accessible_name("Mit Freunden shoppen")
        de = await launcher_style(page)
        assert de["lang"] == "de-DE" and de["dir"] == "ltr" and de["hostLang"] == "de-DE", (
            de
        )  # the region kept (prices)
        await page.get_by_test_id("launcher").click()
        await expect(page.get_by_test_id("start")).to_have_text("Gemeinsamen Warenkorb starten")
        await expect(page.get_by_test_id("panel")).to_have_attribute("aria-label", "Mit Freunden shoppen")
        await page.screenshot(path=artifact("widget-launcher-de.png"))

        await page.goto(shop + "/ar")
        await expect(page.get_by_test_id("launcher")).to_have_accessible_name("تسوّق مع الأصدقاء")
        ar = await launcher_style(page)
        assert ar["lang"] == "ar" and ar["dir"] == "rtl", ar
        await page.get_by_test_id("launcher").click()
        await expect(page.get_by_test_id("start")).to_have_text("ابدأ سلة مشتركة")
        await page.screenshot(path=artifact("widget-launcher-ar.png"))

        # the locale option wins over the page's lang: English strings are marked lang=en
        await page.goto(shop + "/de-en")
        await expect(page.get_by_test_id("launcher")).to_have_accessible_name("Shop with friends")
        assert (await launcher_style(page))["lang"] == "en"

        await page.goto(shop + "/xx")  # an unsupported language: English, and says so
        await expect(page.get_by_test_id("launcher")).to_have_accessible_name("Shop with friends")
        assert (await launcher_style(page))["lang"] == "en"
