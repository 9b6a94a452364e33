"""The trends report opens in Chromium with nothing fetched from anywhere: its charts are
inline SVG. A full-page screenshot goes to test-artifacts/trends-report.png."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Route, expect

from tests.browser.conftest import DESKTOP, Browsers, artifact
from tests.support.trend_report import run_report, tenant_with_rooms


async def test_report_renders_in_chromium(browsers: Browsers, tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    tenant = await tenant_with_rooms(db)
    out = tmp_path / "report.html"
    code, _, stderr = await run_report(db, "--tenant", tenant, "--out", str(out))
    assert code == 0, stderr
    ctx, page = await browsers.new_page("report", **DESKTOP)
    fetched: list[str] = []

    async def block(route: Route) -> None:
        if not route.request.url.startswith("file:"):
            fetched.append(route.request.url)
            await route.abort()
        else:
            await route.continue_()

    await ctx.route("**/*", block)
    await page.goto(out.as_uri())
    await expect(page.get_by_role("heading", name="Shopping trends: Shoe shop")).to_be_visible()
    charts = page.locator("svg.chart")
    await expect(charts).to_have_count(6)
    for i in range(6):
        box = await charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 40
    await expect(page.get_by_role("img", name="rooms that added the product")).to_contain_text("sku-shoe")
    await expect(page.get_by_role("img", name="rooms by number of people")).to_contain_text("hidden (< k)")
    await page.screenshot(path=artifact("trends-report.png"), full_page=True)
    assert fetched == []
    assert not [line for line in browsers.console["report"] if line.startswith(("error", "pageerror"))]
