"""The CLI and report scaffolding the benchmarks share (``fanout.py``, ``cluster.py``).

The common options (``--quick``, ``--markdown``, ``--json``, ``--keep``), the facts every
report starts with (date, machine, clock, commit, load average, parameters), and the run
itself: on uvloop, timed, the Markdown section printed and written where asked.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
P = TypeVar("P")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def check_clock() -> str:
    """perf_counter must be one machine-wide monotonic clock for cross-process latency."""
    info = time.get_clock_info("perf_counter")
    if "CLOCK_MONOTONIC" not in info.implementation:
        raise SystemExit(
            f"perf_counter is {info.implementation}, not CLOCK_MONOTONIC: latencies across processes are meaningless"
        )
    # and it must agree with CLOCK_MONOTONIC read directly
    a = time.perf_counter_ns()
    m = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    b = time.perf_counter_ns()
    if not a <= m <= b:
        raise SystemExit("perf_counter_ns disagrees with CLOCK_MONOTONIC")
    return info.implementation


def machine() -> dict[str, str]:
    from importlib.metadata import version

    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "nproc": nproc or str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "versions": ", ".join(f"{name} {version(name)}" for name in ("websockets", "uvicorn", "uvloop", "msgspec")),
    }


def source_state() -> str:
    """The commit measured, and whether the server's sources differed from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "cosession", "protocol")
    return f"{head}" + (f" + uncommitted changes in {len(dirty.splitlines())} server/protocol files" if dirty else "")


def parser(module: str, doc: str | None, *, quick: str, keep: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark has (described by the first
    line of the module's ``doc``)."""
    description = (doc or "").splitlines()[0] if doc else None
    parsed = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parsed.add_argument("--quick", action="store_true", help=quick)
    parsed.add_argument("--markdown", metavar="PATH", help="write the results as a Markdown section")
    parsed.add_argument("--json", metavar="PATH", help="write the raw results as JSON")
    parsed.add_argument("--keep", action="store_true", help=keep)
    return parsed


def choose(args: argparse.Namespace, quick: P, full: P, **overrides: Any) -> P:
    """The quick or the full parameters, with the options that were given applied."""
    params = quick if args.quick else full
    changes = {name: value for name, value in overrides.items() if value}
    return dataclasses.replace(params, **changes) if changes else params  # type: ignore[type-var]


def header(params: object) -> dict[str, Any]:
    """The facts a report starts with (``clock`` fails the run on an unusable clock)."""
    assert dataclasses.is_dataclass(params) and not isinstance(params, type)
    return {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "clock": check_clock(),
        "source": source_state(),
        "loadavg_start": os.getloadavg(),
        "params": dataclasses.asdict(params),
    }


@contextlib.contextmanager
def workdir(prefix: str, args: argparse.Namespace, *, keep_on_error: bool = False) -> Iterator[Path]:
    """A temp dir for the run, removed afterwards unless ``--keep`` (or, with
    ``keep_on_error``, the run failed: its logs say what went wrong)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    except BaseException:
        if keep_on_error:
            args.keep = True
        raise
    finally:
        if args.keep:
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def _write(path: str | None, text: str) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
        log(f"wrote {path}")


def run_and_report(
    module: str,
    argv: list[str] | None,
    args: argparse.Namespace,
    run: Callable[[str], Coroutine[Any, Any, dict[str, Any]]],
    render: Callable[[dict[str, Any], str, float], str],
) -> int:
    """Run ``run(command)`` on uvloop, then print its Markdown section and write the
    ``--markdown`` / ``--json`` files."""
    exe = os.path.relpath(sys.executable, Path.cwd()) if sys.executable.startswith(str(Path.cwd())) else sys.executable
    command = shlex.join([exe, "-m", module, *(argv if argv is not None else sys.argv[1:])])
    started = time.monotonic()
    import uvloop

    results = uvloop.run(run(command))
    elapsed = time.monotonic() - started
    results["elapsed_s"] = elapsed
    section = render(results, command, elapsed)
    print()
    print(section)
    _write(args.markdown, section + "\n")
    _write(args.json, json.dumps(results, indent=2, default=str) + "\n")
    return 0
