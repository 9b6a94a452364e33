"""Call relay benchmark: relay vs mesh set-up time, and relay capacity per core.

    .venv/bin/python -m benchmarks.call_relay_capacity setup [--shapes 2x2,2x3] [--repeat 2]
    .venv/bin/python -m benchmarks.call_relay_capacity capacity [--video] [--max-steps 6] [--budget 600]
    .venv/bin/python -m benchmarks.call_relay_capacity codecs

``codecs``: CPU time per frame of aiortc's Opus and VP8 encoders and decoders on the
callers' synthetic media, in this process: what one forwarded stream costs the relay in
codec work alone (the rest of its CPU is RTP, SRTP, RTCP and the event loop).

Every step is one run of the load tool's ``call`` scenario (``python -m loadtest run call``,
one spawned node, aiortc callers on 127.0.0.1), its JSON result read back.

``setup``: for each shape R x M, a mesh run then a relay run (``--call-mode relay``),
``--repeat`` times, callers decoding what they receive (as the mesh figures in
BENCHMARKS.md): set-up p50/p95 (``call.join`` → first remote audio frame) side by side.

``capacity``: the node (``--call-mode relay``) pinned to CPU 0 and the load generator to
CPU 1 (``--spawn-cpus 0 --cpus 1``, sched_setaffinity), callers as cheap as the tool makes
them (``-p decode=0``: received frames are counted, not decoded; video small and slow).
Two ladders: one room growing (M = 2, 3, …), then rooms of ``--room-size`` growing
(R = 1, 2, …). A ladder stops at the first step whose delivered-frame ratio (received /
sent by the others, over the run's steady phase) is below 0.95 or that has failures,
after ``--max-steps`` steps, or when the time ``--budget`` would be exceeded
(``next_stop``). Each row says which side was busy: the server's core, the generator's,
or neither (then the drop is not a CPU limit of either process).

All traffic stays on 127.0.0.1; every step is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DROP_RATIO = 0.95  # as loadtest.call_metrics.DROP_RATIO
BUSY_PCT = 85.0  # % of one core: that side is saturated
STEP_OVERHEAD = 25.0  # seconds a run takes beyond its --duration (spawn, workers, checks, teardown)
ONE_ROOM = (2, 3, 4, 5, 6, 8, 10, 12)
ROOMS = (1, 2, 3, 4, 6, 8, 10, 12)
RELAY_ARGS = ("--spawn-arg=--call-mode=relay", "--spawn-arg=--call-relay-address=127.0.0.1")


@dataclass
class Step:
    rooms: int
    members: int
    mode: str = ""
    ratio: float | None = None  # the lowest delivered ratio over the kinds sent
    failures: int = 0
    server_cpu: float | None = None
    generator_cpu: float | None = None
    setup_p50: float | None = None
    setup_p95: float | None = None
    sent_per_s: float = 0.0
    received_per_s: float = 0.0
    error: str = ""

    @property
    def dropping(self) -> bool:
        return bool(self.error) or self.failures > 0 or self.ratio is None or self.ratio < DROP_RATIO

    @property
    def streams(self) -> int:
        """Tracks (of one kind) the relay sends: each participant's to every other one of its room."""
        return self.rooms * self.members * (self.members - 1)

    @property
    def limit(self) -> str:
        """Which side's core was busy: 'server', 'generator', 'both' or 'neither'."""
        server = (self.server_cpu or 0.0) >= BUSY_PCT
        generator = (self.generator_cpu or 0.0) >= BUSY_PCT
        return "both" if server and generator else "server" if server else "generator" if generator else "neither"


def next_stop(steps: list[Step], *, max_steps: int, elapsed: float, budget: float, step_seconds: float) -> str | None:
    """Why the ladder ends now (None: run another step)."""
    if steps and steps[-1].error:
        return f"the run failed: {steps[-1].error}"
    if steps and steps[-1].dropping:
        return f"frames dropping at {steps[-1].rooms} x {steps[-1].members}"
    if len(steps) >= max_steps:
        return f"{max_steps} steps"
    if elapsed + step_seconds > budget:
        return f"time budget ({budget:.0f} s)"
    return None


def step_from_result(rooms: int, members: int, result: dict[str, Any]) -> Step:
    step = Step(rooms, members)
    call = result.get("call") or {}
    if result.get("exit_code") == 3 or not call:
        step.error = str(result.get("error") or "no call figures")
        return step
    steady = call.get("steady") or {}
    step.mode = call.get("mode", "")
    step.failures = int(call.get("failures", 0))
    ratios = [steady[f"{k}_ratio"] for k in ("audio", "video") if steady.get(f"{k}_ratio") is not None]
    step.ratio = min(ratios) if ratios else None
    step.server_cpu, step.generator_cpu = steady.get("server_cpu_pct"), steady.get("generator_cpu_pct")
    step.sent_per_s = sum(steady.get(f"{k}_sent_per_s", 0.0) for k in ("audio", "video"))
    step.received_per_s = sum(steady.get(f"{k}_received_per_s", 0.0) for k in ("audio", "video"))
    setup = call.get("setup_ms") or {}
    step.setup_p50, step.setup_p95 = setup.get("p50"), setup.get("p95")
    return step


def run_call(rooms: int, members: int, extra: list[str], duration: float, out: Path) -> dict[str, Any]:
    """One load-tool run; its JSON result (or a failure record)."""
    cmd = [sys.executable, "-m", "loadtest", "run", "call", "--spawn", "1", "--rooms", str(rooms)]
    cmd += ["--members", str(members), "--duration", str(duration), "--ramp", "1", "--no-live", "--json", str(out)]
    cmd += [f"-p=media_timeout={max(5.0, duration / 2):g}", *extra]
    print("$", " ".join(cmd[1:]), flush=True)
    try:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=duration + 180, check=False)
    except subprocess.TimeoutExpired:
        return {"exit_code": 3, "error": "timed out"}
    try:
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"exit_code": 3, "error": f"no result: {exc}"}
    return result


def _fmt(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def capacity(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    media = ["-p=decode=0"]
    if args.video:
        media += ["--video", f"-p=video_size={args.video_size}", f"-p=video_fps={args.video_fps:g}"]
    extra = [*RELAY_ARGS, "--spawn-arg=--call-relay-max=64", "--spawn-cpus=0", "--cpus=1", "--workers=1", *media]
    ladders = [
        ("one room", [(1, m) for m in ONE_ROOM]),
        (f"rooms of {args.room_size}", [(r, args.room_size) for r in ROOMS]),
    ]
    began, out = time.monotonic(), []
    for ladder, (name, shapes) in enumerate(ladders, 1):
        steps: list[Step] = []
        reason = None
        for rooms, members in shapes:
            reason = next_stop(
                steps,
                max_steps=args.max_steps,
                elapsed=time.monotonic() - began,
                budget=args.budget,
                step_seconds=args.duration + STEP_OVERHEAD,
            )
            if reason:
                break
            result = run_call(rooms, members, extra, args.duration, work / f"cap{ladder}-{rooms}x{members}.json")
            steps.append(step_from_result(rooms, members, result))
            print(f"  -> {_row(steps[-1])}", flush=True)
        if reason is None:  # every shape ran: did the last one drop?
            whole = next_stop(steps, max_steps=len(shapes) + 1, elapsed=0.0, budget=1.0, step_seconds=0.0)
            reason = whole or "end of the ladder"
        out.append({"ladder": name, "stopped": reason, "steps": [vars(s) | {"limit": s.limit} for s in steps]})
        print(f"\n{name} ({'audio + video' if args.video else 'audio'}): stopped: {reason}")
        print(
            "| rooms x participants | forwarded streams | delivered ratio | frames sent / received per s | "
            "server CPU (core 0) | per stream | generator CPU (core 1) | busy | failures |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for s in steps:
            print(f"| {_row(s)} |")
    return out


def _row(s: Step) -> str:
    if s.error:
        return f"{s.rooms} x {s.members} | {s.streams} | run failed: {s.error} | | | | | | |"
    per_stream = s.server_cpu / s.streams if s.server_cpu is not None and s.streams else None
    return (
        f"{s.rooms} x {s.members} | {s.streams} | {_fmt(s.ratio, 3) if s.ratio is not None else 'no steady phase'} | "
        f"{_fmt(s.sent_per_s)} / "
        f"{_fmt(s.received_per_s)} | {_fmt(s.server_cpu)}% | {_fmt(per_stream, 1)}% | {_fmt(s.generator_cpu)}% | "
        f"{s.limit} | {s.failures}"
    )


def setup(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    out = []
    video = ["--video"] if args.video else []
    for shape in args.shapes.split(","):
        rooms, members = (int(x) for x in shape.lower().split("x"))
        for i in range(args.repeat):
            for mode, extra in (("mesh", []), ("relay", list(RELAY_ARGS))):
                path = work / f"setup-{shape}-{mode}-{i + 1}.json"
                result = run_call(rooms, members, [*extra, "--workers=2", *video], args.duration, path)
                s = step_from_result(rooms, members, result)
                out.append({"shape": shape, "run": i + 1, "asked": mode} | vars(s))
                print(
                    f"  -> {shape} {mode} (server said {s.mode or '?'}): set-up p50 {_fmt(s.setup_p50)} ms, "
                    f"p95 {_fmt(s.setup_p95)} ms, failures {s.failures}, server CPU {_fmt(s.server_cpu)}%",
                    flush=True,
                )
    print("\n| rooms x callers | run | mode | set-up p50 ms | p95 ms | failures | CPU: server / generator |")
    print("|---|---|---|---|---|---|---|")
    for r in out:
        print(
            f"| {r['shape']} | {r['run']} | {r['mode'] or r['asked'] + '?'} | {_fmt(r['setup_p50'])} | "
            f"{_fmt(r['setup_p95'])} | {r['failures']} | {_fmt(r['server_cpu'])}% / {_fmt(r['generator_cpu'])}% |"
        )
    return out


def codecs(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    import asyncio

    from aiortc.codecs import depayload, get_decoder, get_encoder
    from aiortc.jitterbuffer import JitterFrame
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    from loadtest.call_media import PacedPattern, PacedTone, parse_size

    async def frames() -> tuple[list[Any], list[Any]]:
        tone, pattern = PacedTone(), PacedPattern(*parse_size(args.video_size), fps=10_000.0)
        return [await tone.recv() for _ in range(50)], [await pattern.recv() for _ in range(48)]

    audio, video = asyncio.run(frames())
    out = []
    kinds = (
        ("Opus", RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48_000, channels=2), audio, 1_000),
        (f"VP8 {args.video_size}", RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000), video, 300),
    )
    for name, codec, source, count in kinds:
        encoder, decoder = get_encoder(codec), get_decoder(codec)
        began, encoded = time.process_time(), []
        for i in range(count):
            payloads, timestamp = encoder.encode(source[i % len(source)], force_keyframe=i == 0)
            # what a receiver reassembles: the payloads without their RTP payload descriptors
            encoded.append((b"".join(depayload(codec, p) for p in payloads), timestamp))
        encode_us = (time.process_time() - began) / count * 1e6
        began = time.process_time()
        for data, timestamp in encoded:
            decoder.decode(JitterFrame(data=data, timestamp=timestamp))
        decode_us = (time.process_time() - began) / count * 1e6
        out.append({"codec": name, "encode_us": round(encode_us), "decode_us": round(decode_us)})
        print(f"{name}: encode {encode_us:,.0f} µs, decode {decode_us:,.0f} µs CPU per frame")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.call_relay_capacity", description=__doc__.split("\n")[0]
    )
    parser.add_argument("what", choices=["setup", "capacity", "codecs"])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run (default 20)")
    parser.add_argument("--video", action="store_true", help="callers send video too")
    parser.add_argument("--video-size", default="320x240")
    parser.add_argument("--video-fps", type=float, default=15.0)
    parser.add_argument("--room-size", type=int, default=3, help="capacity: participants per room, second ladder")
    parser.add_argument("--max-steps", type=int, default=6, help="capacity: steps per ladder at most")
    parser.add_argument("--budget", type=float, default=600.0, help="capacity: seconds for both ladders at most")
    parser.add_argument("--shapes", default="2x2,2x3", help="setup: RxM,RxM …")
    parser.add_argument("--repeat", type=int, default=2, help="setup: runs per shape and mode")
    parser.add_argument("--json", type=Path, help="write the steps here")
    parser.add_argument("--runs-dir", type=Path, help="keep each run's load-tool JSON here")
    args = parser.parse_args(argv)
    if args.what == "capacity" and len(os.sched_getaffinity(0)) < 2:
        parser.error("capacity needs two CPUs (the server on one, the callers on the other)")
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load = os.getloadavg()
    run = {"capacity": capacity, "setup": setup, "codecs": codecs}[args.what]
    if args.runs_dir is not None:  # keep every run's JSON result
        args.runs_dir.mkdir(parents=True, exist_ok=True)
        steps = run(args, args.runs_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="call-relay-bench-") as tmp:
            steps = run(args, Path(tmp))
    print(f"\nstarted {started}, load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    if args.json is not None:
        record = {"what": args.what, "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
        record["started"] = started
        args.json.write_text(json.dumps(record | {"results": steps}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
