"""The built-in demo catalog: a small static product set for lookups and searches.

Used by ``GET /v1/catalog/lookup`` and ``/v1/catalog/search`` when the caller's tenant
has no catalog endpoint (docs/checkout.md). Product ids are the products' EAN-13 codes,
so a scanned barcode is the id of the product it finds. Prices are in cents (EUR).
Also: the rules for scanned codes (``normalize_code``), shared with tenant lookups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protocol.messages import Product

MAX_CODE_CHARS = 512  # a QR code's text may be a URL
_DIGITS = re.compile(r"^[0-9]+$")


class CodeError(ValueError):
    """The code is malformed (a GTIN with a wrong check digit, control characters, too long)."""


def gtin_check_digit(body: str) -> str:
    """The check digit of a GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) without its last digit."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def normalize_code(raw: str) -> str:
    """A scanned or typed code as looked up: digits are a GTIN (8, 12, 13 or 14 digits,
    check digit verified; UPC-A and GTIN-14 with a leading 0 become EAN-13); any other text
    (a QR code's) is kept as is, trimmed. Raises ``CodeError``."""
    code = raw.strip()
    if not code or len(code) > MAX_CODE_CHARS:
        raise CodeError(f"a code is 1 to {MAX_CODE_CHARS} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in code):
        raise CodeError("control characters in the code")
    compact = code.replace(" ", "").replace("-", "")
    if _DIGITS.match(compact):
        if len(compact) not in (8, 12, 13, 14):
            raise CodeError("a barcode has 8, 12, 13 or 14 digits")
        if gtin_check_digit(compact[:-1]) != compact[-1]:
            raise CodeError("the barcode's check digit does not match")
        if len(compact) == 12:
            compact = "0" + compact
        elif len(compact) == 14 and compact.startswith("0"):
            compact = compact[1:]
        return compact
    return code


@dataclass(frozen=True)
class DemoItem:
    product: Product
    department: str


_ROWS = (
    ("4006381333900", "Linen shirt", "Shirts", 4900),
    ("4006381333979", "Oxford shirt", "Shirts", 5900),
    ("4006381334044", "Flannel shirt", "Shirts", 4500),
    ("4006381334112", "Slim chinos", "Trousers", 6900),
    ("4006381334181", "Straight jeans", "Trousers", 7900),
    ("4006381334259", "Wool trousers", "Trousers", 11900),
    ("4006381334327", "Running shoes", "Shoes", 12999),
    ("4006381334396", "Leather boots", "Shoes", 18900),
    ("4006381334464", "Canvas sneakers", "Shoes", 5900),
    ("4006381334532", "Suede loafers", "Shoes", 9900),
    ("4006381334600", "Merino sweater", "Knitwear", 8900),
    ("4006381334679", "Cotton cardigan", "Knitwear", 6900),
    ("4006381334747", "Cashmere scarf", "Accessories", 7900),
    ("4006381334815", "Leather belt", "Accessories", 3900),
    ("4006381334884", "Wool beanie", "Accessories", 2500),
    ("4006381334952", "Canvas tote", "Accessories", 2900),
    ("4006381335027", "Rain jacket", "Outerwear", 14900),
    ("4006381335096", "Down parka", "Outerwear", 24900),
    ("4006381335164", "Denim jacket", "Outerwear", 8900),
    ("4006381335232", "Cotton T-shirt", "Basics", 1900),
    ("4006381335300", "Ankle socks (3 pack)", "Basics", 1200),
    ("4006381335379", "Boxer briefs (2 pack)", "Basics", 2200),
    ("4006381335447", "Summer dress", "Dresses", 6900),
    ("4006381335515", "Wrap dress", "Dresses", 7900),
    ("4006381335584", "Pleated skirt", "Dresses", 5400),
    ("4006381335652", "Sunglasses", "Accessories", 9900),
    ("4006381335720", "Water bottle", "Home", 1800),
    ("4006381335799", "Scented candle", "Home", 2400),
    ("4006381335867", "Ceramic mug", "Home", 1400),
    ("4006381335935", "Linen napkins (4)", "Home", 2600),
)

DEMO: tuple[DemoItem, ...] = tuple(
    DemoItem(Product(id=code, name=name, price=price, currency="EUR"), department)
    for code, name, department, price in _ROWS
)
_BY_CODE = {item.product.id: item.product for item in DEMO}


def lookup(code: str) -> Product | None:
    """The demo product for a normalized code: its EAN-13, or a QR text (a URL or a path)
    whose last segment is one."""
    found = _BY_CODE.get(code)
    if found is None and "/" in code:
        found = _BY_CODE.get(code.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0])
    return found


def search(query: str, limit: int) -> list[Product]:
    """Demo products whose name or department contains every word of ``query`` (case
    folded), in catalog order; an empty query lists the catalog."""
    words = query.casefold().split()
    out: list[Product] = []
    for item in DEMO:
        text = f"{item.product.name} {item.department} {item.product.id}".casefold()
        if all(w in text for w in words):
            out.append(item.product)
            if len(out) >= limit:
                break
    return out
