"""``cosession tenant catalog --tenant ID (--url URL | --clear)``: a tenant's catalog endpoint."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from cosession.retail.catalog_store import CatalogSettings, CatalogUrlError


def add_parser(tsub: Any, default_database_url: str) -> None:
    cat = tsub.add_parser("catalog", help="show or set a tenant's catalog endpoint (cart revalidation)")
    cat.add_argument("--tenant", required=True, help="tenant id")
    group = cat.add_mutually_exclusive_group()
    group.add_argument("--url", help="http(s) URL the server POSTs product checks to (docs/checkout.md)")
    group.add_argument("--clear", action="store_true", help="stop revalidating this tenant's carts")
    cat.add_argument("--database-url", default=default_database_url)


def run(args: argparse.Namespace, with_store: Callable[[str, Any], Awaitable[Any]]) -> int:
    from cosession.tenants.store import TenantStore

    async def apply(tenants: TenantStore) -> str | None:
        if await tenants.get(args.tenant) is None:
            raise LookupError(args.tenant)
        settings = CatalogSettings(tenants)
        if args.url is not None or args.clear:
            await settings.set(args.tenant, None if args.clear else args.url)
        return await settings.get(args.tenant, fresh=True)

    try:
        url: str | None = asyncio.run(with_store(args.database_url, apply))  # type: ignore[arg-type]
    except LookupError:
        print(f"error: no tenant {args.tenant!r}", file=sys.stderr)
        return 2
    except CatalogUrlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"catalog: {url or '(none)'}")
    return 0
