"""The ``help-queue`` scenario's figures: the counters its requesters and associate
consoles keep, and the run's help summary (claim latency, queue fan-out latency,
requests per second) computed from them.

Pure: no I/O, so the aggregation is unit-tested on its own.
"""

from __future__ import annotations

from typing import Any, Final

# Counted by the rooms and consoles of loadtest/help_scenario.py; summed over workers.
HELP_COUNTERS: Final = (
    "help_requests",  # help.request ops acked (a request sequenced)
    "help_request_refused",  # help.request refused (e.g. one already open in the room)
    "help_closed_seen",  # requests a room saw closed (claimed, helped, closed by the associate)
    "help_consoles",  # associate consoles whose queue stream was live at least once
    "help_stream_connects",  # stream connections (first ones and reconnects)
    "help_seen",  # request events received by consoles (every console, every request)
    "help_claim_attempts",
    "help_claims_won",  # claim answered 200
    "help_claims_lost",  # claim answered 409 already_claimed
    "help_claim_errors",  # any other answer or a network error
    "help_closes",  # POST close answered 200
    "help_claim_events",  # help.claim events a room received (distinct seqs)
    "help_double_claims",  # requests whose room received a second help.claim (two winners): must be 0
)


def _pcts(h: dict[str, Any] | None) -> dict[str, Any]:
    return h or {}


def help_summary(
    counters: dict[str, int], claim: dict[str, Any] | None, fanout: dict[str, Any] | None, seconds: float
) -> dict[str, Any] | None:
    """The run's ``help`` section, or None when no request was raised. ``claim`` and
    ``fanout`` are the ``help_claim`` and ``help_fanout`` histogram summaries (ms);
    ``seconds`` the load phase's length."""
    requests = counters.get("help_requests", 0)
    if not requests:
        return None
    consoles = counters.get("help_consoles", 0)
    seen = counters.get("help_seen", 0)
    won = counters.get("help_claims_won", 0)
    return {
        "requests": requests,
        "requests_per_s": round(requests / seconds, 2) if seconds > 0 else None,
        "refused": counters.get("help_request_refused", 0),
        "consoles": consoles,
        "stream_connects": counters.get("help_stream_connects", 0),
        "seen": seen,
        # each console should see each request raised while it was live: seen / (requests x consoles)
        "seen_ratio": round(seen / (requests * consoles), 4) if consoles else None,
        "claim_attempts": counters.get("help_claim_attempts", 0),
        "claims_won": won,
        "claims_lost": counters.get("help_claims_lost", 0),
        "claim_errors": counters.get("help_claim_errors", 0),
        "closes": counters.get("help_closes", 0),
        "closed_seen_by_rooms": counters.get("help_closed_seen", 0),
        "claim_events_in_rooms": counters.get("help_claim_events", 0),
        "double_claims": counters.get("help_double_claims", 0),
        "claim_ms": _pcts(claim),
        "fanout_ms": _pcts(fanout),
    }


def describe_help(help_: dict[str, Any] | None) -> list[str]:
    """The help section as a few human lines."""
    if not help_:
        return []
    lines = [
        f"help queue: {help_['requests']} requests ({help_['requests_per_s'] or 0:.1f}/s), "
        f"{help_['consoles']} consoles, {help_['claims_won']} claims won, {help_['claims_lost']} lost (409), "
        f"{help_['claim_errors']} claim errors, {help_['closes']} closed",
    ]
    for key, label in (
        ("claim_ms", "claim latency (request sequenced -> claim 200)"),
        ("fanout_ms", "queue fan-out (request sequenced -> seen on a console)"),
    ):
        h = help_[key]
        if h.get("count"):
            lines.append(f"{label}, {h['count']}: p50 {h['p50']:.1f} ms, p99 {h['p99']:.1f} ms, max {h['max']:.1f} ms")
    events, twice = help_["claim_events_in_rooms"], help_["double_claims"]
    lines.append(f"rooms saw {events} help.claim events; requests claimed twice: {twice}")
    if help_["seen_ratio"] is not None:
        lines.append(f"request events seen / (requests x consoles): {help_['seen_ratio']:.3f}")
    return lines
