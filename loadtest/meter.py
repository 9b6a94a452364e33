"""What one worker process measures: counters, errors by code, interval histograms, and
the correctness findings of its clients' event streams.

Everything here is plain synchronous bookkeeping, called from the metered clients'
frame hooks; once a second the worker turns it into a ``Tick`` for the controller.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Final

from loadtest.call_metrics import CALL_COUNTERS
from loadtest.help_metrics import HELP_COUNTERS
from loadtest.histogram import Histogram

# Histograms (microseconds inside, milliseconds in reports).
HISTOGRAMS: Final = (
    "accept",  # POST /v1/invites/{code}/accept (REST, before connecting)
    "connect",  # TCP connect + WebSocket opening handshake
    "welcome",  # hello written -> welcome received
    "join",  # arrival -> first welcome (REST accept + connect + welcome)
    "op_ack",  # op frame written -> ack received (by the sender)
    "op_delivery",  # op's sender clock -> its event received, at every other member
    "op_delivery_same_node",  # the same, sender and receiver on one node (runs with several URLs)
    "op_delivery_cross_node",  # the same, sender and receiver on different nodes
    "resume",  # connection lost -> welcome of the reconnect (backoff included)
    "call_setup",  # call.join sent (or the peer's arrival in the call, if later) -> first remote audio frame, per peer
    "help_claim",  # help request sequenced (its created_at) -> claim 200, at the winning console
    "help_fanout",  # help request sequenced (its created_at) -> its queue event read, at every console
)

# Refusals that the room's rules produce under concurrency (a line removed meanwhile, a
# full cart): expected in a busy room, counted apart from errors.
REJECTION_CODES: Final = frozenset({"not_found", "forbidden", "kicked", "room_locked", "cart_full", "too_long"})

MAX_FINDINGS: Final = 200  # kept in detail per worker; all are counted

COUNTERS: Final = (
    "members_started",  # arrivals
    "members_joined",  # first welcome reached
    "members_failed",  # never joined (REST or connection refused, timeout)
    "members_late",  # arrival time after the end of the load phase (never started)
    "members_stopped",  # the client stopped for good during the run (final close)
    "accept_failures",
    "connect_attempts",
    "connect_failures",
    "welcomes",
    "ops_sent",  # op frames, first write of each ref
    "ops_resent",  # same ref written again (after a reconnect or rate limiting)
    "ops_acked",
    "ops_rejected",  # error frames naming an op's ref
    "op_timeouts",  # no ack within the client's op timeout
    "signals_sent",  # focus, typing, follow, ping
    "messages",  # every frame received
    "events_live",  # events received in order, one by one
    "events_replayed",  # events received in order inside a recovered welcome
    "delivered",  # events_live + events_replayed
    "snapshot_skipped",  # events a member never received because a snapshot covered them
    "resumes",  # welcomes after the first one of a client
    "resumes_recovered",
    "resumes_snapshot",
    "epoch_changes",
    "drops",  # connections the scenario dropped on purpose (_drop_connection)
    "scenario_errors",  # exceptions raised by scenario code
    "errors",  # sum of the errors by code
    "rejections",  # sum of the rejections by code
    *CALL_COUNTERS,  # the `call` scenario (loadtest/call_metrics.py)
    *HELP_COUNTERS,  # the `help-queue` scenario (loadtest/help_metrics.py)
)

FINDING_KINDS: Final = ("gap", "duplicate", "replay_mismatch", "went_back")


class Meter:
    """Cumulative counters and per-code maps; histograms are per interval (reset on tick)."""

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self.c: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.errors: defaultdict[str, int] = defaultdict(int)
        self.rejections: defaultdict[str, int] = defaultdict(int)
        self.disconnects: defaultdict[str, int] = defaultdict(int)
        self.sent_by_kind: defaultdict[str, int] = defaultdict(int)
        self.acked_by_kind: defaultdict[str, int] = defaultdict(int)
        self.delivered_by_kind: defaultdict[str, int] = defaultdict(int)
        self.hist: dict[str, Histogram] = {name: Histogram() for name in HISTOGRAMS}
        self.connected = 0
        self.findings: list[dict[str, Any]] = []
        self.finding_counts: dict[str, int] = dict.fromkeys(FINDING_KINDS, 0)
        self.first_errors: list[str] = []  # a few scenario tracebacks, for the report

    def error(self, code: str) -> None:
        if code in REJECTION_CODES:
            self.rejections[code] += 1
            self.c["rejections"] += 1
        else:
            self.errors[code] += 1
            self.c["errors"] += 1

    def finding(self, kind: str, **detail: Any) -> None:
        self.finding_counts[kind] = self.finding_counts.get(kind, 0) + 1
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append({"kind": kind, "worker": self.worker, **detail})

    def take_histograms(self) -> dict[str, str]:
        """Encoded interval histograms (non-empty ones), then reset them."""
        out: dict[str, str] = {}
        for name, hist in self.hist.items():
            if hist.count:
                out[name] = hist.encode()
                hist.reset()
        return out
