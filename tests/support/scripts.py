"""Running op scripts over raw clients: the shared core of the interleaving tests."""

from __future__ import annotations

import asyncio

from protocol.messages import Ack, ClientOpBody, Error, Event, Welcome
from tests.support.folding import View
from tests.support.raw import RawClient


async def run_script(client: RawClient, script: list[ClientOpBody], pause: int, timeout: float = 15) -> list[int]:
    """Send every op pipelined (yielding ``pause`` times between sends), then wait for every
    answer; the seqs of the acked ones."""
    refs = []
    for body in script:
        refs.append(await client.op(body))
        for _ in range(pause):
            await asyncio.sleep(0)
    seqs, pending = [], set(refs)
    while pending:
        msg = await client.recv(timeout=timeout)
        if isinstance(msg, (Ack, Error)) and msg.ref in pending:
            pending.discard(msg.ref)
            if isinstance(msg, Ack):
                seqs.append(msg.seq)
    return seqs


async def run_scripts(
    clients: list[tuple[RawClient, Welcome]], scripts: list[list[ClientOpBody]], pauses: list[int]
) -> tuple[int, list[View]]:
    """Run every member's script concurrently; then fold each member's stream up to the
    final head. Returns the head and each member's view."""
    acked = await asyncio.gather(*(run_script(c, s, p) for (c, _), s, p in zip(clients, scripts, pauses, strict=True)))
    head = max([w.seq for _, w in clients] + [s for seqs in acked for s in seqs])
    views = []
    for client, welcome in clients:
        view = View(welcome)
        for msg in client.seen:
            if isinstance(msg, Event) and msg.seq > view.state.seq:
                view.fold(msg)
        while view.state.seq < head:
            msg = await client.recv(timeout=15)
            if isinstance(msg, Event) and msg.seq > view.state.seq:
                view.fold(msg)
        views.append(view)
    return head, views
