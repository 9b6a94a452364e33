"""Helpers for the widget's browser tests: a shop page embedding /widget.js, and what has
focus inside the widget's shadow root."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

# (testid or tag of the focused element, is it inside the widget's panel, inside the widget at all)
DEEP_FOCUS = """() => {
    let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    const host = document.querySelector("cosession-widget");
    const root = a && a.getRootNode();
    const inWidget = !!host && root === host.shadowRoot;
    const panel = inWidget ? root.querySelector("[data-testid=panel]") : null;
    return {
        id: a ? (a.dataset && a.dataset.testid) || a.id || a.tagName.toLowerCase() : null,
        inPanel: !!panel && panel.contains(a),
        inWidget,
    };
}"""


async def deep_focus(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(DEEP_FOCUS)
    return result


def shop_html(widget_src: str, *, lang: str = "en", head: str = "", attrs: str = "", body: str = "") -> str:
    """A product page: a heading, a buy button, then the widget tag (``attrs`` are extra
    data-attributes on it)."""
    return (
        f"<!doctype html><html lang={lang}><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>shop</title><link rel=icon href='data:,'>{head}</head><body style='margin:0;background:#fff'>"
        "<h1>Linen shirt</h1><button id=buy>Add to bag</button>"
        f"{body}"
        f'<script src="{widget_src}" data-key="pk_any" data-product-id="sku-1" data-product-name="Linen shirt" '
        f'data-product-price="4900" data-product-currency="EUR" {attrs}></script>'
        "</body></html>"
    )


async def wait_focus(page: Page, testid: str) -> dict[str, Any]:
    """Wait (bounded by the page's default timeout) until ``testid`` has focus; return deep_focus."""
    await page.wait_for_function(f"(id) => ({DEEP_FOCUS})().id === id", arg=testid)
    return await deep_focus(page)
