"""``cosession report --tenant ID --out report.html``: trends as a self-contained HTML file.

Reads the server's database directly (no server needed), with the same minimum group
size as the server (``COSESSION_TRENDS_MIN_GROUP`` or ``--k``, never lower than it).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from cosession.config import Settings, from_env


def add_parser(sub: Any, default_database_url: str) -> None:
    p = sub.add_parser("report", help="write a tenant's anonymous trends as a self-contained HTML report")
    p.add_argument("--tenant", required=True, help="tenant id (t_...)")
    p.add_argument("--out", required=True, type=Path, help="HTML file to write")
    p.add_argument("--database-url", default=default_database_url, help="same default as serve")
    p.add_argument("--from", dest="first", metavar="YYYY-MM-DD", help="first day (UTC; default 30 days ago)")
    p.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="last day (UTC; default today)")
    p.add_argument("--k", type=int, help="minimum group size (at least the server's trends_min_group)")
    p.add_argument("--limit", type=int, default=20, help="entries per chart (default 20)")


async def _build(args: argparse.Namespace, settings: Settings) -> str | None:
    from cosession.store.store_sql import SqlStore
    from cosession.tenants.store import TenantStore
    from cosession.trends.report_html import render
    from cosession.trends.source import tenant_trends, window
    from cosession.trends.tenant_k import effective_k, tenant_k

    now = dt.datetime.now(dt.UTC)
    win = window(args.first, args.last, today=now.date())
    store = SqlStore(args.database_url)
    await store.start()
    try:
        tenant = await TenantStore(store).get(args.tenant)
        if tenant is None:
            return None
        floor = effective_k(settings.trends_min_group, await tenant_k(store, tenant.id))
        if args.k is not None and args.k < floor:
            raise ValueError(f"--k must be at least {floor} for this tenant")
        trends, truncated = await tenant_trends(
            store,
            tenant.id,
            win,
            k=args.k or floor,
            limit=max(1, min(args.limit, 100)),
            max_rooms=settings.trends_max_rooms,
        )
    finally:
        await store.close()
    name = f"{tenant.name} ({tenant.id})"
    generated = now.strftime("%Y-%m-%d %H:%M UTC")
    return render(name, (win.first.isoformat(), win.last.isoformat()), trends, generated, truncated)


def run(args: argparse.Namespace) -> int:
    settings = from_env(Settings())
    if args.k is not None and args.k < settings.trends_min_group:
        print(f"error: --k must be at least {settings.trends_min_group}", file=sys.stderr)
        return 2
    try:
        page = asyncio.run(_build(args, settings))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if page is None:
        print(f"error: no tenant {args.tenant}", file=sys.stderr)
        return 1
    args.out.write_text(page, encoding="utf-8")
    print(f"report written to {args.out}")
    return 0
