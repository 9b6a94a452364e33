"""``cosession qr --tenant T --store S [--department D] [--invite CODE] [--format svg|png|sheet]
[--out FILE]``: a store's printable QR code (or its print sheet) from the database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any


def add_parser(sub: Any, default_database_url: str) -> None:
    p = sub.add_parser("qr", help="a printable QR code that opens a room in a store (SVG, PNG or an HTML sheet)")
    p.add_argument("--tenant", required=True, help="tenant id")
    p.add_argument("--store", required=True, help="store id (PUT /v1/admin/stores/{store} makes one)")
    p.add_argument("--department", help="a department of the store")
    p.add_argument("--invite", help="an invite code: join that existing room instead of opening a new one")
    p.add_argument("--format", choices=["svg", "png", "sheet"], default="svg", help="sheet: every department, HTML")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.add_argument("--public-url", help="the server's public base URL (default: COSESSION_PUBLIC_URL or local)")
    p.add_argument("--database-url", default=default_database_url)


def run(args: argparse.Namespace) -> int:
    from cosession.config import Settings, from_env
    from cosession.stores.directory import StoreDirectory, StoreInfo
    from cosession.stores.qr import qr_png, qr_sheet, qr_svg, store_url
    from cosession.tenants.cli import _with_store
    from cosession.tenants.store import TenantStore

    async def read(tenants: TenantStore) -> StoreInfo | None:
        return await StoreDirectory(tenants).get(args.tenant, args.store)

    info: StoreInfo | None = asyncio.run(_with_store(args.database_url, read))
    if info is None:
        print(f"error: tenant {args.tenant!r} has no store {args.store!r}", file=sys.stderr)
        return 2
    if args.department is not None and args.department not in info.departments:
        print(f"error: store {args.store!r} has no department {args.department!r}", file=sys.stderr)
        return 2
    base = args.public_url or from_env(Settings()).base_url
    url = store_url(base, args.tenant, info.store, args.department, args.invite)
    if args.format == "sheet":
        data = qr_sheet(base, args.tenant, info).encode()
    else:
        data = qr_png(url) if args.format == "png" else qr_svg(url)
    if args.out:
        with open(args.out, "wb") as f:
            f.write(data)
        print(url, file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
