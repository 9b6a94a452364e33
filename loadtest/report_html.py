"""A self-contained HTML report: summary, SLOs, correctness, and inline SVG charts.

No script, no external stylesheet or font, no CDN: the file can be mailed or attached
to a CI run and opened anywhere. Charts are drawn here as plain SVG polylines.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any, Final

from loadtest.call_metrics import describe_call
from loadtest.help_metrics import describe_help
from loadtest.resources import describe

COLORS: Final = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
Point = tuple[float, float | None]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _nice_step(span: float, ticks: int = 5) -> float:
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= mult * power:
            return float(mult * power)
    return float(10 * power)


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}k"
    if abs(value) >= 10:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


def line_chart(
    title: str, series: Sequence[tuple[str, Sequence[Point]]], unit: str = "", width: int = 720, height: int = 230
) -> str:
    """An SVG line chart; ``None`` values break a line. Empty series draw "no data"."""
    left, right, top, bottom = 58, 14, 34, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [y for _, pts in series for _, y in pts if y is not None]
    xs = [x for _, pts in series for x, _ in pts]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_e(title)}">',
        f"<title>{_e(title)}</title>",
        f'<text x="{left}" y="18" class="ct">{_e(title)}</text>',
    ]
    if not values or not xs:
        out.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" class="nd">no data</text></svg>')
        return "".join(out)
    x_min, x_max = min(xs), max(xs)
    if x_max == x_min:
        x_max = x_min + 1
    y_max = max(values)
    step = _nice_step(y_max if y_max > 0 else 1.0)
    y_top = step * math.ceil((y_max if y_max > 0 else 1.0) / step)

    def px(x: float) -> float:
        return left + (x - x_min) / (x_max - x_min) * plot_w

    def py(y: float) -> float:
        return top + plot_h - (y / y_top) * plot_h

    # grid and y axis
    y = 0.0
    while y <= y_top + step / 2:
        out.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{left + plot_w}" y2="{py(y):.1f}" class="g"/>')
        out.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" class="yl">{_e(_fmt(y))}</text>')
        y += step
    if unit:
        out.append(f'<text x="6" y="{top - 8}" class="u">{_e(unit)}</text>')
    # x axis
    x_step = _nice_step(x_max - x_min, 8)
    x = math.ceil(x_min / x_step) * x_step
    while x <= x_max + 1e-9:
        out.append(f'<text x="{px(x):.1f}" y="{top + plot_h + 18}" class="xl">{_e(_fmt(x))}s</text>')
        x += x_step
    out.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="ax"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="ax"/>'
    )
    # lines
    legend_x = left + plot_w
    for i, (name, pts) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        run: list[str] = []
        runs: list[list[str]] = []
        for px_, py_ in pts:
            if py_ is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(f"{px(px_):.1f},{py(py_):.1f}")
        if run:
            runs.append(run)
        for r in runs:
            if len(r) == 1:
                cx, cy = r[0].split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{color}"/>')
            else:
                out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{" ".join(r)}"/>')
        label = _e(name)
        legend_x -= 12 + 7 * len(name) + 14
        out.append(f'<rect x="{legend_x:.0f}" y="10" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{legend_x + 14:.0f}" y="19" class="lg">{label}</text>')
    out.append("</svg>")
    return "".join(out)


def _series(rows: list[dict[str, Any]], key: str) -> list[Point]:
    return [(float(r["t"]), (float(r[key]) if r.get(key) is not None else None)) for r in rows]


def _table(head: Sequence[str], rows: Sequence[Sequence[object]], cls: str = "") -> str:
    out = [f'<table class="{cls}"><thead><tr>']
    out += [f"<th>{_e(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


_CSS: Final = " ".join(
    [
        "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;",
        "max-width:1000px;color:#222;padding:0 16px}",
        "h1{font-size:22px;margin:0 0 4px}",
        "h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}",
        "table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}",
        "th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}",
        "th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}",
        ".kv td:first-child{font-weight:600;background:#fafafa}",
        ".badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}",
        ".pass{background:#2e7d32}.fail{background:#c62828}",
        ".warn{background:#fff4e5;border-left:4px solid #ff9800;padding:6px 10px;margin:6px 0}",
        "code,pre{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f6f8fa;padding:1px 4px}",
        "pre{padding:8px;overflow:auto}",
        ".chart{display:block;margin:8px 0 18px;background:#fff;border:1px solid #eee}",
        ".chart .ct{font:600 13px system-ui,sans-serif}",
        ".chart .yl{font:11px system-ui,sans-serif;text-anchor:end;fill:#555}",
        ".chart .xl{font:11px system-ui,sans-serif;text-anchor:middle;fill:#555}",
        ".chart .lg{font:12px system-ui,sans-serif}.chart .u{font:11px system-ui,sans-serif;fill:#555}",
        ".chart .nd{font:13px system-ui,sans-serif;fill:#999;text-anchor:middle}",
        ".chart .g{stroke:#eee}.chart .ax{stroke:#999}",
    ]
)


def render(result: dict[str, Any]) -> str:
    totals = result["totals"]
    scenario = result["scenario"]
    corr = result["correctness"]
    passed = result["exit_code"] == 0
    rows = result["timeseries"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>cosession-loadtest · {_e(scenario['name'])} · {_e(result['started_at'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>cosession-loadtest · {_e(scenario['name'])}</h1>",
        f'<p><span class="badge {"pass" if passed else "fail"}">{_e(result["outcome"])}</span> '
        f"exit code {_e(result['exit_code'])} · started {_e(result['started_at'])}</p>",
    ]
    for warning in result["warnings"]:
        parts.append(f'<div class="warn">⚠ {_e(warning)}</div>')
    config = result["config"]
    machine = result["machine"]
    parts.append("<h2>Run</h2>")
    parts.append(
        _table(
            ("", ""),
            [
                ("command", " ".join(result["command"])),
                ("scenario", f"{scenario['name']}: {scenario['description']}"),
                (
                    "shape",
                    f"{scenario['rooms']} rooms x {scenario['members']} members, shoppers {scenario['shoppers']}",
                ),
                (
                    "timing",
                    f"duration {config['duration']} s, ramp {config['ramp']} s, op rate {config['op_rate']}/member/s, "
                    f"payload {config['payload_bytes']} B, {config['format']}",
                ),
                ("target", f"{', '.join(result['target']['urls'])} ({result['target']['kind']})"),
                ("generator", f"{config['workers']} worker processes"),
                (
                    "machine",
                    f"{machine['platform']}, {machine['cpus']} CPUs, {machine['memory_gib']} GiB, Python "
                    f"{machine['python']}, load average {machine['loadavg_start'][0]} → {machine['loadavg_end'][0]}",
                ),
            ],
            "kv",
        )
    )
    if result["slos"]:
        parts.append("<h2>SLOs</h2>")
        parts.append(
            _table(
                ("SLO", "measured", "result"),
                [(s["slo"], s["shown"], "pass" if s["passed"] else "FAIL") for s in result["slos"]],
            )
        )
    parts.append("<h2>Summary</h2>")
    parts.append(
        _table(
            ("measure", "value"),
            [
                ("members joined / started", f"{totals['members_joined']} / {totals['members_started']}"),
                ("peak clients online", totals["peak_clients"]),
                (
                    "ops sent / acked / rejected",
                    f"{totals['ops_sent']} / {totals['ops_acked']} / {totals['ops_rejected']}",
                ),
                ("acked ops per second (steady phase)", totals["ops_per_s"]),
                ("events delivered", totals["delivered"]),
                ("delivered per second (steady phase)", totals["delivered_per_s"]),
                ("errors", f"{totals['errors']} ({totals['error_ratio'] * 100:.3g}% of {totals['attempts']} attempts)"),
                ("rejections (room rules)", totals["rejections"]),
                (
                    "resumes",
                    f"{totals['resumes']} ({totals['resumes_recovered']} recovered, "
                    f"{totals['resumes_snapshot']} by snapshot)",
                ),
            ],
            "kv",
        )
    )
    lat_rows = []
    for name, summary in result["latency"].items():
        if summary.get("count"):
            lat_rows.append(
                (name, summary["count"], *(f"{summary[k]:.2f}" for k in ("p50", "p90", "p95", "p99", "p999", "max")))
            )
    parts.append("<h2>Latency (ms)</h2>")
    parts.append(_table(("metric", "count", "p50", "p90", "p95", "p99", "p99.9", "max"), lat_rows))
    if result["errors"] or result["rejections"]:
        parts.append("<h2>Errors and rejections by code</h2>")
        parts.append(
            _table(
                ("code", "kind", "count"),
                [(k, "error", v) for k, v in sorted(result["errors"].items())]
                + [(k, "rejection", v) for k, v in sorted(result["rejections"].items())],
            )
        )
    call = describe_call(result.get("call"))
    if call:
        parts.append("<h2>Call</h2><ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in call) + "</ul>")
    help_lines = describe_help(result.get("help"))
    if help_lines:
        parts.append("<h2>Help queue</h2><ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in help_lines) + "</ul>")
    resources = describe(result.get("resources"))
    if resources:
        parts.append(
            "<h2>Resources</h2><ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in resources) + "</ul>"
        )
    parts.append(f'<h2>Correctness: <span class="badge {"pass" if corr["ok"] else "fail"}">')
    parts.append(f"{'OK' if corr['ok'] else 'FAILED'}</span></h2><ul>")
    parts += [f"<li>{_e(line)}</li>" for line in corr["summary"]]
    parts.append("</ul>")
    parts.append(_table(("finding", "count"), sorted(corr["counts"].items())))
    if corr["findings"]:
        shown = corr["findings"][:50]
        parts.append(f"<p>First {len(shown)} of the findings:</p>")
        parts.append(
            _table(
                ("kind", "detail"),
                [(f["kind"], json.dumps({k: v for k, v in f.items() if k != "kind"})) for f in shown],
            )
        )
    if corr["rooms"]:
        parts.append(
            _table(
                ("room", "head seq", "epoch", "members compared", "all agree", "cart lines", "chat"),
                [
                    (
                        r["room"],
                        r["seq"],
                        r["epoch"],
                        r["members_compared"],
                        r["members_agree"],
                        r["cart_lines"],
                        r["chat_messages"],
                    )
                    for r in corr["rooms"][:50]
                ],
            )
        )
    parts.append("<h2>Charts</h2>")
    parts.append(
        line_chart("op→ack latency", [("p50", _series(rows, "op_ack_p50")), ("p99", _series(rows, "op_ack_p99"))], "ms")
    )
    parts.append(
        line_chart(
            "op→delivery latency (at the other members)",
            [("p50", _series(rows, "op_delivery_p50")), ("p99", _series(rows, "op_delivery_p99"))],
            "ms",
        )
    )
    parts.append(
        line_chart(
            "ops per second",
            [("sent", _series(rows, "ops_sent")), ("acked", _series(rows, "ops_acked"))],
            "per s",
        )
    )
    parts.append(line_chart("events delivered per second", [("delivered", _series(rows, "delivered"))], "per s"))
    parts.append(
        line_chart(
            "errors and resumes per second",
            [
                ("errors", _series(rows, "errors")),
                ("rejections", _series(rows, "rejections")),
                ("resumes", _series(rows, "resumes")),
            ],
            "per s",
        )
    )
    parts.append(line_chart("clients online", [("clients", _series(rows, "clients"))]))
    cpu: list[tuple[str, Sequence[Point]]] = [("controller", _series(rows, "cpu_controller"))]
    workers = max((len(r.get("cpu_workers") or []) for r in rows), default=0)
    for i in range(workers):
        cpu.append((f"worker {i}", [(float(r["t"]), _idx(r.get("cpu_workers"), i)) for r in rows]))
    servers = max((len(r.get("cpu_servers") or []) for r in rows), default=0)
    for i in range(servers):
        cpu.append((f"node {i}", [(float(r["t"]), _idx(r.get("cpu_servers"), i)) for r in rows]))
    parts.append(line_chart("CPU (% of one core)", cpu, "%"))
    parts.append(
        "<h2>Definitions</h2><ul>"
        "<li><b>op_ack</b>: op frame written → its ack received, at the sender.</li>"
        "<li><b>op_delivery</b>: the sender's clock in the op (chat text, cart.add product url) → the event "
        "received by every other member (one system-wide monotonic clock, all workers on one machine).</li>"
        "<li><b>welcome</b>: hello written → welcome received; <b>connect</b>: TCP + WebSocket handshake; "
        "<b>join</b>: arrival → first welcome (REST invite accept included); <b>resume</b>: connection lost → "
        "welcome of the reconnect (client backoff included).</li>"
        "<li><b>errors</b>: error frames other than room-rule refusals, failed connections, timeouts, unexpected "
        "closes; <b>rejections</b>: refusals by the room's rules (not_found, cart_full …) that concurrency "
        "produces.</li>"
        "<li>Rates marked steady are averaged over the seconds after the ramp.</li></ul>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def _idx(values: list[float] | None, i: int) -> float | None:
    if not values or i >= len(values):
        return None
    return values[i]
