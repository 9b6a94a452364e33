"""``cosession-loadtest run help-queue`` end to end against a spawned node: a tenant and
associate tokens made before the rooms, consoles following the queue stream and racing
to claim (one winner per request), the help summary and its latency histograms."""

from __future__ import annotations

import os
from pathlib import Path

from tests.loadtest.test_runs import cli, load


async def test_help_queue_against_a_spawned_node(tmp_path: Path) -> None:
    out_json = tmp_path / "r.json"
    os.environ["COSESSION_HELP_CLAIMS_PER_MINUTE"] = "0"  # the spawned node inherits it
    try:
        rc, out, err = await cli(
            "run", "help-queue", "--spawn", "1", "--rooms", "6", "--members", "1", "-p", "consoles=3",
            "--duration", "6", "--ramp", "0.5", "--workers", "2", "--json", str(out_json),
            "--slo", "help_claim.count > 0",
        )  # fmt: skip
    finally:
        del os.environ["COSESSION_HELP_CLAIMS_PER_MINUTE"]
    assert rc == 0, out + err
    result = load(out_json)
    assert result["correctness"]["ok"]
    help_ = result["help"]
    assert help_["consoles"] == 3 and help_["requests"] > 0
    # three racers per request (all the consoles): exactly one wins each claimed request
    assert help_["claim_errors"] == 0 and help_["claims_won"] <= help_["requests"]
    assert help_["claims_lost"] >= help_["claims_won"] > 0
    assert help_["claims_won"] + help_["claims_lost"] <= help_["claim_attempts"]
    assert help_["closes"] > 0 and help_["seen"] > 0
    # the rooms saw one help.claim per won claim, never two for one request
    assert help_["double_claims"] == 0 and help_["claim_events_in_rooms"] >= help_["closes"]
    assert result["latency"]["help_claim"]["count"] == help_["claims_won"]
    assert result["latency"]["help_fanout"]["count"] == help_["seen"]
    assert "help queue:" in out and "claim latency (request sequenced -> claim 200)" in out


async def test_help_queue_needs_a_tenant_key_against_a_url(tmp_path: Path) -> None:
    rc, out, err = await cli(
        "run", "help-queue", "--url", "http://127.0.0.1:9", "--rooms", "4", "--members", "1", "--duration", "1",
    )  # fmt: skip
    assert rc == 3, out + err
    assert "needs -p tenant_key" in out + err
