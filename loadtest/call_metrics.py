"""The ``call`` scenario's figures: counters a worker keeps per caller, and the run's
call summary (set-up time, media rates, failures, topology) computed from them.

The steady phase (``steady_call``): from one second after every caller had media from
every other caller of its room until one second before the end of the load. Over it,
per kind: frames the callers sent and received per second, and the **delivered ratio**
= received / (sent x (M - 1)), the frames each caller should have got from the others.
A ratio under ``DROP_RATIO`` means frames are being dropped (or queue up somewhere: a
receive rate below the send rate). Beside it, the CPU of the server nodes and of the
load generator (% of one core, sampled each second from /proc).

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
    "call_audio_sent",  # frames the callers' own tracks handed out (each goes to every other caller)
    "call_video_sent",
    "call_audio_packets_lost",  # RTP sequence gaps seen by the callers (getStats inbound-rtp packetsLost)
    "call_video_packets_lost",
)
# per-second deltas of these go into the time series rows
CALL_ROW_COUNTERS: Final = (
    "call_peers_expected",
    "call_peers_media",
    "call_audio_sent",
    "call_video_sent",
    "call_audio_frames",
    "call_video_frames",
)
DROP_RATIO: Final = 0.95  # delivered ratio below this: frames start dropping
KINDS: Final = ("audio", "video")


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 2) if seconds > 0 else None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def steady_window(rows: list[dict[str, Any]], load_seconds: float) -> tuple[list[dict[str, Any]], bool]:
    """The rows of the steady call phase, and whether every expected peer had media.

    From the second after the one in which the last expected peer's first frame came (or,
    if some never came, the last that did), to the last second before the load ended."""
    expected = sum(r.get("call_peers_expected", 0) for r in rows)
    media, complete_at, last_media = 0, None, 0
    for r in rows:
        if r.get("call_peers_media", 0):
            media += r["call_peers_media"]
            last_media = r["t"]
            if expected and media >= expected and complete_at is None:
                complete_at = r["t"]
    start = complete_at if complete_at is not None else last_media
    end = int(load_seconds) - 1  # the last second is cut short by the callers leaving
    return [r for r in rows if start + 1 < r["t"] <= end], complete_at is not None


def steady_call(rows: list[dict[str, Any]], load_seconds: float, room_size: int) -> dict[str, Any] | None:
    """Frames sent and received per second, the delivered ratio per kind, and the CPU of
    servers and generator over the steady phase (None: no steady second)."""
    window, complete = steady_window(rows, load_seconds)
    if not window:
        return None
    n = len(window)
    out: dict[str, Any] = {"from_s": window[0]["t"] - 1, "to_s": window[-1]["t"], "seconds": n, "complete": complete}
    dropping = False
    for kind in KINDS:
        sent = sum(r.get(f"call_{kind}_sent", 0) for r in window)
        got = sum(r.get(f"call_{kind}_frames", 0) for r in window)
        expected = sent * max(0, room_size - 1)
        ratio = round(got / expected, 3) if expected else None
        out[f"{kind}_sent_per_s"] = round(sent / n, 1)
        out[f"{kind}_received_per_s"] = round(got / n, 1)
        out[f"{kind}_expected_per_s"] = round(expected / n, 1)
        out[f"{kind}_ratio"] = ratio
        dropping = dropping or (ratio is not None and ratio < DROP_RATIO)
    servers = [sum(r["cpu_servers"]) for r in window if r.get("cpu_servers")]
    generator = [r.get("cpu_controller", 0.0) + sum(r.get("cpu_workers", [])) for r in window]
    out["server_cpu_pct"] = _mean(servers)
    out["server_cpu_pct_max"] = max(servers) if servers else None
    out["generator_cpu_pct"] = _mean(generator)
    out["dropping"] = dropping or not complete
    return out


def call_summary(
    counters: dict[str, int],
    setup: dict[str, Any] | None,
    rows: list[dict[str, Any]] | None = None,
    *,
    load_seconds: float = 0.0,
    room_size: int = 0,
) -> dict[str, Any] | None:
    """The run's ``call`` section, or None when nobody joined a call. ``setup`` is the
    ``call_setup`` histogram summary (ms); with the time series ``rows``, the steady
    phase too (``steady``, see ``steady_call``)."""
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
        out[f"{kind}_packets_lost"] = counters.get(f"call_{kind}_packets_lost", 0)
    out["steady"] = steady_call(rows, load_seconds, room_size) if rows else None
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
                f"({call[f'{kind}_frames_per_s'] or 0:,.0f} frames/s in all, "
                f"{call.get(f'{kind}_packets_lost', 0):,} packets lost)"
            )
    if rates:
        lines.append("received: " + "; ".join(rates))
    if call["relay_callers"]:
        lines.append(f"{call['relay_callers']} caller(s) were answered in relay mode (server-forwarded media)")
    steady = call.get("steady")
    if steady:
        parts = []
        for kind in KINDS:
            if steady[f"{kind}_sent_per_s"]:
                sent, got = steady[f"{kind}_sent_per_s"], steady[f"{kind}_received_per_s"]
                parts.append(
                    f"{kind} sent {sent:,.0f}/s, received {got:,.0f} of {steady[f'{kind}_expected_per_s']:,.0f}/s "
                    f"expected (ratio {steady[f'{kind}_ratio']:.3f})"
                )
        cpu = steady["server_cpu_pct"]
        lines.append(
            f"steady call phase ({steady['seconds']} s from {steady['from_s']} s): frames "
            + ("; ".join(parts) or "none sent")
            + (
                f"; server CPU {cpu:.0f}% of a core (max {steady['server_cpu_pct_max']:.0f}%)"
                if cpu is not None
                else ""
            )
            + f", generator {steady['generator_cpu_pct'] or 0:.0f}%"
            + (" - DROPPING" if steady["dropping"] else "")
        )
    return lines
