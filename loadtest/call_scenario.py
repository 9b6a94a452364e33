"""The ``call`` scenario: R rooms x M callers, each an aiortc participant (the Python
client's ``Call``) with a synthetic tone (and, with ``-p video=1``, a moving pattern)
joining its room's call. Mesh mode: every caller holds a peer connection to every other.

Per caller and peer it measures the set-up time (``call_setup``: call.join sent, or the
peer's arrival in the call roster if that came later, → first remote audio frame) and
counts a failure when no audio arrives within ``media_timeout`` seconds; at the end the
frames and RTP packets received (see loadtest/call_metrics.py). ICE stays on 127.0.0.1
(host candidates only, no STUN/TURN servers). Needs the ``calls`` extra (aiortc, numpy).
When the server answers ``call {mode: relay}`` the caller is counted in
``call_relay_joins`` (the report says so); the media are then whatever the client's relay
path receives.

Frames sent (by the caller's own paced tracks) and received (every peer's) are counted as
they happen, so the report's steady phase gives a delivered-frame ratio (received / sent by
the others) beside the server's CPU. Parameters: ``video`` (0/1), ``media_timeout`` (s),
``decode`` (1; 0: count received frames without decoding them, see loadtest/call_media.py),
``video_size`` (320x240), ``video_fps`` (30).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aioice.ice

from cosession.calls import audio_level
from cosession_client.call import Call
from loadtest.call_media import PacedPattern, PacedTone, parse_size, skip_decoding
from loadtest.scenario import Scenario, Shopper
from loadtest.stamps import now_ns

if TYPE_CHECKING:
    from loadtest.meter import Meter

STATS_TIMEOUT = 2.0  # seconds for the RTP statistics at the end
LEAVE_TIMEOUT = 5.0
COUNT_EVERY = 0.25  # seconds between two flushes of the received-frame counts into the meter


def _loopback_ice() -> None:
    """aioice leaves 127.0.0.1 out of its host candidates: give it only that (this is a
    load-tool worker process, whose traffic stays on this machine anyway)."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _counter(meter: Meter, name: str) -> Callable[[], None]:
    def count() -> None:
        meter.c[name] += 1

    return count


class Caller(Shopper):
    """Joins the room's call at once, waits (bounded) for every other caller's audio,
    then stays in the call until the end of the run."""

    weight = 1
    think_time = (0.0, 0.0)

    async def on_start(self) -> None:
        _loopback_ice()
        audio_level.install()
        if not _truthy(self.params.get("decode", "1")):
            skip_decoding()
        video = _truthy(self.params.get("video", "0"))
        media_timeout = float(self.params.get("media_timeout", "15"))
        meter = self.meter
        tracks: list[Any] = [PacedTone(on_frame=_counter(meter, "call_audio_sent"))]
        if video:
            width, height = parse_size(self.params.get("video_size", "320x240"))
            fps = float(self.params.get("video_fps", "30"))
            tracks.append(PacedPattern(width, height, fps, on_frame=_counter(meter, "call_video_sent")))
        self.call = call = Call(self.client, audio=True, video=video, tracks=tracks, ice_servers=[])
        self.counted: dict[str, int] = {"audio": 0, "video": 0}
        self.counting = asyncio.create_task(self._count_received())
        self.appeared: dict[str, int] = {}  # peer -> when it was first in my roster (ns)
        self.first: dict[str, int] = {}  # peer -> its first audio frame (ns)
        self.recorded: set[str] = set()
        self.relay = False
        self.stopped = False
        me, expected = self.client.member, self.room.size - 1
        meter.c["call_peers_expected"] += expected
        joined = now_ns()
        await call.join()
        meter.c["call_joins"] += 1
        loop = asyncio.get_running_loop()
        started = loop.time()

        def news() -> bool:
            now, changed = now_ns(), False
            if call.mode == "relay" and not self.relay:
                self.relay, changed = True, True
                meter.c["call_relay_joins"] += 1
            for peer in call.members:
                if peer != me and peer not in self.appeared:
                    self.appeared[peer], changed = now, True
            for peer, kinds in call.frames.items():
                if peer not in self.first and kinds.get("audio", 0) > 0:
                    self.first[peer], changed = now, True
            return changed

        while len(self.recorded) < expected:
            # each peer gets media_timeout from its arrival in the call (or from my join)
            last = max([started, *((t - joined) / 1e9 + started for t in self.appeared.values())])
            wait = min(last + media_timeout - loop.time(), self.time_left)
            if wait <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await call.wait_for(news, timeout=wait)
            for peer, at in self.first.items():
                if peer not in self.recorded:
                    self.recorded.add(peer)
                    meter.c["call_peers_media"] += 1
                    meter.hist["call_setup"].record_ns(at - max(joined, self.appeared.get(peer, joined)))

    def _flush_received(self) -> None:
        """Received frames (every peer) since the last flush, into the meter."""
        for kind, counted in self.counted.items():
            total = sum(kinds.get(kind, 0) for kinds in list(self.call.frames.values()))
            if total > counted:
                self.meter.c[f"call_{kind}_frames"] += total - counted
                self.counted[kind] = total

    async def _count_received(self) -> None:
        while self.time_left > 0:  # then on_stop cancels it and flushes the rest
            await asyncio.sleep(min(COUNT_EVERY, max(0.01, self.time_left)))
            self._flush_received()

    async def on_stop(self) -> None:
        call = getattr(self, "call", None)
        if call is None:
            return
        self.counting.cancel()
        self._flush_received()
        meter, end = self.meter, now_ns()
        meter.c["call_failures"] += self.room.size - 1 - len(self.recorded)
        meter.c["call_media_ms"] += sum((end - self.first[p]) // 1_000_000 for p in self.recorded)
        meter.c["call_errors"] += len(call.errors)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(STATS_TIMEOUT):
                for peer in list(call.peers.values()):
                    report: Any = await peer.pc.getStats()
                    for stats in report.values():
                        if getattr(stats, "type", "") == "inbound-rtp" and stats.kind in ("audio", "video"):
                            meter.c[f"call_{stats.kind}_packets"] += int(stats.packetsReceived or 0)
                            meter.c[f"call_{stats.kind}_packets_lost"] += max(0, int(stats.packetsLost or 0))
        with contextlib.suppress(Exception):
            async with asyncio.timeout(LEAVE_TIMEOUT):
                await call.leave()


def call(params: dict[str, str]) -> Scenario:
    video = _truthy(params.get("video", "0"))
    return Scenario(
        name="call",
        description=(
            f"rooms of callers in the room's call (mesh or relay, aiortc, synthetic audio{' + video' if video else ''}"
            "): set-up time, frames sent/received and delivered ratio, failures"
        ),
        shoppers=[Caller],
        rooms=4,
        members=3,
        duration=20.0,
        ramp=2.0,
        op_rate=0.0,
        payload_bytes=80,
    )
