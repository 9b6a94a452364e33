"""Experiment, not a fix: what would coalescing fan-out writes per loop step gain?

Our server writes every event to every member's transport as it is fanned out: a group
commit of K events costs K ``send()`` calls per member, and py-spy shows ~77% of the
server's busy time inside those calls (the loopback TCP path included). This script runs
``cosession serve`` with ``DirectOutbox.push`` monkeypatched (in the server process only,
nothing under ``cosession/`` changes) to *cork* instead: frames for a connection are
collected until the end of the current event-loop step, then written with one
``transport.write``. A commit batch then costs one write per member. It then measures
bare websockets, cosession, and cosession + cork in turn, as ``benchmarks.fanout`` does.

    .venv/bin/python -m benchmarks.cork_prototype [--sizes 100,1000]

Run as ``python -m benchmarks.cork_prototype --serve ARGS...`` it is the patched server.
The patch is a sketch: it keeps the outbox bound approximately (queued + corked bytes)
and ignores the closing path's corner cases.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any


def _patched_serve(argv: list[str]) -> int:
    from cosession.cli import main
    from cosession.gateway import outbox
    from cosession.gateway.framing import OutFrame

    corked: dict[Any, list[bytes]] = {}
    scheduled = [False]

    def flush() -> None:
        scheduled[0] = False
        items = list(corked.items())
        corked.clear()
        for box, parts in items:
            box._channel.write(parts[0] if len(parts) == 1 else b"".join(parts))

    def push(self: Any, frame: OutFrame) -> bool:
        if self._closed:
            return False
        channel = self._channel
        if channel.closed:
            self._closed = True
            return False
        wire = frame.wire
        parts = corked.get(self)
        buffered = channel.buffered() + (sum(map(len, parts)) if parts else 0)
        if buffered and buffered + len(wire) > self._limit:
            self._overflow()
            return False
        if parts is None:
            corked[self] = [wire]
            if not scheduled[0]:
                scheduled[0] = True
                asyncio.get_running_loop().call_soon(flush)
        else:
            parts.append(wire)
        return True

    outbox.DirectOutbox.push = push  # type: ignore[method-assign]
    return main(argv)


async def _compare(sizes: tuple[int, ...], window: float) -> None:
    from benchmarks import fanout
    from benchmarks.workers import WorkerPool

    cork = fanout.Kind("cork", "cosession + cork (prototype)", True, fanout.OURS.args)

    class Server(fanout.ServerProc):
        def command(self) -> list[str]:
            cmd = super().command()
            if self.kind.key == "cork":  # [python, -m, cosession, serve, ...] -> the patched server
                return [cmd[0], "-m", "benchmarks.cork_prototype", "--serve", *cmd[3:]]
            return cmd

    fanout.ServerProc = Server  # type: ignore[misc]
    params = fanout.Params(sizes=sizes, window=window, rounds=1)
    pool = WorkerPool(params.workers)
    try:
        bench = fanout.Bench(params, pool, Path(tempfile.mkdtemp(prefix="cosession-cork-")))
        out = await bench.suite((fanout.BARE, fanout.OURS, cork), sizes, 1)
    finally:
        await pool.close()
    print()
    print(
        "| R | bare msgs/s | cosession msgs/s | cosession + cork msgs/s | cork / bare "
        "| msgs per server CPU-s (bare / ours / cork) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        b, o, c = (out[k]["fanout"][size] for k in ("bare", "ours", "cork"))
        print(
            f"| {size} | {b['delivered_per_s']:,.0f} | {o['delivered_per_s']:,.0f} | {c['delivered_per_s']:,.0f} | "
            f"{c['delivered_per_s'] / b['delivered_per_s']:.2f}x | "
            f"{b['per_cpu_s']:,.0f} / {o['per_cpu_s']:,.0f} / {c['per_cpu_s']:,.0f} |"
        )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        return _patched_serve(sys.argv[2:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cork_prototype", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="room sizes (default 100,1000)")
    parser.add_argument("--window", type=float, default=5.0, help="seconds measured per server and size")
    args = parser.parse_args()
    import uvloop

    from benchmarks.workers import raise_nofile

    raise_nofile()
    uvloop.run(_compare(tuple(int(x) for x in args.sizes.split(",")), args.window))
    return 0


if __name__ == "__main__":
    sys.exit(main())
