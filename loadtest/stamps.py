"""The sender's clock inside an op, so every receiver can compute op→delivery latency.

The clock is ``time.perf_counter_ns()``: on Linux that is ``CLOCK_MONOTONIC``, one clock
for every process of the machine (not per process), and unlike ``time.time_ns()``
(``CLOCK_REALTIME``) it never jumps when NTP steps the wall clock. All workers run on the
generator machine, so a receiver in another worker process subtracts the same clock.

Two ops carry it: ``chat`` (the text starts with ``lt1 <ns>@<node> ``, padded to the
wanted size) and ``cart.add`` (the product ``url`` ends with ``#lt1:<ns>@<node>``). Other
ops have no free-text field; their events are counted but not timed. ``<node>`` is the
index of the node the sender is connected to, so a receiver can tell same-node from
cross-node deliveries.
"""

from __future__ import annotations

import time
from typing import Final, NamedTuple

from protocol.messages import CartAdd, Chat, EventBody

now_ns = time.perf_counter_ns

_TEXT_PREFIX: Final = "lt1 "
_URL_MARK: Final = "#lt1:"
_FILLER: Final = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "


class Stamp(NamedTuple):
    ns: int  # the sender's perf_counter_ns when it sent the op
    node: int  # the node (index into the run's URLs) the sender is connected to


def stamped_text(size: int, stamp: int | None = None, node: int = 0) -> str:
    """A chat text of ``size`` characters (at least the stamp itself), ASCII only."""
    head = f"{_TEXT_PREFIX}{now_ns() if stamp is None else stamp}@{node} "
    if size <= len(head):
        return head.rstrip()
    need = size - len(head)
    filler = (_FILLER * (need // len(_FILLER) + 1))[:need]
    return head + filler


def stamped_url(base: str, stamp: int | None = None, node: int = 0) -> str:
    return f"{base}{_URL_MARK}{now_ns() if stamp is None else stamp}@{node}"


def _parse(token: str) -> Stamp | None:
    ns, _, node = token.partition("@")
    if ns.isdigit() and node.isdigit():
        return Stamp(int(ns), int(node))
    return None


def read_text_stamp(text: str) -> Stamp | None:
    if not text.startswith(_TEXT_PREFIX):
        return None
    end = text.find(" ", 4)
    return _parse(text[4:] if end < 0 else text[4:end])


def read_url_stamp(url: str | None) -> Stamp | None:
    if not url:
        return None
    at = url.rfind(_URL_MARK)
    if at < 0:
        return None
    return _parse(url[at + len(_URL_MARK) :])


def read_stamp(op: EventBody) -> Stamp | None:
    """The sender's ``perf_counter_ns`` and node carried by an event's op, if it carries one."""
    if isinstance(op, Chat):
        return read_text_stamp(op.text)
    if isinstance(op, CartAdd):
        return read_url_stamp(op.product.url)
    return None
