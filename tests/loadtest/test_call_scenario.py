"""The load tool's ``call`` scenario: a short real run (a spawned node, aiortc callers on
127.0.0.1) and the pure aggregation of its counters into the report's call section."""

from __future__ import annotations

from pathlib import Path

from loadtest.call_metrics import CALL_COUNTERS, call_summary, describe_call
from loadtest.meter import COUNTERS, HISTOGRAMS
from tests.loadtest.test_runs import cli, load


async def test_call_run_two_rooms_of_two(tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    rc, out, err = await cli(
        "run", "call", "--spawn", "1", "--rooms", "2", "--members", "2", "--duration", "6", "--ramp", "0.5",
        "--workers", "1", "--no-live", "--json", str(out_json), "--html", str(out_html), "-p", "media_timeout=5",
        "--slo", "call_failures == 0", "--slo", "call_failures < 1%", "--slo", "call_setup.count == 4",
        "--slo", "call_setup.p95 < 5s",
    )  # fmt: skip
    assert rc == 0, out + err
    result = load(out_json)
    assert [s["passed"] for s in result["slos"]] == [True] * 4
    assert "<h2>Call</h2>" in out_html.read_text(encoding="utf-8")
    assert result["scenario"]["name"] == "call" and result["scenario"]["shoppers"] == ["Caller"]
    call = result["call"]
    peers = 2 * 2 * (2 - 1)  # rooms x callers x the other callers of the room (mesh)
    assert call["callers"] == 4 and call["mode"] == "mesh" and call["relay_callers"] == 0
    assert call["peers_expected"] == call["peers_with_media"] == peers
    assert call["failures"] == 0 and call["errors"] == 0
    assert result["latency"]["call_setup"]["count"] == peers == call["setup_ms"]["count"]
    assert 0 < call["setup_ms"]["p50"] < 5000  # within the media timeout
    assert call["audio_frames"] > 0 and call["audio_packets"] > 0 and call["video_frames"] == 0
    assert call["audio_frames_per_peer_s"] is not None and call["audio_frames_per_peer_s"] > 10  # ~50 (20 ms frames)
    assert result["resources"]["cpu_pct"]["nodes"] >= 0 and "generator" in result["resources"]["cpu_pct"]
    assert "call (mesh): 4 callers, 4 of 4 peers with media, 0 failures" in out
    assert "call set-up (call.join -> first remote audio frame), 4 peers" in out


def test_call_counters_are_metered() -> None:
    assert set(CALL_COUNTERS) <= set(COUNTERS) and "call_setup" in HISTOGRAMS


def test_call_summary_aggregates_counters() -> None:
    assert call_summary({"call_joins": 0}, None) is None
    assert describe_call(None) == []
    setup = {"count": 6, "p50": 120.0, "p95": 300.0, "p99": 310.0, "max": 310.0}
    counters = {
        "call_joins": 3,
        "call_peers_expected": 6,
        "call_peers_media": 5,
        "call_failures": 1,
        "call_audio_frames": 2_500,
        "call_audio_packets": 2_600,
        "call_video_frames": 0,
        "call_media_ms": 50_000,  # 5 peers x 10 s
    }
    s = call_summary(counters, setup)
    assert s is not None
    assert s["mode"] == "mesh" and s["callers"] == 3 and s["failures"] == 1
    assert s["peer_seconds"] == 50.0
    assert s["audio_frames_per_peer_s"] == 50.0 and s["audio_packets_per_peer_s"] == 52.0
    assert s["audio_frames_per_s"] == 250.0  # 2,500 frames over a mean window of 10 s
    assert s["video_frames_per_peer_s"] == 0.0
    lines = describe_call(s)
    assert lines[0] == "call (mesh): 3 callers, 5 of 6 peers with media, 1 failures, 0 errors"
    assert "p50 120 ms, p95 300 ms" in lines[1] and "video" not in lines[2]
    # the server answered some joins in relay mode: said so
    mixed = call_summary({**counters, "call_relay_joins": 1}, setup)
    relay = call_summary({**counters, "call_relay_joins": 3}, setup)
    assert mixed is not None and relay is not None
    assert mixed["mode"] == "mixed" and relay["mode"] == "relay"
    assert "1 caller(s) were answered in relay mode" in describe_call(mixed)[-1]
    # nobody got media: no rates to divide by
    none = call_summary({"call_joins": 2, "call_peers_expected": 2, "call_failures": 2}, {"count": 0})
    assert none is not None and none["audio_frames_per_peer_s"] is None and len(describe_call(none)) == 1


async def test_call_run_with_video_three_callers(tmp_path: Path) -> None:
    """Three callers with video: each one's camera feeds two peers' encoders (through the
    client's MediaRelay); the worker crashed (SIGSEGV in libav) when each encoder thread
    converted the shared frame itself."""
    out_json = tmp_path / "r.json"
    rc, out, err = await cli(
        "run", "call", "--spawn", "1", "--rooms", "1", "--members", "3", "--duration", "6", "--ramp", "0.5",
        "--workers", "1", "--video", "--no-live", "--json", str(out_json), "-p", "media_timeout=5",
    )  # fmt: skip
    assert rc == 0, out + err
    call = load(out_json)["call"]
    assert call["peers_expected"] == call["peers_with_media"] == 3 * 2 and call["failures"] == 0
    assert call["video_frames"] > 0 and call["video_packets"] > 0


def test_call_slos_measure_the_call_figures() -> None:
    from loadtest.slo import evaluate, parse

    result = {
        "totals": {
            **dict.fromkeys(COUNTERS, 0),
            "call_failures": 1,
            "call_peers_expected": 8,
            "attempts": 0,
            "peak_clients": 0,
        },
        "latency": {"call_setup": {"count": 7, "p95": 420.0}},
        "correctness": {"counts": {}},
    }
    slos = [parse(t) for t in ("call_failures < 10%", "call_failures == 0", "call_setup.p95 < 400ms")]
    assert [(s["value"], s["passed"]) for s in evaluate(slos, result)] == [(0.125, False), (1.0, False), (420.0, False)]
