"""The scaffolding fanout.py and cluster.py share: options, report header, output files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report


@dataclass
class _Params:
    rooms: int = 3


def test_both_benchmarks_parse_the_shared_options() -> None:
    for module in ("benchmarks.fanout", "benchmarks.cluster"):
        parser = report.parser(module, "x\n", quick="q", keep="k")
        args = parser.parse_args(["--quick", "--markdown", "m.md", "--json", "r.json", "--keep"])
        assert (args.quick, args.markdown, args.json, args.keep) == (True, "m.md", "r.json", True)


def test_run_and_report_prints_and_writes_the_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = report.parser("benchmarks.x", "x", quick="q", keep="k").parse_args(
        ["--markdown", str(tmp_path / "a" / "s.md"), "--json", str(tmp_path / "r.json")]
    )
    seen: list[str] = []

    async def run(command: str) -> dict[str, Any]:
        seen.append(command)
        return {**report.header(_Params()), "value": 7}

    def render(results: dict[str, Any], command: str, elapsed: float) -> str:
        return f"### value {results['value']} ({command.split()[-1]}, {elapsed >= 0})"

    assert report.run_and_report("benchmarks.x", ["--json", "r.json"], args, run, render) == 0
    assert seen and seen[0].endswith("-m benchmarks.x --json r.json")
    section = "### value 7 (r.json, True)"
    assert section in capsys.readouterr().out
    assert (tmp_path / "a" / "s.md").read_text() == section + "\n"
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["value"] == 7 and written["params"] == {"rooms": 3} and written["elapsed_s"] >= 0
