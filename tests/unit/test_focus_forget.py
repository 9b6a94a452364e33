"""A purged room's focus rows queued on this node are dropped, not written back later."""

from __future__ import annotations

from cosession.trends.focus import FocusRecorder


def test_forget_drops_a_rooms_queued_rows_and_pairs() -> None:
    recorder = FocusRecorder(store=object())
    recorder.seen("r1", "sku-1")
    recorder.seen("r1", "sku-2")
    recorder.seen("r2", "sku-1")
    recorder.forget("r1")
    assert [(row["room_id"], row["product"]) for row in recorder._pending] == [("r2", "sku-1")]
    recorder.seen("r2", "sku-1")  # still known: not queued twice
    assert len(recorder._pending) == 1
    recorder.seen("r1", "sku-1")  # a new room with the same id would be recorded afresh
    assert len(recorder._pending) == 2
    recorder.forget("r9")  # unknown: nothing happens
    assert len(recorder._pending) == 2
