"""In-store QR codes: the URL a code holds, the code as SVG or PNG, and a print sheet.

URL scheme (SPEC §20.2): ``<base>/s/<tenant>/<store>`` opens a new room in that store,
``?d=<department>`` adds the department, ``&i=<invite code>`` joins that existing room of
the tenant instead. Whoever arrives through such a URL is "in the store".

Codes are made with ``segno`` (pure Python, no native dependency, writes SVG and PNG
itself, error correction chosen per code).
"""

from __future__ import annotations

import html
import io
from urllib.parse import quote, urlencode

import segno

from cosession.stores.directory import StoreInfo


def store_url(base: str, tenant: str, store: str, department: str | None = None, invite: str | None = None) -> str:
    params = {k: v for k, v in (("d", department), ("i", invite)) if v}
    query = f"?{urlencode(params, quote_via=quote)}" if params else ""
    return f"{base.rstrip('/')}/s/{quote(tenant, safe='')}/{quote(store, safe='')}{query}"


def qr_svg(url: str, *, scale: int = 6) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out, kind="svg", scale=scale, border=4, dark="#000000", light="#ffffff", xmldecl=False, svgclass=None
    )
    return out.getvalue()


def qr_png(url: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=4, dark="#000000", light="#ffffff")
    return out.getvalue()


def qr_sheet(base: str, tenant: str, store: StoreInfo) -> str:
    """A printable HTML page: one card per department (and one for the whole store), each
    with its QR code inline (SVG), the store and department names and the URL."""
    e = html.escape
    cards = []
    for department in [None, *store.departments]:
        url = store_url(base, tenant, store.store, department)
        svg = qr_svg(url, scale=5).decode()
        label = e(store.name) + (f" · {e(department)}" if department else "")
        cards.append(
            f"<figure class=card>{svg}<figcaption><strong>{label}</strong>"
            f"<span>Scan to shop together</span><small>{e(url)}</small></figcaption></figure>"
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>QR codes: {e(store.name)}</title><link rel=icon href='data:,'>"
        "<style>body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#000}"
        "h1{font-size:20px}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(7cm,1fr));gap:12px}"
        ".card{border:1px dashed #888;margin:0;padding:12px;text-align:center;break-inside:avoid}"
        ".card svg{width:5cm;height:5cm}figcaption{display:flex;flex-direction:column;gap:2px}"
        "small{word-break:break-all;color:#444}@media print{h1,p{display:none}.card{border-color:#ccc}}</style>"
        f"</head><body><h1>QR codes for {e(store.name)}</h1><p>Print this page and cut along the lines.</p>"
        f"<div class=grid>{''.join(cards)}</div></body></html>"
    )
