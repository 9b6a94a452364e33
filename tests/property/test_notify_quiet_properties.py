"""The quiet rule (cosession/notify/quiet.py), by hypothesis: whatever the arrivals and
sweeps, a member gets at most one message per window, and every reason that arrived is
sent exactly once (immediately or in a digest) once the last window ends."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from cosession.notify.quiet import Window, arrive, digest, due

QUIET = 100

steps = st.lists(
    st.tuples(st.integers(0, 150), st.one_of(st.none(), st.sampled_from(["vote", "mention", "question"]))),
    max_size=60,
)


@given(steps)
def test_at_most_one_message_per_window_and_nothing_lost(plan: list[tuple[int, str | None]]) -> None:
    window = Window()
    now = 0
    sent: list[tuple[int, dict[str, int]]] = []
    arrived: dict[str, int] = {}
    for pos, (gap, reason) in enumerate(plan, 1):
        now += gap
        if reason is None:  # a sweep
            if due(window, now):
                decision = digest(window, now, QUIET)
                assert decision.send
                sent.append((now, decision.send))
                window = decision.window
            continue
        arrived[reason] = arrived.get(reason, 0) + 1
        decision = arrive(window, [reason], pos, now, QUIET)
        if decision.send is not None:
            sent.append((now, decision.send))
        window = decision.window
    now += QUIET  # the last window ends: a final sweep
    if due(window, now):
        sent.append((now, digest(window, now, QUIET).send or {}))
    times = [t for t, _ in sent]
    assert all(b - a >= QUIET for a, b in itertools.pairwise(times))
    total: dict[str, int] = {}
    for _, counts in sent:
        for reason, n in counts.items():
            total[reason] = total.get(reason, 0) + n
    assert total == arrived
