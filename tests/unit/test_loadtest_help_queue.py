"""The ``help-queue`` load scenario's pure parts: which consoles race for a request, the
SSE line parser, and the help summary (claim and fan-out latency, requests/s)."""

from __future__ import annotations

from loadtest.builtin import BUILTINS
from loadtest.help_metrics import describe_help, help_summary
from loadtest.help_scenario import SseLines, created_ms, racers


def test_racers_are_the_same_everywhere_and_spread_over_consoles() -> None:
    assert racers("r1:5", 10, 3) == racers("r1:5", 10, 3)
    assert len(racers("r1:5", 10, 3)) == 3
    assert racers("r1:5", 2, 3) == {0, 1}  # never more racers than consoles
    assert racers("x", 0, 3) == set()
    starts = {min(racers(f"room{i}:1", 50, 1)) for i in range(400)}
    assert len(starts) > 40  # the hash spreads the first racer over the consoles


def test_sse_lines_parse_events_ids_and_skip_heartbeats() -> None:
    p = SseLines()
    out = [p.line(x) for x in [": hb", "", "id: 9", "event: request", 'data: {"id":', 'data: "a:1"}', "", ""]]
    assert [x for x in out if x is not None] == [("request", '{"id":\n"a:1"}', "9")]


def test_created_at_in_ms_or_seconds() -> None:
    assert created_ms({"created_at": 1_700_000_000_123}) == 1_700_000_000_123
    assert created_ms({"created_at": 1_700_000_000}) == 1_700_000_000_000
    assert created_ms({"created_at": "2026-01-01"}) is None
    assert created_ms({"created_at": True}) is None


def test_help_summary_and_lines() -> None:
    assert help_summary({}, None, None, 10.0) is None
    counters = {"help_requests": 50, "help_consoles": 4, "help_seen": 200}
    counters |= {"help_claims_won": 50, "help_claims_lost": 100}
    claim = {"count": 50, "p50": 12.0, "p99": 40.0, "max": 55.0}
    s = help_summary(counters, claim, None, 10.0)
    assert s is not None
    assert s["requests_per_s"] == 5.0 and s["seen_ratio"] == 1.0 and s["claims_lost"] == 100
    lines = describe_help(s)
    assert lines[0].startswith("help queue: 50 requests (5.0/s), 4 consoles, 50 claims won, 100 lost")
    assert "claim latency (request sequenced -> claim 200), 50: p50 12.0 ms, p99 40.0 ms" in lines[1]


def test_help_queue_is_a_builtin() -> None:
    scenario = BUILTINS["help-queue"]({"consoles": "7"})
    assert scenario.members == 1 and scenario.prepare is not None
    assert "7 associate consoles" in scenario.description
