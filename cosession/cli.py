"""``cosession`` command line: ``serve`` runs a node, ``room create`` makes a room on one,
``tenant`` manages tenants and ``report`` writes a tenant's trends report."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from cosession.config import Settings, from_env


def _serve_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="run a cosession server (embedded SQLite by default)")
    p.add_argument("--host", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8080)")
    p.add_argument("--database-url", help="SQLAlchemy URL (default sqlite:///cosession.db)")
    p.add_argument(
        "--secret",
        help="token signing secret (default: generated once, then kept beside the SQLite file, "
        "or in the PostgreSQL database where every node finds it)",
    )
    p.add_argument("--redis-url", help="cluster mode: redis://host:port/0 shared by every node")
    p.add_argument("--node-id", help="cluster node name (default: host-pid-random)")
    p.add_argument("--write-timeout", type=float, help="cluster: seconds an op may wait for Redis")
    p.add_argument("--node-ttl", type=float, help="cluster: seconds before a silent node's members are dropped")
    p.add_argument("--public-url", help="base URL used in invite links (default http://HOST:PORT)")
    p.add_argument("--log-format", choices=["auto", "json", "console"])
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p.add_argument("--max-frame-bytes", type=int)
    p.add_argument("--ops-per-second", type=float)
    p.add_argument("--ops-burst", type=int)
    p.add_argument("--max-members", type=int, help="distinct members online per room")
    p.add_argument("--max-cart-lines", type=int, help="lines a room's cart may hold")
    p.add_argument("--send-queue-bytes", type=int, help="per-connection send queue bound")
    p.add_argument("--slow-close-grace", type=float, help="seconds a slow client has to read up to its close frame")
    p.add_argument("--history-events", type=int, help="replay window for resume, in events")
    p.add_argument("--snapshot-every", type=int)
    p.add_argument("--presence-grace", type=float)
    p.add_argument("--hello-timeout", type=float, help="seconds a new connection has to send hello")
    p.add_argument("--room-idle-unload", type=float, help="seconds before an empty room leaves memory")
    p.add_argument("--rooms-per-minute", type=int, help="room creations per client address per minute (0: no limit)")
    p.add_argument("--accepts-per-minute", type=int, help="invite accepts per client address per minute (0: no limit)")
    p.add_argument(
        "--pk-invites-per-minute", type=int, help="publishable-key invites per client address per minute (0: no limit)"
    )
    p.add_argument("--max-connections-per-member", type=int, help="open connections per member per room (per node)")
    p.add_argument("--max-room-members", type=int, help="members a room can ever hold, kicked ones included")
    p.add_argument("--commit-queue-max", type=int, help="events queued for the database before ops get unavailable")
    p.add_argument("--sqlite-synchronous", choices=["FULL", "NORMAL"])
    p.add_argument("--no-direct-send", action="store_true", help="use plain ASGI send (for comparison)")
    p.add_argument(
        "--require-tenant",
        action="store_true",
        default=None,
        help="refuse to create rooms without a tenant key (sk_ or pk_)",
    )
    p.add_argument("--demo", action="store_true", default=None, help="serve a demo shop with the widget at /demo")
    p.add_argument("--trends-min-group", type=int, help="k: smallest group a trends figure may describe (default 10)")
    p.add_argument("--trends-per-minute", type=int, help="trends queries per tenant per minute (0: no limit)")
    p.add_argument("--catalog-timeout", type=float, help="seconds per call to a tenant's catalog endpoint")
    p.add_argument("--catalog-concurrency", type=int, help="catalog calls in flight per process")
    p.add_argument("--catalog-breaker-failures", type=int, help="catalog failures in a row that open its breaker")
    p.add_argument("--catalog-breaker-cooldown", type=float, help="seconds a catalog breaker stays open")
    p.add_argument("--catalog-interval", type=float, help="seconds between re-checks of an active room's cart")
    p.add_argument("--poll-min-deadline-ms", type=int, help="shortest poll deadline, ms ahead (default 60000; tests)")
    p.add_argument("--poll-sweep-seconds", type=float, help="longest wait between poll deadline sweeps (default 5)")
    p.add_argument("--qa-buyer-answers-per-minute", type=int, help="product Q&A answers per buyer per minute")
    p.add_argument("--qa-tenant-answers-per-minute", type=int, help="product Q&A answers per tenant per minute")
    p.add_argument("--qa-sweep-interval", type=float, help="seconds between retries of undelivered Q&A answers")
    p.add_argument("--catalog-lookups-per-minute", type=int, help="catalog lookups/searches per caller per minute")
    p.add_argument("--stun-url", dest="stun_urls", action="append", help="STUN URL for calls (repeatable)")
    p.add_argument("--turn-url", dest="turn_urls", action="append", help="TURN URL for calls (repeatable)")
    p.add_argument("--turn-secret", help="TURN REST shared secret (coturn static-auth-secret)")
    p.add_argument("--turn-ttl", type=float, help="seconds a TURN credential stays valid (default 86400)")
    p.add_argument("--call-mode", choices=["auto", "relay"], help="auto: mesh up to --call-mesh-max, then relay")
    p.add_argument("--call-mesh-max", type=int, help="participants a mesh call may hold (default 4)")
    p.add_argument("--call-relay-max", type=int, help="participants the server relay forwards (default 16)")
    p.add_argument(
        "--call-relay-address", dest="call_relay_addresses", action="append", help="relay ICE host address (repeatable)"
    )
    p.add_argument("--signals-per-second", type=float, help="signal frames per second per connection")
    p.add_argument("--signals-burst", type=int, help="signal frames burst per connection")
    p.add_argument("--help-escalate-seconds", type=float, help="seconds before an unclaimed help request escalates")
    p.add_argument("--help-max-level", type=int, help="escalations stop at this level (default 3)")
    p.add_argument("--help-sweep-seconds", type=float, help="seconds between escalation sweeps (0: none here)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    settings = from_env(Settings())
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        value = getattr(args, f.name, None)
        if value is not None:
            changes[f.name] = tuple(value) if isinstance(value, list) else value
    return dataclasses.replace(settings, **changes)


def serve(args: argparse.Namespace) -> int:
    import structlog
    import uvicorn
    from sqlalchemy.exc import ArgumentError

    from cosession.app import create_app, redact_url
    from cosession.extras import MissingExtra
    from cosession.gateway.uvicorn_compat import websocket_protocol
    from cosession.logs import configure
    from cosession.startup import StartupError, bind_listener, check_sqlite_path

    settings = settings_from_args(args)
    configure(settings.log_format, settings.log_level)
    try:
        # the port first: nothing is announced (or written) when another server holds it
        listener = bind_listener(settings.host, settings.port)
        check_sqlite_path(settings.database_url)
        app = create_app(settings)
    except (StartupError, MissingExtra) as exc:
        print(f"cosession: {exc}", file=sys.stderr, flush=True)
        return 1
    except (OSError, ValueError) as exc:  # the secret file, an unsupported database URL
        print(f"cosession: cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    except ArgumentError:  # the message would repeat the URL, password included
        print(
            "cosession: cannot start: the --database-url could not be parsed "
            "(use sqlite:///FILE or postgresql://USER@HOST:PORT/DB)",
            file=sys.stderr,
            flush=True,
        )
        return 1
    base = app.state.services.settings.base_url
    print(
        f"cosession serving on {base}  (database: {redact_url(settings.database_url)})\n"
        f"  create a room:  cosession room create --server {base}\n"
        f'  or:             curl -X POST {base}/v1/rooms -d \'{{"name": "Weekend shopping"}}\'',
        file=sys.stderr,
        flush=True,
    )
    _print_browser_notes(settings, base)
    ws_protocol, direct_problem = websocket_protocol(direct=not args.no_direct_send)
    if direct_problem is not None:
        structlog.get_logger("cosession.cli").warning(
            "direct send disabled: every frame goes through ASGI send (slower fan-out, same behaviour)",
            reason=direct_problem,
            uvicorn=uvicorn.__version__,
        )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        ws=ws_protocol,
        ws_max_size=settings.max_frame_bytes,
        ws_per_message_deflate=False,
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    return 0 if server.started else 1


def room_create(args: argparse.Namespace) -> int:
    body = json.dumps({"name": args.name, "owner_name": args.owner_name}).encode()
    request = urllib.request.Request(
        args.server.rstrip("/") + "/v1/rooms", data=body, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            data = json.load(response)
    except urllib.error.HTTPError as exc:
        print(f"error {exc.code}: {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot reach {args.server}: {exc} (is `cosession serve` running?)", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"room:        {data['room']}")
    print(f"invite link: {data['invite']['url']}")
    print(f"owner token: {data['token']}")
    print(f"join:        cosession-client join {data['invite']['url']} --name YOURNAME")
    return 0


def _print_browser_notes(settings: Settings, base: str) -> None:
    from cosession.web.assets import BUILD_HINT, Assets

    missing = Assets().missing()
    if missing:
        print(
            f"  warning: {', '.join(missing)} not built (/widget.js answers 503); {BUILD_HINT}",
            file=sys.stderr,
            flush=True,
        )
    if settings.demo:
        print(
            f"  demo shop:      {base}/demo  (widget embedded with the demo tenant's key)", file=sys.stderr, flush=True
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cosession", description="collaborative shopping rooms server")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    room = sub.add_parser("room", help="manage rooms on a running server")
    room_sub = room.add_subparsers(dest="room_command", required=True)
    create = room_sub.add_parser("create", help="create a room; prints an invite link and the owner token")
    create.add_argument("--server", default="http://127.0.0.1:8080")
    create.add_argument("--name", default="Shopping together")
    create.add_argument("--owner-name", default="Owner")
    create.add_argument("--json", action="store_true")
    from cosession.tenants import cli as tenant_cli

    tenant_cli.add_parser(sub, Settings().database_url)
    from cosession.trends import cli as report_cli

    report_cli.add_parser(sub, Settings().database_url)
    from cosession.notify import cli as push_cli
    from cosession.stores import cli as qr_cli

    qr_cli.add_parser(sub, Settings().database_url)
    push_cli.add_parser(sub, Settings().database_url)
    args = parser.parse_args(argv)
    if args.command == "qr":
        return qr_cli.run(args)
    if args.command == "push":
        return push_cli.run(args)
    if args.command == "report":
        return report_cli.run(args)
    if args.command == "serve":
        return serve(args)
    if args.command == "tenant":
        from cosession.extras import MissingExtra, require_postgres

        try:
            if str(getattr(args, "database_url", "")).startswith(("postgresql", "postgres:")):
                require_postgres()
        except MissingExtra as exc:
            print(f"cosession: {exc}", file=sys.stderr)
            return 1
        return tenant_cli.run(args)
    return room_create(args)


if __name__ == "__main__":
    sys.exit(main())
