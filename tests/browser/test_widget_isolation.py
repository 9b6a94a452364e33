"""The widget looks the same on a page with hostile global CSS (shadow DOM isolation),
and its bundle stays small."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

from playwright.async_api import expect

from tests.browser.conftest import DESKTOP, DIST, Browsers, artifact
from tests.browser.pages import serve_pages
from tests.support.server import ServerProcess

WIDGET_GZIP_LIMIT = 30 * 1024

HOSTILE_CSS = """
* { all: unset; font: 30px serif !important; color: red !important; background: yellow !important;
    line-height: 3 !important; letter-spacing: 4px !important; box-sizing: content-box !important }
button { display: none !important }
div, section, input, form { padding: 20px !important; margin: 15px !important; border: 5px solid lime !important }
:root { font-size: 40px !important; direction: rtl !important }
"""


def page_html(widget_src: str, hostile: bool) -> str:
    style = f"<style>{HOSTILE_CSS}</style>" if hostile else ""
    return (
        f"<!doctype html><html><head><title>shop</title><link rel=icon href='data:,'>{style}</head><body>"
        "<h1>Product</h1><p>Plain text.</p>"
        f'<script src="{widget_src}" data-key="pk_any" data-product-id="sku-1" data-product-name="Linen shirt" '
        'data-product-price="4900" data-product-currency="EUR"></script>'
        "</body></html>"
    )


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) to raw rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * channels
    out = bytearray()
    prev = bytearray(stride)
    i = 0
    for _ in range(height):
        filt, row = raw[i], bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = row[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if filt == 1:
                row[x] = (row[x] + a) & 0xFF
            elif filt == 2:
                row[x] = (row[x] + b) & 0xFF
            elif filt == 3:
                row[x] = (row[x] + (a + b) // 2) & 0xFF
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        out += row
        prev = row
    return width, height, bytes(out)


def differing_fraction(a: bytes, b: bytes, corner: int) -> float:
    """Share of pixels that differ, leaving out the four ``corner``-sized squares and the
    outermost pixel rows/columns: a rounded element's corners and its anti-aliased edges
    show the page behind it, which is meant to differ."""
    wa, ha, pa = png_pixels(a)
    wb, hb, pb = png_pixels(b)
    assert (wa, ha) == (wb, hb), f"sizes differ: {(wa, ha)} vs {(wb, hb)}"
    channels = len(pa) // (wa * ha)
    compared = diff = 0
    for y in range(ha):
        for x in range(wa):
            if (x < corner or x >= wa - corner) and (y < corner or y >= ha - corner):
                continue
            if x in (0, wa - 1) or y in (0, ha - 1):  # anti-aliased edges blend with the page
                continue
            i = (y * wa + x) * channels
            compared += 1
            if max(abs(pa[i + k] - pb[i + k]) for k in range(3)) > 8:
                diff += 1
    return diff / compared


async def test_hostile_page_css_does_not_change_the_widget(server: ServerProcess, browsers: Browsers) -> None:
    widget_src = server.http_url + "/widget.js"
    shots: dict[str, tuple[bytes, bytes]] = {}
    with serve_pages({"/plain": page_html(widget_src, False), "/hostile": page_html(widget_src, True)}) as shop:
        for name in ("plain", "hostile"):
            _, page = await browsers.new_page(name, **DESKTOP)
            await page.goto(f"{shop}/{name}")
            launcher = page.get_by_test_id("launcher")
            await expect(launcher).to_be_visible()
            await launcher.click()
            panel = page.get_by_test_id("panel")
            await expect(panel).to_be_visible()
            await expect(page.get_by_test_id("start")).to_be_visible()
            await page.mouse.move(0, 0)  # no hover effect in the pictures
            await page.screenshot(path=artifact(f"widget-{name}-page.png"))
            shots[name] = (
                await panel.screenshot(path=artifact(f"widget-{name}-panel.png"), animations="disabled"),
                await launcher.screenshot(path=artifact(f"widget-{name}-launcher.png"), animations="disabled"),
            )
    for i, (what, corner) in enumerate((("panel", 14), ("launcher", 24))):  # their border radii (px)
        fraction = differing_fraction(shots["plain"][i], shots["hostile"][i], corner)
        print(f"{what}: {fraction:.4%} of pixels differ with hostile page CSS")
        assert fraction <= 0.002, f"the {what} looks different on a hostile page ({fraction:.2%} of pixels)"


def test_widget_bundle_is_at_most_30_kb_gzipped() -> None:
    path: Path = DIST / "widget.js"
    assert path.is_file(), "run scripts/build-js.sh"
    raw = path.read_bytes()
    gz = len(gzip.compress(raw, compresslevel=9))
    print(f"widget.js: {len(raw)} bytes raw, {gz} bytes gzipped (limit {WIDGET_GZIP_LIMIT})")
    assert gz <= WIDGET_GZIP_LIMIT
