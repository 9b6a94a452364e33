"""BENCHMARKS.md's single-node and cluster figures, re-measured with ``cosession-loadtest``.

    .venv/bin/python -m benchmarks.remeasure [--only ID ...] [--out DIR] [--markdown PATH]
    .venv/bin/python -m benchmarks.remeasure --render-only --out DIR --markdown PATH
    .venv/bin/python -m benchmarks.remeasure --only ... --out NEW --compare OLD   # before → after

Runs each load-tool command below in turn (a fresh ``--spawn`` cluster per run, full
``RoomClient`` members that check every event), keeps each run's JSON result in ``--out``
and renders the tables from those JSON files, with the exact command lines. A latency run
at "half the saturation rate" takes its rate from the saturation run of the same
invocation. Every run is bounded: the load tool's own duration, and a 15-minute kill.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 900.0
NORMAL = "--spawn-arg=--sqlite-synchronous=NORMAL"


@dataclass
class Run:
    id: str
    what: str
    args: list[str]
    half_rate_of: str | None = None  # --op-rate = half the acked ops/s of that run
    extra: dict[str, Any] = field(default_factory=dict)


def _fanout(members: int, *more: str) -> list[str]:
    return ["run", "fanout", "--members", str(members), *more]


RUNS: list[Run] = [
    Run(
        "fanout-100",
        "one room of 100, one sender as fast as 64 un-acked chats allow (saturation)",
        _fanout(100, "--spawn", "1", NORMAL, "--duration", "25", "--ramp", "5", "--op-rate", "0", "-p", "window=64"),
    ),
    Run(
        "fanout-1000",
        "one room of 1,000, saturation (members arrive over 30 s; the sender starts once all are online)",
        _fanout(
            1000,
            "--spawn",
            "1",
            NORMAL,
            "--duration",
            "90",
            "--ramp",
            "30",
            "--op-rate",
            "0",
            "-p",
            "window=64",
            "-p",
            "wait=90",
        ),
    ),
    Run(
        "latency-100",
        "room of 100 at half the saturation rate (NORMAL)",
        _fanout(100, "--spawn", "1", NORMAL, "--duration", "20", "--ramp", "5"),
        half_rate_of="fanout-100",
    ),
    Run(
        "latency-100-full",
        "the same with the server's default --sqlite-synchronous FULL",
        _fanout(100, "--spawn", "1", "--duration", "20", "--ramp", "5"),
        half_rate_of="fanout-100",
    ),
    Run(
        "idle-2000",
        "2,000 idle members in 20 rooms of 100",
        [
            "run",
            "idle",
            "--spawn",
            "1",
            NORMAL,
            "--rooms",
            "20",
            "--members",
            "100",
            "--duration",
            "30",
            "--ramp",
            "15",
        ],
    ),
    Run(
        "cl-latency-embedded",
        "room of 20 at 100 chats/s: embedded node (SQLite NORMAL)",
        _fanout(20, "--spawn", "1", NORMAL, "--op-rate", "100", "--duration", "20", "--ramp", "3"),
    ),
    Run(
        "cl-latency-1",
        "the same on a one-node cluster (Redis + PostgreSQL)",
        _fanout(
            20,
            "--spawn",
            "1",
            "--spawn-redis",
            "--spawn-db",
            "postgres",
            "--op-rate",
            "100",
            "--duration",
            "20",
            "--ramp",
            "3",
        ),
    ),
    Run(
        "cl-latency-3",
        "the same on three nodes (members round-robin: 2 of 3 deliveries cross nodes)",
        _fanout(20, "--spawn", "3", "--spawn-db", "postgres", "--op-rate", "100", "--duration", "20", "--ramp", "3"),
    ),
    *[
        Run(
            f"large-{n}",
            f"one room of 1,000 at 10 chats/s, {n} node(s)",
            _fanout(
                1000,
                "--spawn",
                str(n),
                *(["--spawn-redis"] if n == 1 else []),
                "--spawn-db",
                "postgres",
                "--op-rate",
                "10",
                "--duration",
                "90",
                "--ramp",
                "30",
                "-p",
                "wait=90",
            ),
            extra={"nodes": n, "workload": "1 room x 1,000"},
        )
        for n in (1, 2, 3)
    ],
    *[
        Run(
            f"small-{n}",
            f"500 rooms of 5 (members arrive over 60 s), one sender per room at 1 chat/s, {n} node(s)",
            [
                "run",
                "fanout",
                "--rooms",
                "500",
                "--members",
                "5",
                "--spawn",
                str(n),
                *(["--spawn-redis"] if n == 1 else []),
                "--spawn-db",
                "postgres",
                "--op-rate",
                "1",
                "--duration",
                "100",
                "--ramp",
                "60",
                "-p",
                "wait=90",
            ],
            extra={"nodes": n, "workload": "500 rooms x 5"},
        )
        for n in (1, 2, 3)
    ],
]
BY_ID = {run.id: run for run in RUNS}


def command_line(run: Run, out: Path, rate: float | None) -> list[str]:
    args = list(run.args)
    if rate is not None:
        args += ["--op-rate", f"{rate:g}"]
    return [*args, "--no-live", "--json", str(out / f"{run.id}.json")]


def execute(run: Run, out: Path, rate: float | None) -> dict[str, Any]:
    argv = command_line(run, out, rate)
    shown = "cosession-loadtest " + shlex.join(argv)
    print(f"\n=== {run.id}: {shown}", flush=True)
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "loadtest", *argv], cwd=REPO, timeout=RUN_TIMEOUT, check=False)
    print(f"=== {run.id}: exit {done.returncode} in {time.monotonic() - began:.0f} s", flush=True)
    return load(out, run.id)


def load(out: Path, run_id: str) -> dict[str, Any]:
    path = out / f"{run_id}.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return data


# ---- rendering ---------------------------------------------------------------------------


def _ms(result: dict[str, Any], name: str) -> str:
    lat = result.get("latency", {}).get(name) or {}
    if not lat.get("count"):
        return "-"
    return f"{lat['p50']:.2f} / {lat['p99']:.2f}"


def _n(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _cpu(res: dict[str, Any], *roles: str) -> str:
    cpu = res.get("cpu_pct", {})
    return " / ".join(f"{cpu.get(r, 0):.0f}%" for r in roles) + f" / {res.get('cpu_pct_other', 0):.0f}%"


def _shown(result: dict[str, Any]) -> str:
    argv = list(result.get("command", []))
    if "--json" in argv:  # where the JSON went is not part of the measurement
        i = argv.index("--json")
        argv = argv[:i] + argv[i + 2 :]
    return shlex.join(argv)


def _checked(results: dict[str, dict[str, Any]]) -> str:
    lines = []
    for run_id, r in results.items():
        corr = r.get("correctness")
        if corr is None:
            lines.append(f"- `{run_id}`: **run failed** ({r.get('error', 'no result')})")
            continue
        fan = corr.get("fanout", [])
        fan_ok = all(f["ok"] for f in fan)
        findings = sum(corr["counts"].values())
        delivered = sum(f["delivered"] for f in fan)
        late = sum(f.get("joined_late", 0) for f in fan)
        expected = sum(f["expected"] for f in fan)
        errors = r["totals"]["errors"]
        lines.append(
            f"- `{run_id}`: exit {r['exit_code']}; {findings} findings (gaps, duplicates, state mismatches); "
            + (f"chat events delivered {delivered:,} of {expected:,} expected; " if fan else "")
            + (f"{late} member(s) joined after the chatting began; " if late else "")
            + f"{errors} errors"
            + ("" if fan_ok else " — **FAN-OUT COUNT MISMATCH**")
        )
    return "\n".join(lines)


def render(results: dict[str, dict[str, Any]]) -> str:
    ok = {k: v for k, v in results.items() if v.get("totals")}
    any_result = next(iter(ok.values()), {})
    m = any_result.get("machine", {})
    out = [
        "Commands (run in this order by `.venv/bin/python -m benchmarks.remeasure`; each starts its own",
        "servers with `--spawn`, on free 127.0.0.1 ports):",
        "",
        "```",
    ]
    out += [f"{run_id:20} {_shown(r)}" for run_id, r in ok.items()]
    out += [
        "```",
        "",
        f"Machine: {m.get('cpus')} CPUs, {m.get('platform')}, Python {m.get('python')}; "
        + ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
        + ". Load average at the start of each run: "
        + ", ".join(f"{k} {r['machine']['loadavg_start'][0]:.1f}" for k, r in ok.items())
        + ".",
        "",
        "Rates and CPU are averages over the steady phase (after the ramp); latencies cover the whole run; "
        "CPU is in % of one core (*other* = the rest of the machine). Members are full `RoomClient`s in the "
        "load tool's 2 worker processes, on the same 2 cores as the servers.",
        "",
    ]
    single: list[str] = [k for k in ("fanout-100", "fanout-1000", "latency-100", "latency-100-full") if k in ok]
    if single:
        out += [
            "**Single node (SQLite), one room.**",
            "",
            "| run | acked ops/s | delivered/s | op→ack p50 / p99 ms | op→delivery p50 / p99 ms "
            "| server µs CPU per op | delivered per server CPU-s | CPU node / generator / other |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for k in single:
            r = ok[k]
            res = r.get("resources") or {}
            out.append(
                f"| `{k}` | {_n(r['totals']['ops_per_s'])} | {_n(r['totals']['delivered_per_s'])} "
                f"| {_ms(r, 'op_ack')} | {_ms(r, 'op_delivery')} | {_n(res.get('server_cpu_us_per_op'))} "
                f"| {_n(res.get('delivered_per_server_cpu_s'))} | {_cpu(res, 'nodes', 'generator')} |"
            )
        out.append("")
    if "idle-2000" in ok:
        res = ok["idle-2000"]["resources"]
        out += [
            f"**Memory** (`idle-2000`): the node's RSS was {res['nodes_rss_mib_before']:.1f} MiB before the first "
            f"member and {res['nodes_rss_mib_busiest']:.1f} MiB with {res['clients_at_busiest']:,} members online: "
            f"**{res['rss_per_client_kib']:.1f} KiB per connection**.",
            "",
        ]
    lat: list[str] = [k for k in ("cl-latency-embedded", "cl-latency-1", "cl-latency-3") if k in ok]
    if lat:
        out += [
            "**Cluster latency**, room of 20 at 100 chats/s.",
            "",
            "| run | op→ack p50 / p99 ms | op→delivery p50 / p99 ms | same node | cross node "
            "| CPU nodes / redis / postgres / generator / other | Redis commands per op |",
            "|---|---:|---:|---:|---:|---|---:|",
        ]
        for k in lat:
            r = ok[k]
            res = r.get("resources") or {}
            redis = res.get("redis") or {}
            out.append(
                f"| `{k}` | {_ms(r, 'op_ack')} | {_ms(r, 'op_delivery')} | {_ms(r, 'op_delivery_same_node')} "
                f"| {_ms(r, 'op_delivery_cross_node')} | {_cpu(res, 'nodes', 'redis', 'postgres', 'generator')} "
                f"| {_n(redis.get('commands_per_op'), 2)} |"
            )
        out.append("")
        redis = ((ok.get("cl-latency-3") or {}).get("resources") or {}).get("redis")
        if redis:
            per = ", ".join(
                f"`{name}` {v['per_op']:.2f} ({v['usec_per_op']:.1f} µs)"
                for name, v in redis["by_command"].items()
                if name not in ("info", "hello")  # the measurement's own connection
            )
            out += [
                f"Redis in `cl-latency-3`, per acked op ({redis['ops']:,} ops, background included): {per}; "
                f"{redis['usec_per_op']:.0f} µs in Redis per op.",
                "",
            ]
    tput: list[str] = [k for k in ("large-1", "large-2", "large-3", "small-1", "small-2", "small-3") if k in ok]
    if tput:
        out += [
            "**Cluster throughput at a fixed offered load**, 1, 2 and 3 nodes over Redis + PostgreSQL.",
            "",
            "| workload | nodes | acked ops/s | delivered/s | server µs CPU per op | delivered per server CPU-s "
            "| vs 1 node | CPU nodes / redis / postgres / generator / other | Redis cmds/op "
            "| op→delivery p50 / p99 ms |",
            "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        ]
        for k in tput:
            r = ok[k]
            res = r.get("resources") or {}
            base = ((ok.get(k[:-1] + "1") or {}).get("resources") or {}).get("delivered_per_server_cpu_s")
            mine = res.get("delivered_per_server_cpu_s")
            ratio = f"{mine / base:.2f}x" if mine and base else "-"
            redis = res.get("redis") or {}
            spec = BY_ID[k].extra
            out.append(
                f"| {spec['workload']} | {spec['nodes']} | {_n(r['totals']['ops_per_s'])} "
                f"| {_n(r['totals']['delivered_per_s'])} | {_n(res.get('server_cpu_us_per_op'))} | {_n(mine)} "
                f"| {ratio} | {_cpu(res, 'nodes', 'redis', 'postgres', 'generator')} "
                f"| {_n(redis.get('commands_per_op'), 2)} | {_ms(r, 'op_delivery')} |"
            )
        out.append("")
    out += ["Correctness, every run:", "", _checked(results), ""]
    return "\n".join(out)


def compare(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> str:
    """Runs present in both result folders, side by side (e.g. before and after a change)."""
    rows = [
        "| run | acked ops/s | delivered/s | server µs CPU per op | delivered per server CPU-s "
        "| CPU node(s) / generator | op→delivery p50 / p99 ms | join p50 / p99 ms |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for run_id in (r.id for r in RUNS):
        pair = [before.get(run_id) or {}, after.get(run_id) or {}]
        if not all(p.get("totals") for p in pair):
            continue
        cells = []
        formats: list[Callable[[dict[str, Any]], str]] = [
            lambda r: _n(r["totals"]["ops_per_s"]),
            lambda r: _n(r["totals"]["delivered_per_s"]),
            lambda r: _n((r.get("resources") or {}).get("server_cpu_us_per_op")),
            lambda r: _n((r.get("resources") or {}).get("delivered_per_server_cpu_s")),
            lambda r: " / ".join(
                f"{(r.get('resources') or {}).get('cpu_pct', {}).get(k, 0):.0f}%" for k in ("nodes", "generator")
            ),
            lambda r: _ms(r, "op_delivery"),
            lambda r: _ms(r, "join"),
        ]
        for fmt in formats:
            cells.append(f"{fmt(pair[0])} → {fmt(pair[1])}")
        rows.append(f"| `{run_id}` | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=list(BY_ID), help="run only these (default: all, in order)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "remeasure")
    parser.add_argument("--markdown", type=Path, help="write the tables here")
    parser.add_argument("--render-only", action="store_true", help="render the JSON results already in --out")
    parser.add_argument("--compare", type=Path, metavar="DIR", help="also print before (DIR) → after (--out) per run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [BY_ID[i] for i in args.only] if args.only else RUNS
    results: dict[str, dict[str, Any]] = {}
    started = datetime.datetime.now(datetime.UTC)
    for run in RUNS:
        if run in chosen and not args.render_only:
            rate = None
            if run.half_rate_of is not None:
                base = results.get(run.half_rate_of) or load(args.out, run.half_rate_of)
                ops = (base.get("totals") or {}).get("ops_per_s")
                if not ops:
                    print(f"=== {run.id}: skipped, no result of {run.half_rate_of} to take the rate from")
                    continue
                rate = max(1.0, round(ops / 2))
            results[run.id] = execute(run, args.out, rate)
        else:
            existing = load(args.out, run.id)
            if existing:
                results[run.id] = existing
    text = render(results)
    if args.compare is not None:
        before = {run.id: load(args.compare, run.id) for run in RUNS}
        text += "\n\nBefore → after:\n\n" + compare(before, results) + "\n"
    took = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
    print(f"\n{text}\n(took {took:.0f} s)")
    if args.markdown is not None:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
