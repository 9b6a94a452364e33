"""What the widget costs a shop's product page on a slow phone: the page's ``load`` time
with and without the widget tag under CPU x4 throttling and slow-3G network emulation
(Chromium over CDP), the median of a few runs, plus when the launcher appeared and how
many bytes the widget moved before anyone touched it.

    python -m benchmarks.widget_weight --runs 5

Needs the built bundles (scripts/build-js.sh) and Chromium (as the browser tests do).
Prints figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from tests.browser.conftest import CHROMIUM_FLAGS, PHONE, chromium_path
from tests.browser.pages import serve_pages
from tests.support.server import ServerProcess

# Lighthouse's "slow 3G" profile: 400 ms round trip, 400 kbit/s both ways
NETWORK = {"offline": False, "latency": 400, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
CPU_SLOWDOWN = 4

PRODUCT = (
    "<h1>Linen shirt</h1><p class=price>€49.00</p>"
    "<svg width=320 height=320 viewBox='0 0 240 240' role=img aria-label='Linen shirt'>"
    "<rect width=240 height=240 rx=24 fill='#f4f1ea'/><path d='M70 60 L100 45 Q120 62 140 45 L170 60 L190 95 "
    "L165 108 L160 98 L160 190 L80 190 L80 98 L75 108 L50 95 Z' fill='#f2c14e' stroke='#d99a00' stroke-width=4/></svg>"
    + "<p>Soft, heavy linen. Boxy fit. Washed for a lived-in feel.</p>" * 20
    + "<button id=buy>Add to bag</button>"
)

# when the launcher was drawn (the widget fires cosession:ready after mounting it)
READY_PROBE = "window.addEventListener('cosession:ready', () => { window.__ready = performance.now(); });"


def page(widget: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'><title>Linen shirt</title>"
        "<link rel=icon href='data:,'><style>body{font:16px/1.5 system-ui;margin:0;padding:20px}</style></head>"
        f"<body>{PRODUCT}{widget}</body></html>"
    )


async def measure(browser: Any, url: str, server_origin: str) -> dict[str, float]:
    ctx = await browser.new_context(**PHONE)
    try:
        tab = await ctx.new_page()
        await tab.add_init_script(READY_PROBE)
        cdp = await ctx.new_cdp_session(tab)
        await cdp.send("Network.enable")
        await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        await cdp.send("Network.emulateNetworkConditions", NETWORK)
        await cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        urls: dict[str, str] = {}
        moved: list[int] = []
        cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on(
            "Network.loadingFinished",
            lambda e: (
                moved.append(int(e["encodedDataLength"]))
                if urls.get(e["requestId"], "").startswith(server_origin)
                else None
            ),
        )
        await tab.goto(url, wait_until="load", timeout=60_000)
        await tab.wait_for_load_state("networkidle", timeout=60_000)
        timing = await tab.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return { load: n.loadEventStart, dcl: n.domContentLoadedEventStart, ready: window.__ready || 0 }; }"
        )
        return {**timing, "widget_bytes": float(sum(moved)), "widget_requests": float(len(moved))}
    finally:
        await ctx.close()


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp))
        await server.start()
        try:
            src = server.http_url + "/widget.js"
            tag = f'<script src="{src}" data-key="pk_bench" data-product-id="sku-1" data-product-name="Linen shirt"'
            tag += ' data-product-price="4900" data-product-currency="EUR"{}></script>'
            # the embed docs/widget.md recommends for a page with a load-time budget: the tag is
            # added once the page has loaded, so the widget's fetch cannot delay `load`
            after_load = (
                "<script>addEventListener('load', () => { const s = document.createElement('script');"
                f" s.src = {src!r}; Object.assign(s.dataset, {{ key: 'pk_bench', productId: 'sku-1',"
                " productName: 'Linen shirt', productPrice: '4900', productCurrency: 'EUR' });"
                " document.body.append(s); });</script>"
            )
            variants = {
                "without": "",
                "after load": after_load,
                "async tag": tag.format(" async"),
                "plain tag": tag.format(""),
            }
            pages = {f"/{i}": page(html) for i, html in enumerate(variants.values())}
            with serve_pages(pages) as shop:
                async with async_playwright() as pw:
                    browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
                    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
                    for _ in range(runs):  # interleaved, so drift in the machine's load hits all alike
                        for i, name in enumerate(variants):
                            results[name].append(await measure(browser, f"{shop}/{i}", server.http_url))
                    await browser.close()
        finally:
            server.kill()
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in results.items()}
    base = med["without"]["load"]
    print(
        f"phone emulation: CPU x{CPU_SLOWDOWN}, {NETWORK['latency']} ms RTT, "
        f"{NETWORK['downloadThroughput'] * 8 // 1000} kbit/s; median of {runs} runs, cache disabled"
    )
    columns = ("load ms", 8), ("+ms", 6), ("DCL ms", 8), ("launcher ms", 12), ("widget bytes", 13), ("requests", 9)
    print(f"{'page':<12} " + " ".join(f"{name:>{width}}" for name, width in columns))
    for name, m in med.items():
        extra = m["load"] - base
        launcher = f"{m['ready']:.0f}" if m["ready"] else "-"
        print(
            f"{name:<12} {m['load']:>8.0f} {extra:>+6.0f} {m['dcl']:>8.0f} {launcher:>12} "
            f"{m['widget_bytes']:>13.0f} {m['widget_requests']:>9.0f}"
        )
    for name, rs in results.items():
        print(f"  {name}: load " + ", ".join(f"{r['load']:.0f}" for r in rs))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per page (median reported), 1-15")
    args = parser.parse_args()
    asyncio.run(main(max(1, min(15, args.runs))))
    sys.exit(0)
