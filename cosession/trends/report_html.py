"""``cosession report``: a tenant's trends as one self-contained HTML file.

Like the load tool's report: no script, no external stylesheet, font or CDN; charts are
inline SVG bars drawn here. Suppressed figures (fewer than k rooms or people) are drawn
as "hidden", never as a number.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Final

from cosession.trends.aggregate import Trends

UP, DOWN, BAR, MUTED = "#2e7d32", "#c62828", "#1f77b4", "#bbb"
_CSS: Final = " ".join(
    [
        "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;",
        "max-width:1000px;color:#222;padding:0 16px}",
        "h1{font-size:22px;margin:0 0 4px}",
        "h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}",
        "table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}",
        "th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}",
        "th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}",
        ".kv td:first-child{font-weight:600;background:#fafafa}",
        ".note{background:#eef5fb;border-left:4px solid #1f77b4;padding:6px 10px;margin:6px 0}",
        ".chart{display:block;margin:8px 0 18px;background:#fff;border:1px solid #eee}",
        ".chart .ct{font:600 13px system-ui,sans-serif}",
        ".chart .lb{font:12px system-ui,sans-serif;text-anchor:end;fill:#333}",
        ".chart .v{font:11px system-ui,sans-serif;fill:#333}",
        ".chart .xl{font:11px system-ui,sans-serif;text-anchor:middle;fill:#555}",
        ".chart .nd{font:13px system-ui,sans-serif;fill:#999;text-anchor:middle}",
    ]
)
Bar = tuple[str, float | None, str]  # label, value (None: hidden), text shown beside the bar


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _short(text: str, n: int = 34) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def bar_chart(title: str, bars: Sequence[Bar], color: str = BAR, width: int = 720) -> str:
    """Horizontal bars, one per row; a hidden value draws a grey "hidden (< k)" stub."""
    left, right, top, row = 230, 170, 30, 24
    height = top + max(1, len(bars)) * row + 10
    plot_w = width - left - right
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_e(title)}">',
        f"<title>{_e(title)}</title>",
        f'<text x="10" y="18" class="ct">{_e(title)}</text>',
    ]
    if not bars:
        out.append(f'<text x="{width / 2}" y="{top + 14}" class="nd">nothing to show (no group of k or more)</text>')
        return "".join(out) + "</svg>"
    top_value = max((v for _, v, _ in bars if v is not None), default=0.0) or 1.0
    for i, (label, value, text) in enumerate(bars):
        y = top + i * row
        out.append(f'<text x="{left - 8}" y="{y + 15}" class="lb">{_e(_short(label))}</text>')
        if value is None:
            out.append(f'<rect x="{left}" y="{y + 4}" width="40" height="{row - 8}" fill="{MUTED}"/>')
            out.append(f'<text x="{left + 46}" y="{y + 15}" class="v">hidden (&lt; k)</text>')
            continue
        w = value / top_value * plot_w
        out.append(f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{color}"/>')
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}" class="v">{_e(text)}</text>')
    return "".join(out) + "</svg>"


def vote_chart(title: str, votes: Sequence[tuple[str, int | None, int | None]], width: int = 720) -> str:
    """Diverging bars: people voting down to the left, up to the right of a centre line."""
    left, top, row = 230, 30, 24
    height = top + max(1, len(votes)) * row + 26
    half = (width - left - 20) / 2
    centre = left + half
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_e(title)}">',
        f"<title>{_e(title)}</title>",
        f'<text x="10" y="18" class="ct">{_e(title)}</text>',
    ]
    if not votes:
        out.append(f'<text x="{width / 2}" y="{top + 14}" class="nd">nothing to show (no group of k or more)</text>')
        return "".join(out) + "</svg>"
    top_value = max((v for _, up, down in votes for v in (up, down) if v is not None), default=0) or 1
    out.append(f'<line x1="{centre}" y1="{top}" x2="{centre}" y2="{height - 20}" stroke="#999"/>')
    for i, (label, up, down) in enumerate(votes):
        y = top + i * row
        out.append(f'<text x="{left - 8}" y="{y + 15}" class="lb">{_e(_short(label))}</text>')
        for value, sign, color in ((up, 1, UP), (down, -1, DOWN)):
            if value is None:
                x = centre if sign > 0 else centre - 30
                out.append(f'<rect x="{x}" y="{y + 4}" width="30" height="{row - 8}" fill="{MUTED}"/>')
                continue
            w = max(1.0, value / top_value * (half - 40))
            x = centre if sign > 0 else centre - w
            out.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{color}"/>')
            tx = centre + w + 4 if sign > 0 else centre - w - 4
            anchor = "start" if sign > 0 else "end"
            out.append(f'<text x="{tx:.1f}" y="{y + 15}" class="v" text-anchor="{anchor}">{value}</text>')
    out.append(f'<text x="{centre - 60}" y="{height - 5}" class="xl">▼ down</text>')
    out.append(f'<text x="{centre + 60}" y="{height - 5}" class="xl">up ▲</text>')
    return "".join(out) + "</svg>"


def _fmt(value: object) -> str:
    return "hidden (< k)" if value is None else str(value)


def render(tenant: str, window: tuple[str, str], trends: Trends, generated: str, truncated: bool = False) -> str:
    t = trends
    c = t.conversion
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>cosession trends: {_e(tenant)}</title>",
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Shopping trends: {_e(tenant)}</h1>",
        f"<p>Rooms created {_e(window[0])} to {_e(window[1])} (UTC). Generated {_e(generated)}.</p>",
        f'<p class="note">Anonymous: every figure here describes at least <b>k = {t.k}</b> rooms or people; '
        "smaller groups are shown as <i>hidden</i>. No member, name or chat text is read into this report.</p>",
    ]
    if truncated:
        parts.append('<p class="note">The window held more rooms than one report scans: the newest were used.</p>')
    rate = "hidden (< k)" if c.rate is None else f"{c.rate * 100:.1f} %"
    parts.append(
        '<h2>Summary</h2><table class="kv">'
        f"<tr><td>rooms</td><td>{_e(_fmt(t.rooms))}</td></tr>"
        f"<tr><td>people</td><td>{_e(_fmt(t.people))}</td></tr>"
        f"<tr><td>rooms that went to checkout</td><td>{_e(_fmt(c.converted))}</td></tr>"
        f"<tr><td>conversion</td><td>{_e(rate)}</td></tr></table>"
    )
    parts.append("<h2>Products most added</h2>")
    parts.append(
        bar_chart(
            "rooms that added the product",
            [(p.product, float(p.rooms), f"{p.rooms} rooms, {p.units} units") for p in t.products],
        )
    )
    parts.append("<h2>Added together</h2>")
    parts.append(
        bar_chart("rooms that added both", [(f"{p.a} + {p.b}", float(p.rooms), f"{p.rooms} rooms") for p in t.pairs])
    )
    parts.append("<h2>Viewed together</h2>")
    parts.append(
        bar_chart(
            "rooms that looked at both",
            [(f"{p.a} + {p.b}", float(p.rooms), f"{p.rooms} rooms") for p in t.viewed_together],
        )
    )
    parts.append("<h2>Votes</h2>")
    parts.append(vote_chart("people voting up / down", [(v.product, v.up, v.down) for v in t.votes]))
    parts.append("<h2>Group size</h2>")
    parts.append(
        bar_chart(
            "rooms by number of people",
            [
                (
                    f"{b.size} {'person' if b.size == '1' else 'people'}",
                    None if b.rooms is None else float(b.rooms),
                    f"{b.rooms} rooms",
                )
                for b in t.group_sizes
            ],
        )
    )
    if t.rooms is not None and c.converted is not None:
        parts.append("<h2>Checkout</h2>")
        parts.append(
            bar_chart(
                "rooms",
                [
                    ("went to checkout", float(c.converted), f"{c.converted}"),
                    ("did not", float(t.rooms - c.converted), f"{t.rooms - c.converted}"),
                ],
            )
        )
    parts.append(
        "<h2>Definitions</h2><ul>"
        "<li><b>room</b>: a shared room created in the window; only its events inside the window count.</li>"
        "<li><b>people</b>: distinct members who were ever in the room (the owner included).</li>"
        "<li><b>viewed together</b>: both products were shared as focus (the product a member was looking at) "
        "in the same room; who looked is never recorded.</li>"
        "<li><b>votes</b>: each person's last vote on a product (up or down; cleared votes do not count).</li>"
        "<li><b>checkout</b>: the room handed its cart to the shop's checkout at least once.</li></ul>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)
