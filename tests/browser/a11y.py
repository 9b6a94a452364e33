"""Accessibility helpers for the browser tests: axe-core injected into a page (it walks
open shadow roots, so the widget is included), the focused element seen through shadow
roots, and keyboard walking with a check at every stop that focus never lands on <body>."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from tests.browser.conftest import ROOT

AXE = ROOT / "clients" / "js" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

RUN_AXE = """async ({include, tags}) => {
  const context = include ? {include: [include.length > 1 ? {fromShadowDom: include} : include[0]]} : document;
  const r = await axe.run(context, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map((n) => ({target: n.target, summary: n.failureSummary}))}));
}"""

# The focused element, through shadow roots, described for assertions.
ACTIVE = """() => {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  if (!a || a === document.body || a === document.documentElement) return {tag: a ? a.tagName.toLowerCase() : null};
  const line = a.closest('[data-line]');
  const product = a.closest('[data-product]');
  return {tag: a.tagName.toLowerCase(), testid: a.dataset.testid || null, role: a.getAttribute('role'),
    label: a.getAttribute('aria-label') || a.textContent.trim(), line: line ? line.dataset.line : null,
    product: product ? product.dataset.product : null, room: !!a.closest('[data-testid=room-view]'),
    selected: a.getAttribute('aria-selected'), tab: a.dataset.tab || null};
}"""


def require_axe() -> Path:
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: run scripts/build-js.sh (npm devDependency)", pytrace=False)
    return AXE


async def serious_violations(page: Page, include: list[str] | None = None) -> list[dict[str, Any]]:
    """axe's serious and critical WCAG 2.x A/AA (and best-practice) violations; `include` is
    a selector path through shadow roots, e.g. ["cosession-widget", "[data-testid=panel]"]."""
    if not await page.evaluate("() => !!window.axe"):
        await page.add_script_tag(path=str(require_axe()))
    found: list[dict[str, Any]] = await page.evaluate(RUN_AXE, {"include": include, "tags": TAGS})
    return [v for v in found if v["impact"] in ("serious", "critical")]


async def active(page: Page) -> dict[str, Any]:
    info: dict[str, Any] = await page.evaluate(ACTIVE)
    return info


async def press(page: Page, key: str) -> dict[str, Any]:
    """Press a key; focus must not fall to <body>. Returns the focused element."""
    await page.keyboard.press(key)
    now = await active(page)
    assert now["tag"] not in (None, "body", "html"), f"{key} sent focus to {now}"
    return now


async def tab_to(page: Page, testid: str, *, back: bool = False, limit: int = 40, **match: Any) -> dict[str, Any]:
    """Tab (Shift+Tab with back=True) until the focused element has `testid` (and the
    `match` fields); every stop on the way must be a real element."""
    stops: list[dict[str, Any]] = []
    for _ in range(limit):
        now = await press(page, "Shift+Tab" if back else "Tab")
        stops.append(now)
        if now.get("testid") == testid and all(now.get(k) == v for k, v in match.items()):
            return now
    raise AssertionError(f"never reached {testid} {match}: {stops}")


async def tab_to_role(page: Page, role: str, *, back: bool = True, limit: int = 40) -> dict[str, Any]:
    stops: list[dict[str, Any]] = []
    for _ in range(limit):
        now = await press(page, "Shift+Tab" if back else "Tab")
        stops.append(now)
        if now.get("role") == role:
            return now
    raise AssertionError(f"never reached role={role}: {stops}")
