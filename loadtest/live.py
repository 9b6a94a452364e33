"""Terminal output: a live table refreshed each second (rich) on a terminal, one plain line
per second otherwise; the end-of-run summary."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from loadtest.call_metrics import describe_call
from loadtest.help_metrics import describe_help
from loadtest.resources import describe


def _ms(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return "-" if value is None else f"{value:.1f}"


class Display:
    def __init__(self, *, target_clients: int, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.console = Console(file=self.stream, highlight=False, soft_wrap=True)
        if not self.console.is_terminal:
            self.console.width = 140  # (rich assumes 80 columns for files and pipes)
        self.live_mode = self.console.is_terminal if live is None else live
        self.target = target_clients
        self.rows: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.phase = "starting"
        self._live: Live | None = None

    def start(self) -> None:
        if self.live_mode:
            self._live = Live(self._render(), console=self.console, refresh_per_second=2, transient=False)
            self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.stop()
            self._live = None

    def note(self, text: str) -> None:
        """A line above the live table (or a plain line)."""
        if self._live is not None:
            self._live.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.note(f"WARNING: {text}")

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        if self._live is not None:
            self._live.update(self._render())

    def row(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if self._live is not None:
            self._live.update(self._render())
        else:
            print(self.plain_line(row), file=self.stream, flush=True)

    def plain_line(self, row: dict[str, Any]) -> str:
        cpu = row.get("cpu_workers") or []
        cpu_text = "/".join(f"{c:.0f}" for c in cpu)
        return (
            f"[{row['t']:>4}s] clients {row['clients']}/{self.target}  ops/s {row['ops_sent']}  "
            f"acks/s {row['ops_acked']}  delivered/s {row['delivered']}  "
            f"op_ack p50/p99 {_ms(row, 'op_ack_p50')}/{_ms(row, 'op_ack_p99')} ms  "
            f"delivery p50/p99 {_ms(row, 'op_delivery_p50')}/{_ms(row, 'op_delivery_p99')} ms  "
            f"errors {row['errors']}  resumes {row['resumes']}  "
            f"cpu ctl {row.get('cpu_controller', 0):.0f}% workers {cpu_text}%"
        )

    def _render(self) -> Group:
        table = Table(box=box.SIMPLE_HEAD, title=f"cosession-loadtest · {self.phase}", title_justify="left")
        for name in (
            "t",
            "clients",
            "ops/s",
            "acks/s",
            "delivered/s",
            "op_ack p50/p99 ms",
            "delivery p50/p99 ms",
            "errors",
            "resumes",
            "cpu ctl/workers %",
        ):
            table.add_column(name, justify="right")
        for row in self.rows[-8:]:
            cpu = "/".join(f"{c:.0f}" for c in row.get("cpu_workers") or [])
            table.add_row(
                f"{row['t']}s",
                f"{row['clients']}/{self.target}",
                str(row["ops_sent"]),
                str(row["ops_acked"]),
                str(row["delivered"]),
                f"{_ms(row, 'op_ack_p50')}/{_ms(row, 'op_ack_p99')}",
                f"{_ms(row, 'op_delivery_p50')}/{_ms(row, 'op_delivery_p99')}",
                str(row["errors"]),
                str(row["resumes"]),
                f"{row.get('cpu_controller', 0):.0f}/{cpu}",
            )
        parts: list[Any] = [table]
        for warning in self.warnings[-3:]:
            parts.append(Text(f"WARNING: {warning}", style="bold yellow"))
        return Group(*parts)

    # ---- the summary -----------------------------------------------------------------

    def summary(self, result: dict[str, Any]) -> None:
        console = self.console
        totals = result["totals"]
        console.print()
        head = Table(box=box.SIMPLE_HEAD, title="summary", title_justify="left", show_header=False)
        head.add_column("what")
        head.add_column("value")
        scenario = result["scenario"]
        head.add_row("scenario", f"{scenario['name']} · {scenario['rooms']} rooms x {scenario['members']} members")
        head.add_row("target", ", ".join(result["target"]["urls"]) + f" ({result['target']['kind']})")
        head.add_row("load phase", f"{totals['load_seconds']:.1f} s, {result['config']['workers']} workers")
        head.add_row(
            "members",
            f"{totals['members_joined']} joined / {totals['members_started']} started, peak online "
            f"{totals['peak_clients']}",
        )
        head.add_row("ops", f"{totals['ops_sent']} sent, {totals['ops_acked']} acked ({totals['ops_per_s']:.1f}/s)")
        head.add_row(
            "delivered",
            f"{totals['delivered']} events ({totals['delivered_per_s']:.1f}/s), "
            f"{totals['snapshot_skipped']} covered by snapshots",
        )
        head.add_row(
            "errors",
            f"{totals['errors']} ({totals['error_ratio'] * 100:.3g}% of {totals['attempts']} attempts) "
            + " ".join(f"{k}={v}" for k, v in sorted(result["errors"].items())),
        )
        head.add_row(
            "rejections",
            f"{totals['rejections']} " + " ".join(f"{k}={v}" for k, v in sorted(result["rejections"].items())),
        )
        head.add_row(
            "resumes",
            f"{totals['resumes']} ({totals['resumes_recovered']} recovered, {totals['resumes_snapshot']} snapshot)",
        )
        console.print(head)
        lat = Table(box=box.SIMPLE_HEAD, title="latency (ms)", title_justify="left")
        for col in ("metric", "count", "p50", "p90", "p99", "p999", "max", "mean"):
            lat.add_column(col, justify="right" if col != "metric" else "left")
        for name, summary in result["latency"].items():
            if summary.get("count"):
                lat.add_row(
                    name,
                    str(summary["count"]),
                    *(f"{summary[k]:.2f}" for k in ("p50", "p90", "p99", "p999", "max", "mean")),
                )
        console.print(lat)
        corr = result["correctness"]
        console.print(
            Text(f"correctness: {'OK' if corr['ok'] else 'FAILED'}", style="bold green" if corr["ok"] else "bold red")
        )
        for line in corr["summary"]:
            console.print(f"  {line}")
        if result["slos"]:
            slo = Table(box=box.SIMPLE_HEAD, title="SLOs", title_justify="left")
            for col in ("slo", "measured", "result"):
                slo.add_column(col)
            for item in result["slos"]:
                slo.add_row(item["slo"], item["shown"], "pass" if item["passed"] else "FAIL")
            console.print(slo)
        for line in describe_call(result.get("call")):
            console.print(line)
        for line in describe_help(result.get("help")):
            console.print(line)
        resources = describe(result.get("resources"))
        if resources:
            console.print("resources:")
            for line in resources:
                console.print(f"  {line}")
        for warning in result["warnings"]:
            console.print(Text(f"WARNING: {warning}", style="yellow"))
        console.print(f"exit code {result['exit_code']} ({result['outcome']})")
