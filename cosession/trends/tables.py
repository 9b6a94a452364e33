"""Trends as CSV rows (pure): one figure per row, suppressed figures left empty.

Product ids come from shoppers' carts, so any cell that a spreadsheet would read as a
formula (``= + - @``, tab, CR) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io

from cosession.trends.aggregate import Trends

HEADER = ("figure", "a", "b", "value")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def rows(trends: Trends) -> list[tuple[str, str, str, str]]:
    out: list[tuple[str, str, str, str]] = [
        ("k", "", "", _cell(trends.k)),
        ("rooms", "", "", _cell(trends.rooms)),
        ("people", "", "", _cell(trends.people)),
    ]
    for p in trends.products:
        out.append(("product_rooms", _cell(p.product), "", _cell(p.rooms)))
        out.append(("product_units", _cell(p.product), "", _cell(p.units)))
    for pair in trends.pairs:
        out.append(("pair_rooms", _cell(pair.a), _cell(pair.b), _cell(pair.rooms)))
    for pair in trends.viewed_together:
        out.append(("viewed_together_rooms", _cell(pair.a), _cell(pair.b), _cell(pair.rooms)))
    for v in trends.votes:
        out.append(("votes_up", _cell(v.product), "", _cell(v.up)))
        out.append(("votes_down", _cell(v.product), "", _cell(v.down)))
    c = trends.conversion
    out.append(("conversion_rooms", "", "", _cell(c.rooms)))
    out.append(("conversion_converted", "", "", _cell(c.converted)))
    out.append(("conversion_rate", "", "", _cell(c.rate)))
    for b in trends.group_sizes:
        out.append(("group_size_rooms", b.size, "", _cell(b.rooms)))
    return out


def to_csv(trends: Trends) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows(trends))
    return buf.getvalue()
