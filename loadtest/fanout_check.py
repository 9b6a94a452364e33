"""The fan-out count check: every acked op of the checked kind reaches every member that
was in the room when it was sequenced — exactly once, the sender included.

A member receives, as events, the ops sequenced after its first welcome; earlier ones
are already in that welcome's state. So per room the expected count is, summed over the
live members, the acked ops (of every sender) whose seq is above the member's first
welcome seq. Built-in senders wait until their room is complete, but that wait is
bounded: when joins are slow the chatting may begin before the last member's welcome,
and such members are counted as ``joined_late`` instead of breaking the check.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from loadtest.ipc import MemberState


def fanout_entry(room: str, op: str, live: list[MemberState]) -> dict[str, Any]:
    seqs = sorted(s for st in live for s in st.check_seqs)
    expected = 0
    to_others = 0
    late = 0
    for st in live:
        after_welcome = len(seqs) - bisect_right(seqs, st.first_seq)
        own = sum(1 for s in st.check_seqs if s > st.first_seq)
        expected += after_welcome
        to_others += after_welcome - own
        if seqs and st.first_seq >= seqs[0]:
            late += 1
    delivered = sum(st.check_delivered for st in live)
    return {
        "room": room,
        "op": op,
        "sent_acked": len(seqs),
        "recipients": len(live),
        "expected": expected,
        "delivered": delivered,
        "expected_to_others": to_others,
        "joined_late": late,
        "snapshot_skipped": sum(st.skipped for st in live),
        "ok": delivered == expected,
    }


def summary_lines(entries: list[dict[str, Any]]) -> list[str]:
    if not entries:
        return []
    op = entries[0]["op"]
    delivered = sum(e["delivered"] for e in entries)
    expected = sum(e["expected"] for e in entries)
    sent = sum(e["sent_acked"] for e in entries)
    bad = [e for e in entries if not e["ok"]]
    lines = [
        f"fan-out counts ({op}), {len(entries)} room(s): delivered {delivered} of {expected} expected "
        f"({sent} acked, each to every member whose first welcome preceded it, sender included): "
        + ("equal in every room" if not bad else f"MISMATCH in {len(bad)} room(s)")
    ]
    for e in bad[:5]:
        lines.append(f"  room {e['room']}: delivered {e['delivered']}, expected {e['expected']}")
    late = sum(e["joined_late"] for e in entries)
    if late:
        lines.append(
            f"{late} member(s) joined after their room's {op}s had begun (slow joins: the sender's wait ran out); "
            "the earlier ones came in their welcome's state"
        )
    return lines
