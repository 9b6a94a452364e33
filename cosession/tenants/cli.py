"""``cosession tenant create|list``: talks to the database directly (no server needed)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from cosession.retail import cli as retail_cli
from cosession.tenants.keys import OriginError


def add_parser(sub: Any, default_database_url: str) -> None:
    tenant = sub.add_parser("tenant", help="manage tenants (retailers) in the server's database")
    tsub = tenant.add_subparsers(dest="tenant_command", required=True)
    create = tsub.add_parser("create", help="create a tenant; prints its secret and publishable keys")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--origin",
        action="append",
        default=[],
        metavar="URL",
        help="an origin (scheme://host[:port]) whose pages may use the publishable key; repeatable",
    )
    create.add_argument("--database-url", default=default_database_url, help="same default as serve")
    create.add_argument("--json", action="store_true")
    lst = tsub.add_parser("list", help="list tenants")
    lst.add_argument("--database-url", default=default_database_url)
    retail_cli.add_parser(tsub, default_database_url)


async def _with_store(database_url: str, fn: Any) -> Any:
    from cosession.store.store_sql import SqlStore
    from cosession.tenants.store import TenantStore

    store = SqlStore(database_url)
    await store.start()  # migrates the database to the newest schema (tenants included)
    try:
        tenants = TenantStore(store)
        return await fn(tenants)
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    from cosession.tenants.store import CreatedTenant, Tenant, TenantStore

    if args.tenant_command == "catalog":
        return retail_cli.run(args, _with_store)
    if args.tenant_command == "create":

        async def create(tenants: TenantStore) -> CreatedTenant:
            return await tenants.create(args.name, args.origin)

        try:
            made: CreatedTenant = asyncio.run(_with_store(args.database_url, create))
        except OriginError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        t = made.tenant
        if args.json:
            print(
                json.dumps(
                    {
                        "id": t.id,
                        "name": t.name,
                        "origins": list(t.origins),
                        "secret_key": made.secret_key,
                        "publishable_key": t.publishable_key,
                    },
                    indent=2,
                )
            )
            return 0
        print(f"tenant:          {t.id}  ({t.name})")
        print(f"origins:         {', '.join(t.origins) or '(none: the publishable key works nowhere yet)'}")
        print(f"secret key:      {made.secret_key}")
        print("                 (server to server only; shown once, only its hash is stored)")
        print(f"publishable key: {t.publishable_key}")
        print(f'embed:           <script src="SERVER/widget.js" data-key="{t.publishable_key}" ...></script>')
        return 0

    async def listing(tenants: TenantStore) -> list[Tenant]:
        return await tenants.list()

    for t in asyncio.run(_with_store(args.database_url, listing)):
        print(f"{t.id}\t{t.name}\t{t.publishable_key}\t{' '.join(t.origins)}")
    return 0
