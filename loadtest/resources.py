"""What a run costs the machine: CPU-seconds and memory of the spawned servers, of the
load generator and of everything else, and the commands a spawned Redis executed.

Only ``--spawn`` runs have server processes to look at (``--url`` targets are elsewhere).
The controller takes a ``Sample`` before the load starts and one every second; the
report compares two of them (``steady_costs``): CPU over the steady phase, the nodes'
RSS at the busiest second against before the first member arrived (→ RSS per client).
PostgreSQL is its postmaster plus every backend seen alive at some sample (a backend
that exits between two samples loses its last CPU slice: a small undercount).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import psutil


@dataclass
class Sample:
    cpu_s: dict[str, float]  # role -> cumulative CPU-seconds (user + system)
    rss: dict[str, int]  # role -> resident bytes now
    machine_busy_s: float  # all CPUs, cumulative busy seconds (not idle, not iowait)
    at: float  # time.monotonic() of the sample


def _cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _machine_busy() -> float:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return float(sum(times) - idle)


@dataclass
class ResourceSampler:
    """Samples processes by role: ``node0`` …, ``redis``, ``postgres`` (with its backends),
    ``generator`` (the controller and its workers)."""

    roles: dict[str, list[psutil.Process]] = field(default_factory=dict)
    with_children: set[str] = field(default_factory=set)
    _seen: dict[str, dict[int, float]] = field(default_factory=dict)  # role -> pid -> last CPU-s

    def add(self, role: str, pid: int, *, children: bool = False) -> None:
        with contextlib.suppress(psutil.Error):
            self.roles.setdefault(role, []).append(psutil.Process(pid))
            if children:
                self.with_children.add(role)

    def sample(self) -> Sample:
        cpu: dict[str, float] = {}
        rss: dict[str, int] = {}
        for role, procs in self.roles.items():
            members = list(procs)
            if role in self.with_children:
                for proc in procs:
                    with contextlib.suppress(psutil.Error):
                        members.extend(proc.children(recursive=True))
            seen = self._seen.setdefault(role, {})
            resident = 0
            for proc in members:
                with contextlib.suppress(psutil.Error):
                    seen[proc.pid] = _cpu_seconds(proc)
                    resident += proc.memory_info().rss
            cpu[role] = sum(seen.values())
            rss[role] = resident
        return Sample(cpu, rss, _machine_busy(), time.monotonic())


def _group(role: str) -> str:
    return "nodes" if role.startswith("node") else role


def steady_costs(
    before: Sample,
    start: Sample,
    end: Sample,
    busiest: Sample,
    *,
    clients: int,
    delivered: int,
    ops: int,
) -> dict[str, Any]:
    """CPU (``start`` → ``end``: the steady phase), RSS (``before`` the first member →
    ``busiest``: the second with the most clients online), and costs per message."""
    seconds = end.at - start.at
    span = max(1e-9, seconds)
    cpu_pct: dict[str, float] = {}
    for role in end.cpu_s:
        group = _group(role)
        cpu_pct[group] = cpu_pct.get(group, 0.0) + 100.0 * (end.cpu_s[role] - start.cpu_s.get(role, 0.0)) / span
    ours = sum(cpu_pct.values())
    machine = 100.0 * (end.machine_busy_s - start.machine_busy_s) / span
    server_cpu_s = sum(v for k, v in cpu_pct.items() if k != "generator") * span / 100.0
    node_roles = [r for r in busiest.rss if r.startswith("node")]
    rss_before = sum(before.rss.get(r, 0) for r in node_roles)
    rss_busy = sum(busiest.rss[r] for r in node_roles)
    out: dict[str, Any] = {
        "steady_seconds": round(seconds, 2),
        "cpu_pct": {k: round(v, 1) for k, v in sorted(cpu_pct.items())},  # % of one core
        "cpu_pct_other": round(max(0.0, machine - ours), 1),  # everything else on the machine
    }
    if not node_roles:  # --url: the servers are not ours to look at
        return out
    out.update(
        {
            "server_cpu_s": round(server_cpu_s, 3),  # nodes + redis + postgres
            "delivered_per_server_cpu_s": round(delivered / server_cpu_s, 1) if server_cpu_s > 0 else None,
            "server_cpu_us_per_op": round(1e6 * server_cpu_s / ops, 1) if ops else None,
            "nodes_rss_mib_before": round(rss_before / 2**20, 1),
            "nodes_rss_mib_busiest": round(rss_busy / 2**20, 1),
            "clients_at_busiest": clients,
            "rss_per_client_kib": round((rss_busy - rss_before) / 1024 / clients, 2) if clients else None,
            "rss_mib": {role: round(v / 2**20, 1) for role, v in sorted(busiest.rss.items())},
        }
    )
    return out


def _stat_line(line: str) -> tuple[str, int, float] | None:
    # cmdstat_get:calls=3,usec=12,usec_per_call=4.00,rejected_calls=0,failed_calls=0
    name, _, rest = line.partition(":")
    if not name.startswith("cmdstat_"):
        return None
    fields = dict(part.split("=", 1) for part in rest.split(",") if "=" in part)
    try:
        return name.removeprefix("cmdstat_"), int(fields["calls"]), float(fields["usec"])
    except (KeyError, ValueError):
        return None


def parse_commandstats(text: str) -> dict[str, tuple[int, float]]:
    """``INFO commandstats`` → command -> (calls, usec)."""
    out: dict[str, tuple[int, float]] = {}
    for line in text.splitlines():
        parsed = _stat_line(line.strip())
        if parsed is not None:
            out[parsed[0]] = (parsed[1], parsed[2])
    return out


async def redis_commandstats(url: str) -> dict[str, tuple[int, float]]:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        raw: Any = await client.info("commandstats")
    finally:
        await client.aclose()
    if isinstance(raw, dict):  # redis-py parses INFO into a dict
        return {
            k.removeprefix("cmdstat_"): (int(v["calls"]), float(v["usec"]))
            for k, v in raw.items()
            if isinstance(v, dict) and "calls" in v
        }
    return parse_commandstats(raw.decode() if isinstance(raw, bytes) else str(raw))


_OUR_OWN = frozenset({"info", "hello"})


def redis_costs(
    before: dict[str, tuple[int, float]], after: dict[str, tuple[int, float]], *, ops: int
) -> dict[str, Any]:
    """Commands Redis executed between two ``INFO commandstats`` (the scripts' own
    ``redis.call``\\ s count as commands too), per acked op."""
    by_command: dict[str, dict[str, float]] = {}
    total_calls = 0
    total_usec = 0.0
    for name, (calls, usec) in after.items():
        if name in _OUR_OWN or name.startswith("client"):
            continue  # the measurement's own connection (HELLO, CLIENT SETINFO, INFO)
        calls0, usec0 = before.get(name, (0, 0.0))
        d_calls, d_usec = calls - calls0, usec - usec0
        if d_calls <= 0:
            continue
        total_calls += d_calls
        total_usec += d_usec
        by_command[name] = {
            "calls": d_calls,
            "per_op": round(d_calls / ops, 3) if ops else 0.0,
            "usec_per_op": round(d_usec / ops, 2) if ops else 0.0,
        }
    return {
        "ops": ops,
        "commands": total_calls,
        "commands_per_op": round(total_calls / ops, 2) if ops else None,
        "usec_per_op": round(total_usec / ops, 1) if ops else None,
        "by_command": dict(sorted(by_command.items(), key=lambda kv: -kv[1]["calls"])),
    }


def describe(resources: dict[str, Any] | None) -> list[str]:
    """The resources section as a few human lines (terminal summary and HTML report)."""
    if not resources:
        return []
    cpu = ", ".join(f"{k} {v:.0f}%" for k, v in resources["cpu_pct"].items())
    lines = [
        f"CPU over the steady phase ({resources['steady_seconds']:.1f} s), % of one core: {cpu}, "
        f"other processes {resources['cpu_pct_other']:.0f}%"
    ]
    if "server_cpu_s" in resources:
        per_op = resources["server_cpu_us_per_op"]
        per_cpu = resources["delivered_per_server_cpu_s"]
        lines.append(
            "servers (nodes + redis + postgres): "
            + (f"{per_op:,.0f} µs CPU per acked op, " if per_op is not None else "")
            + (f"{per_cpu:,.0f} events delivered per server CPU-second" if per_cpu is not None else "no deliveries")
        )
        if resources["rss_per_client_kib"] is not None:
            lines.append(
                f"memory: nodes' RSS {resources['nodes_rss_mib_before']:.1f} MiB before the first member, "
                f"{resources['nodes_rss_mib_busiest']:.1f} MiB with {resources['clients_at_busiest']:,} clients online "
                f"= {resources['rss_per_client_kib']:.1f} KiB per client"
            )
    redis = resources.get("redis")
    if redis and redis["commands_per_op"] is not None:
        top = ", ".join(f"{k} {v['per_op']:.2f}" for k, v in list(redis["by_command"].items())[:8])
        lines.append(
            f"redis: {redis['commands_per_op']:.2f} commands per acked op ({top}); {redis['usec_per_op']:.0f} µs in "
            f"Redis per op; {redis['ops']:,} ops after second {redis['from_second']} (background work included)"
        )
    return lines
