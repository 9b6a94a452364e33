"""The relay capacity ramp (benchmarks/call_relay_capacity.py): its stopping rule, and how
a load-tool result becomes a step of the table."""

from __future__ import annotations

from benchmarks.call_relay_capacity import DROP_RATIO, Step, next_stop, step_from_result


def _step(ratio: float | None = 1.0, **kw: object) -> Step:
    return Step(rooms=1, members=4, ratio=ratio, **kw)  # type: ignore[arg-type]


def test_a_ladder_goes_on_while_frames_arrive() -> None:
    steps = [_step(1.0), _step(0.97)]
    assert next_stop(steps, max_steps=6, elapsed=100.0, budget=600.0, step_seconds=45.0) is None
    assert next_stop([], max_steps=6, elapsed=0.0, budget=600.0, step_seconds=45.0) is None


def test_a_ladder_stops_at_the_first_drop() -> None:
    assert next_stop(
        [_step(1.0), _step(DROP_RATIO - 0.01)], max_steps=6, elapsed=0.0, budget=600.0, step_seconds=45.0
    ) == ("frames dropping at 1 x 4")
    # failures (a peer never heard) and a missing ratio count as dropping too
    assert "dropping" in (
        next_stop([_step(1.0, failures=2)], max_steps=6, elapsed=0, budget=600, step_seconds=45) or ""
    )
    assert "dropping" in (next_stop([_step(None)], max_steps=6, elapsed=0, budget=600, step_seconds=45) or "")
    failed = next_stop([_step(error="timed out")], max_steps=6, elapsed=0, budget=600, step_seconds=45)
    assert failed == "the run failed: timed out"


def test_a_ladder_is_bounded_in_steps_and_time() -> None:
    steps = [_step(1.0)] * 3
    assert next_stop(steps, max_steps=3, elapsed=0.0, budget=600.0, step_seconds=45.0) == "3 steps"
    assert next_stop(steps, max_steps=6, elapsed=560.0, budget=600.0, step_seconds=45.0) == "time budget (600 s)"


def test_which_side_was_busy() -> None:
    assert _step(server_cpu=97.0, generator_cpu=40.0).limit == "server"
    assert _step(server_cpu=50.0, generator_cpu=99.0).limit == "generator"
    assert _step(server_cpu=90.0, generator_cpu=90.0).limit == "both"
    assert _step(server_cpu=None, generator_cpu=10.0).limit == "neither"
    assert Step(rooms=2, members=3).streams == 12 and Step(rooms=1, members=4).streams == 12


def test_step_from_a_load_tool_result() -> None:
    steady = {
        "audio_ratio": 0.99,
        "video_ratio": 0.9,
        "audio_sent_per_s": 200.0,
        "video_sent_per_s": 60.0,
        "audio_received_per_s": 594.0,
        "video_received_per_s": 162.0,
        "server_cpu_pct": 95.5,
        "generator_cpu_pct": 40.0,
    }
    result = {
        "exit_code": 0,
        "call": {"mode": "relay", "failures": 0, "steady": steady, "setup_ms": {"p50": 400.0, "p95": 900.0}},
    }
    step = step_from_result(1, 4, result)
    assert (step.mode, step.ratio, step.failures, step.limit) == ("relay", 0.9, 0, "server")  # the worse kind
    assert (step.sent_per_s, step.received_per_s, step.setup_p50, step.setup_p95) == (260.0, 756.0, 400.0, 900.0)
    assert step.dropping
    broken = step_from_result(2, 3, {"exit_code": 3, "error": "no member could join"})
    assert broken.error == "no member could join" and broken.dropping
    # a run without a steady phase (everything came too late): no ratio, a drop
    late = step_from_result(1, 8, {"exit_code": 0, "call": {"mode": "relay", "failures": 0, "steady": None}})
    assert late.ratio is None and late.dropping and not late.error
