"""The demo retailer (``cosession serve --demo``): a tiny fake catalog with the widget.

Product images are SVG drawn here (no external assets). The page switches products
without reloading and tells the widget with ``cosession.setProduct`` (the single-page-app
path), and shows the widget's events as a retailer's page would use them.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoProduct:
    id: str
    name: str
    price: int  # cents
    blurb: str
    color: str
    accent: str
    shape: str  # which drawing


CATALOG: tuple[DemoProduct, ...] = (
    DemoProduct("sku-tee", "Organic cotton tee", 2900, "Soft, heavy jersey. Boxy fit.", "#f2c14e", "#d99a00", "tee"),
    DemoProduct(
        "sku-sneaker", "Trail runner sneakers", 11900, "Grippy sole, light mesh upper.", "#4f9dde", "#1f5f99", "shoe"
    ),
    DemoProduct("sku-mug", "Stoneware mug", 1800, "Hand-glazed, 350 ml.", "#e07a5f", "#9c3f26", "mug"),
    DemoProduct("sku-lamp", "Arc desk lamp", 6400, "Warm dimmable LED, steel arm.", "#81b29a", "#3d6b55", "lamp"),
    DemoProduct("sku-backpack", "Roll-top backpack", 8900, "Waterproof, 24 litres.", "#6d597a", "#3f2f4a", "bag"),
)
BY_ID = {p.id: p for p in CATALOG}
_TEMPLATE = (Path(__file__).parent / "demo.html").read_text(encoding="utf-8")

_SHAPES = {
    "tee": '<path d="M70 60 L100 45 Q120 62 140 45 L170 60 L190 95 L165 108 L160 98 L160 190 L80 190 L80 98 L75 108 '
    'L50 95 Z" fill="{c}" stroke="{a}" stroke-width="4" stroke-linejoin="round"/>',
    "shoe": '<path d="M40 150 Q42 110 60 100 L95 92 Q110 120 140 118 L175 125 Q205 132 205 160 L40 160 Z" '
    'fill="{c}" stroke="{a}" stroke-width="4"/><rect x="38" y="158" width="170" height="16" rx="8" fill="{a}"/>',
    "mug": '<rect x="65" y="70" width="90" height="110" rx="12" fill="{c}" stroke="{a}" stroke-width="4"/>'
    '<path d="M155 95 Q190 95 190 125 Q190 155 155 155" fill="none" stroke="{a}" stroke-width="10"/>',
    "lamp": '<path d="M70 185 L150 185" stroke="{a}" stroke-width="10" stroke-linecap="round"/>'
    '<path d="M110 185 L110 120 Q110 60 160 55" fill="none" stroke="{a}" stroke-width="6"/>'
    '<path d="M140 50 L190 50 L175 85 L155 85 Z" fill="{c}" stroke="{a}" stroke-width="4"/>',
    "bag": '<rect x="65" y="60" width="110" height="130" rx="18" fill="{c}" stroke="{a}" stroke-width="4"/>'
    '<rect x="85" y="120" width="70" height="40" rx="6" fill="none" stroke="{a}" stroke-width="4"/>'
    '<path d="M90 60 Q90 35 120 35 Q150 35 150 60" fill="none" stroke="{a}" stroke-width="6"/>',
}


def product_svg(product: DemoProduct) -> str:
    shape = _SHAPES[product.shape].format(c=product.color, a=product.accent)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 240" width="240" height="240">'
        f'<rect width="240" height="240" rx="24" fill="#f4f1ea"/>{shape}</svg>'
    )


def demo_origins(base_url: str) -> list[str]:
    """The origins the demo tenant allows: the server's own, under both loopback names."""
    origins = [base_url]
    for a, b in (("://127.0.0.1", "://localhost"), ("://localhost", "://127.0.0.1")):
        if a in base_url:
            origins.append(base_url.replace(a, b, 1))
    return origins


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c")


def _money(cents: int) -> str:
    return f"€{cents / 100:.2f}"


def demo_page(*, base_url: str, publishable_key: str, selected: str | None = None) -> str:
    current = BY_ID.get(selected or "", CATALOG[0])
    products = [
        {
            "id": p.id,
            "name": p.name,
            "price": p.price,
            "currency": "EUR",
            "image": f"{base_url}/demo/img/{p.id}.svg",
            "url": f"{base_url}/demo?product={p.id}",
            "blurb": p.blurb,
        }
        for p in CATALOG
    ]
    cur = next(p for p in products if p["id"] == current.id)
    thumbs = "".join(
        f'<button class="thumb{" on" if p.id == current.id else ""}" data-id="{p.id}" '
        f'aria-label="{html.escape(p.name)}">{product_svg(p)}<span>{html.escape(p.name)}</span>'
        f"<b>{_money(p.price)}</b></button>"
        for p in CATALOG
    )
    e = html.escape
    values = {
        "@@HERO@@": product_svg(current),
        "@@NAME@@": e(current.name),
        "@@PRICE@@": _money(current.price),
        "@@BLURB@@": e(current.blurb),
        "@@THUMBS@@": thumbs,
        "@@PRODUCTS@@": _script_json(products),
        "@@SVGS@@": _script_json({p.id: product_svg(p) for p in CATALOG}),
        "@@KEY@@": e(publishable_key),
        "@@PID@@": e(str(cur["id"])),
        "@@PNAME@@": e(str(cur["name"])),
        "@@PPRICE@@": str(cur["price"]),
        "@@PIMAGE@@": e(str(cur["image"])),
        "@@PURL@@": e(str(cur["url"])),
    }
    page = _TEMPLATE
    for key, value in values.items():
        page = page.replace(key, value)
    return page
