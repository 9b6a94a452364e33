"""Service figures from help request rows (pure): counts and claim / first-answer
percentiles, in total, by (store, department) and by associate. Rows carry no member id
or shopper name, so neither can appear here."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from cosession.help.items import AssociateFigures, HelpStatsOut, PlaceFigures, ServiceFigures


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    value: float = ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return round(value, 3)


def _claim_s(row: Any) -> float | None:
    if row.claimed_at is None:
        return None
    seconds: float = max(0.0, (row.claimed_at - row.created_at) / 1000)
    return seconds


def _answer_s(row: Any) -> float | None:
    if row.answered_at is None or row.claimed_at is None:
        return None
    seconds: float = max(0.0, (row.answered_at - row.claimed_at) / 1000)
    return seconds


def _figures(rows: list[Any]) -> dict[str, Any]:
    claims = [s for r in rows if (s := _claim_s(r)) is not None]
    answers = [s for r in rows if (s := _answer_s(r)) is not None]
    return {
        "requests": len(rows),
        "claimed": len(claims),
        "escalated": sum(1 for r in rows if r.level > 0),
        "answered": len(answers),
        "claim_seconds_p50": _pct(claims, 0.5),
        "claim_seconds_p90": _pct(claims, 0.9),
        "first_answer_seconds_p50": _pct(answers, 0.5),
        "first_answer_seconds_p90": _pct(answers, 0.9),
    }


def stats_for(tenant: str, since: int, rows: list[Any]) -> HelpStatsOut:
    places: dict[tuple[str | None, str | None], list[Any]] = defaultdict(list)
    associates: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        places[(row.store, row.department)].append(row)
        if row.associate is not None:
            associates[row.associate].append(row)
    by_place = [
        PlaceFigures(store=store, department=department, **_figures(group))
        for (store, department), group in sorted(places.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))
    ]
    by_associate = []
    for associate, group in sorted(associates.items()):
        figures = _figures(group)
        by_associate.append(
            AssociateFigures(
                associate=associate,
                name=group[-1].associate_name or "",
                claimed=figures["claimed"],
                answered=figures["answered"],
                claim_seconds_p50=figures["claim_seconds_p50"],
                first_answer_seconds_p50=figures["first_answer_seconds_p50"],
            )
        )
    return HelpStatsOut(
        tenant=tenant, since=since, total=ServiceFigures(**_figures(rows)), by_place=by_place, by_associate=by_associate
    )
