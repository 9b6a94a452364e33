"""``cosession push keys``: the VAPID key pair for Web Push (SPEC 18.4).

Without options it prints a NEW key pair to configure by hand (``COSESSION_PUSH_VAPID_KEY``
= the private key; keep it secret). With ``--database-url`` it prints the deployment's
key as the server uses it (generated and stored once if the database has none), public
half only unless ``--show-private``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any


def add_parser(sub: Any, default_database_url: str) -> None:
    push = sub.add_parser("push", help="Web Push settings")
    push_sub = push.add_subparsers(dest="push_command", required=True)
    keys = push_sub.add_parser("keys", help="print a new VAPID key pair, or the deployment's (--database-url)")
    keys.add_argument("--database-url", default=None, help=f"the server's database (e.g. {default_database_url})")
    keys.add_argument("--show-private", action="store_true", help="with --database-url: print the private key too")


async def _stored(database_url: str) -> Any:
    from cosession.notify.vapid import deployment_key
    from cosession.store.store_sql import SqlStore

    store = SqlStore(database_url)
    await store.start()
    try:
        return await deployment_key(store, "")
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    from cosession.extras import push_available

    if not push_available():
        print("cosession: Web Push needs the push extra: pip install 'cosession[push]'", file=sys.stderr)
        return 1
    from cosession.notify.vapid import VapidKey, new_private_key

    if args.database_url:
        key = asyncio.run(_stored(args.database_url))
        out = {"public_key": key.public}
        if args.show_private:
            out["private_key"] = key.private
    else:
        key = VapidKey(new_private_key())
        out = {"public_key": key.public, "private_key": key.private}
    print(json.dumps(out, indent=2))
    return 0
