"""Under CI a missing backend fails the tests that need it instead of skipping them.

Runs pytest in a subprocess with ``CI=true`` and ``$REDIS_SERVER_BIN`` / ``$PG_BIN_DIR``
pointing at paths that do not exist, on tests that need Redis (through the conftest
fixture and through the load tool's ``--spawn 2``) and PostgreSQL: each must fail
(during setup, before anything starts), none may skip. ``.ci/run`` must export CI.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEEDS_BACKENDS = [
    "tests/integration/test_store_fixtures.py::test_redis_server_answers_and_restarts_empty",
    "tests/loadtest/test_runs.py::test_storm_against_a_spawned_cluster_of_two_nodes",
    "tests/integration/test_store_conformance.py::test_create_and_load_room[postgres]",
]


def run_pytest(tmp_path: Path, ci: str | None) -> tuple[int, dict[str, str], str]:
    """pytest's exit code, each test's outcome (passed/failed/error/skipped), its output."""
    env = dict(os.environ)
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    env["REDIS_SERVER_BIN"] = str(tmp_path / "no-such-redis-server")
    env["PG_BIN_DIR"] = str(tmp_path / "no-such-postgres")
    report = tmp_path / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", *NEEDS_BACKENDS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name", "?")] = kinds[0] if kinds else "passed"
    return proc.returncode, outcomes, proc.stdout + proc.stderr


def test_missing_backends_fail_under_ci(tmp_path: Path) -> None:
    rc, outcomes, out = run_pytest(tmp_path, "true")
    assert rc == 1, out
    assert len(outcomes) == len(NEEDS_BACKENDS), out
    assert set(outcomes.values()) == {"error"}, outcomes  # failed in setup, never skipped
    assert "redis-server (or $REDIS_SERVER_BIN) is not installed" in out
    assert "PostgreSQL (initdb, postgres; or set $PG_BIN_DIR) is not installed" in out


def test_missing_backends_skip_outside_ci(tmp_path: Path) -> None:
    rc, outcomes, out = run_pytest(tmp_path, None)
    assert rc == 0, out
    assert len(outcomes) == len(NEEDS_BACKENDS), out
    assert set(outcomes.values()) == {"skipped"}, outcomes


def test_ci_run_exports_ci() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^export CI=true\b", script, re.MULTILINE), script
