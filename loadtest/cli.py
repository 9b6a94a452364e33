"""``cosession-loadtest``: scripted multi-client load with percentiles, checks and a report.

    cosession-loadtest list
    cosession-loadtest run fanout --spawn 1 --members 100 --duration 20 --slo 'op_ack.p99 < 50ms'
    cosession-loadtest run my_scenario.py --url http://10.0.0.5:8080 --url http://10.0.0.6:8080 --html report.html

Exit codes: 0 every SLO passed and the correctness checks found nothing; 1 an SLO failed
or a correctness finding; 2 usage error (flags, scenario file, SLO syntax); 3 the run
itself failed (cluster did not start, rooms could not be created, nobody connected).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_SLO, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


def _positive_float(text: str) -> float:
    from loadtest.units import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cpus(text: str) -> set[int]:
    from loadtest.spawn import parse_cpus

    try:
        cpus = parse_cpus(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not cpus <= os.sched_getaffinity(0):
        raise argparse.ArgumentTypeError(
            f"CPUs {sorted(cpus)} are not all available here ({sorted(os.sched_getaffinity(0))})"
        )
    return cpus


def _param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cosession-loadtest",
        description="Drive scripted cosession clients: load, latency percentiles, correctness checks, reports.",
        epilog="exit codes: 0 pass, 1 SLO or correctness failure, 2 usage error, 3 run failed",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the built-in scenarios")
    run = sub.add_parser(
        "run", help="run a scenario", description="Run SCENARIO: a built-in name, a .py or a .toml file."
    )
    run.add_argument("scenario", metavar="SCENARIO", help="built-in name (see `list`), scenario.py or scenario.toml")
    target = run.add_argument_group("target")
    target.add_argument(
        "--url", action="append", default=[], help="a node's base URL (repeat: members spread over them)"
    )
    target.add_argument(
        "--spawn", type=int, metavar="N", help="start a local cluster of N nodes (N>1: with redis-server)"
    )
    target.add_argument(
        "--spawn-arg", action="append", default=[], metavar="ARG", help="extra `cosession serve` flag for --spawn nodes"
    )
    target.add_argument(
        "--spawn-db",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="--spawn nodes' database: a SQLite file (default) or a private PostgreSQL server",
    )
    target.add_argument(
        "--spawn-redis", action="store_true", help="with --spawn 1: a one-node cluster behind a redis-server"
    )
    target.add_argument(
        "--spawn-cpus", type=_cpus, metavar="LIST", help="run the --spawn nodes on these CPUs only (0 / 0,1 / 0-3)"
    )
    shape = run.add_argument_group("load shape (defaults: the scenario's)")
    shape.add_argument("--rooms", type=int, metavar="R")
    shape.add_argument("--members", type=int, metavar="M", help="members per room")
    shape.add_argument("--duration", type=_positive_float, metavar="S", help="load phase, ramp included (30, 2m …)")
    shape.add_argument("--ramp", type=_positive_float, metavar="S", help="members arrive evenly over S seconds")
    shape.add_argument("--arrival-rate", type=float, metavar="PER_S", help="members arrive at this rate (over --ramp)")
    shape.add_argument("--op-rate", type=float, metavar="PER_MEMBER_PER_S", help="actions per member per second")
    shape.add_argument("--payload-bytes", type=int, metavar="B", help="chat text size")
    shape.add_argument("--format", choices=["msgpack", "json"], help="subprotocol")
    shape.add_argument("-p", "--param", type=_param, action="append", default=[], metavar="KEY=VALUE")
    shape.add_argument("--seed", type=int, default=1)
    shape.add_argument("--video", action="store_true", help="`call` scenario: callers send video too (-p video=1)")
    gen = run.add_argument_group("generator and output")
    gen.add_argument("--workers", type=int, metavar="W", help=f"worker processes (default: cores = {os.cpu_count()})")
    gen.add_argument(
        "--cpus", type=_cpus, metavar="LIST", help="run the load generator on these CPUs only (0 / 0,1 / 0-3)"
    )
    gen.add_argument("--json", type=Path, metavar="OUT.json", help="write every metric and finding as JSON")
    gen.add_argument("--html", type=Path, metavar="OUT.html", help="write a self-contained HTML report")
    gen.add_argument("--slo", action="append", default=[], metavar="EXPR", help="e.g. 'op_ack.p99 < 50ms' (repeat)")
    gen.add_argument("--no-live", action="store_true", help="plain progress lines even on a terminal")
    gen.add_argument(
        "--cpu-warn",
        type=float,
        default=90.0,
        metavar="PCT",
        help="warn when the controller or a worker uses more than PCT%% of a core for 3 s (default 90)",
    )
    return parser


def _list() -> int:
    from loadtest.builtin import BUILTINS

    for name, factory in BUILTINS.items():
        scenario = factory({})
        print(
            f"{name:10} {scenario.description}\n{'':10} defaults: {scenario.rooms} rooms x {scenario.members} members, "
            f"{scenario.duration:g} s (ramp {scenario.ramp:g} s), op rate {scenario.op_rate:g}/member/s"
        )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.command == "list":
        return _list()
    return _run(parser, args, args_list)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> int:
    from loadtest.runner import RunConfig, RunFailed
    from loadtest.scenario import ScenarioError, load_scenario
    from loadtest.slo import SloError, parse
    from loadtest.units import resolve_at

    if bool(args.url) == bool(args.spawn):
        parser.error("give either --url (one or more) or --spawn N")
    if args.spawn is not None and args.spawn < 1:
        parser.error("--spawn needs N >= 1")
    if not args.spawn and (args.spawn_redis or args.spawn_db != "sqlite" or args.spawn_arg or args.spawn_cpus):
        parser.error("--spawn-db, --spawn-redis, --spawn-arg and --spawn-cpus need --spawn N")
    for flag in ("rooms", "members", "workers", "payload_bytes"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f"--{flag.replace('_', '-')} must be >= 1")
    params = dict(args.param)
    if args.video:
        params["video"] = "1"
    try:
        scenario = load_scenario(args.scenario, params)
        slos = [parse(text) for text in [*scenario.slos, *args.slo]]
    except (ScenarioError, SloError) as exc:
        print(f"cosession-loadtest: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    duration = args.duration if args.duration is not None else scenario.duration
    ramp = args.ramp if args.ramp is not None else scenario.ramp
    arrival_rate = args.arrival_rate if args.arrival_rate is not None else scenario.arrival_rate
    if duration <= 0:
        parser.error("--duration must be > 0")
    try:
        storms = [resolve_at(value, duration) for value in scenario.storms]
    except ValueError as exc:
        print(f"cosession-loadtest: error: storms: {exc}", file=sys.stderr)
        return EXIT_USAGE
    cfg = RunConfig(
        scenario_ref=args.scenario,
        scenario=scenario,
        slos=slos,
        urls=list(args.url),
        spawn=args.spawn or 0,
        spawn_args=list(args.spawn_arg),
        spawn_db=args.spawn_db,
        spawn_redis=args.spawn_redis,
        rooms=args.rooms or scenario.rooms,
        members=args.members or scenario.members,
        duration=duration,
        ramp=min(ramp, duration),
        arrival_rate=arrival_rate,
        op_rate=args.op_rate if args.op_rate is not None else scenario.op_rate,
        payload_bytes=args.payload_bytes or scenario.payload_bytes,
        format=args.format or scenario.format,
        workers=args.workers or os.cpu_count() or 1,
        seed=args.seed,
        params=params,
        argv=["cosession-loadtest", *argv],
        storms=storms,
        cpu_warn=args.cpu_warn,
        spawn_cpus=args.spawn_cpus,
        cpus=args.cpus,
    )
    try:
        result = _execute(cfg, live=False if args.no_live else None)
    except RunFailed as exc:
        print(f"cosession-loadtest: run failed: {exc}", file=sys.stderr)
        _write_failure(args, cfg, str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("cosession-loadtest: aborted", file=sys.stderr)
        _write_failure(args, cfg, "aborted")
        return EXIT_FAILED
    except Exception as exc:  # a bug or an environment problem: still a failed run, with details
        traceback.print_exc()
        _write_failure(args, cfg, f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED
    _write_outputs(args, result)
    return int(result["exit_code"])


def _execute(cfg: Any, live: bool | None) -> dict[str, Any]:
    import asyncio

    import uvloop

    from loadtest.live import Display
    from loadtest.runner import Controller

    display = Display(target_clients=cfg.rooms * cfg.members, live=live)
    controller = Controller(cfg, display)
    try:
        result: dict[str, Any] = uvloop.run(controller.run())
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    display.summary(result)
    return result


def _write_outputs(args: argparse.Namespace, result: dict[str, Any]) -> None:
    from loadtest.report_html import render
    from loadtest.runner import to_json

    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(to_json(result))
        print(f"wrote {args.json}")
    if args.html is not None:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(render(result), encoding="utf-8")
        print(f"wrote {args.html}")


def _write_failure(args: argparse.Namespace, cfg: Any, error: str) -> None:
    if args.json is None:
        return
    from loadtest.runner import to_json

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_bytes(
        to_json(
            {
                "tool": "cosession-loadtest",
                "command": cfg.argv,
                "exit_code": EXIT_FAILED,
                "outcome": "run failed",
                "error": error,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
