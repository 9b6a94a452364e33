"""The ``call`` scenario's figures: counters a worker keeps per caller, and the run's
call summary (set-up time, media rates, failures, topology) computed from them.

Pure: no I/O, so the aggregation is unit-tested on its own.
"""

from __future__ import annotations

from typing import Any, Final

# Counted by each caller (see loadtest/call_scenario.py); summed over workers like the others.
CALL_COUNTERS: Final = (
    "call_joins",  # callers that sent call.join
    "call_relay_joins",  # callers the server answered with `call {mode: relay}`
    "call_peers_expected",  # per caller: the other callers of its room (mesh: one peer connection each)
    "call_peers_media",  # of those, peers whose first audio frame arrived within the media timeout
    "call_failures",  # expected peers with no audio within the media timeout
    "call_audio_frames",  # decoded remote frames, every caller, every peer
    "call_video_frames",
    "call_audio_packets",  # RTP packets received (aiortc getStats, inbound-rtp)
    "call_video_packets",
    "call_media_ms",  # sum over peers of the time from first remote audio frame to the end
    "call_errors",  # errors the Python client's Call recorded (a peer's signaling or connection)
)


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 2) if seconds > 0 else None


def call_summary(counters: dict[str, int], setup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The run's ``call`` section, or None when nobody joined a call. ``setup`` is the
    ``call_setup`` histogram summary (ms)."""
    joins = counters.get("call_joins", 0)
    if not joins:
        return None
    relay = counters.get("call_relay_joins", 0)
    expected = counters.get("call_peers_expected", 0)
    media = counters.get("call_peers_media", 0)
    peer_seconds = counters.get("call_media_ms", 0) / 1000.0
    mean_window = peer_seconds / media if media else 0.0  # seconds a peer's media was counted
    out: dict[str, Any] = {
        "callers": joins,
        "mode": "relay" if relay == joins else "mesh" if relay == 0 else "mixed",
        "relay_callers": relay,
        "peers_expected": expected,
        "peers_with_media": media,
        "failures": counters.get("call_failures", 0),
        "errors": counters.get("call_errors", 0),
        "setup_ms": setup or {},
        "peer_seconds": round(peer_seconds, 3),
    }
    for kind in ("audio", "video"):
        for what in ("frames", "packets"):
            n = counters.get(f"call_{kind}_{what}", 0)
            out[f"{kind}_{what}"] = n
            out[f"{kind}_{what}_per_peer_s"] = _rate(n, peer_seconds)  # ~50 audio frames/s at 20 ms
            out[f"{kind}_{what}_per_s"] = _rate(n, mean_window)  # the whole run, all callers
    return out


def describe_call(call: dict[str, Any] | None) -> list[str]:
    """The call section as a few human lines."""
    if not call:
        return []
    setup = call["setup_ms"]
    lines = [
        f"call ({call['mode']}): {call['callers']} callers, {call['peers_with_media']} of "
        f"{call['peers_expected']} peers with media, {call['failures']} failures, {call['errors']} errors",
    ]
    if setup.get("count"):
        lines.append(
            f"call set-up (call.join -> first remote audio frame), {setup['count']} peers: "
            f"p50 {setup['p50']:.0f} ms, p95 {setup['p95']:.0f} ms, max {setup['max']:.0f} ms"
        )
    rates = []
    for kind in ("audio", "video"):
        per_peer = call[f"{kind}_frames_per_peer_s"]
        if call[f"{kind}_frames"] and per_peer is not None:
            rates.append(
                f"{kind} {per_peer:.1f} frames/s and {call[f'{kind}_packets_per_peer_s'] or 0:.1f} packets/s per peer "
                f"({call[f'{kind}_frames_per_s'] or 0:,.0f} frames/s in all)"
            )
    if rates:
        lines.append("received: " + "; ".join(rates))
    if call["relay_callers"]:
        lines.append(f"{call['relay_callers']} caller(s) were answered in relay mode (server-forwarded media)")
    return lines
