"""What the fan-out benchmark sends: timestamped chat texts (ours) and same-size binary
payloads (the bare baseline).

Timestamps are ``time.perf_counter_ns()``, which on Linux is ``CLOCK_MONOTONIC``: one
clock for the whole machine, so a stamp taken in the sender's process can be subtracted
from one taken in a receiver's process (``fanout.py`` checks the clock at start).
"""

from __future__ import annotations

CHAT_CHARS = 80  # a typical chat line
_FILLER = "Does this come in blue? I think the blue one would look great with the sofa. "


def chat_text(ns: int, chars: int = CHAT_CHARS) -> str:
    """``T<19-digit ns> `` followed by filler, ``chars`` characters in all."""
    head = f"T{ns:019d} "
    body = (_FILLER * (chars // len(_FILLER) + 1))[: max(0, chars - len(head))]
    return head + body


def chat_ts(text: str) -> int | None:
    if len(text) >= 20 and text[0] == "T":
        try:
            return int(text[1:20])
        except ValueError:
            return None
    return None


def bare_payload(ns: int, size: int) -> bytes:
    """``b"T"`` + 8-byte big-endian ns + filler: ``size`` bytes in all (at least 9)."""
    head = b"T" + ns.to_bytes(8, "big")
    return head + b"x" * max(0, size - len(head))


def bare_ts(payload: bytes) -> int | None:
    if len(payload) >= 9 and payload[0] == 0x54:  # "T"
        return int.from_bytes(payload[1:9], "big")
    return None
