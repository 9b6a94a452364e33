"""``GET /v1/associates/queue/stream``: the tenant's queue as Server-Sent Events.

Events: ``request`` (a new request), ``update`` (claimed, escalated), ``removed``
(closed); ``data`` is the QueueItem as JSON, ``id`` the change id. A client resumes with
``Last-Event-ID`` (or ``?after=``): the changes after it are read from the database first,
then live ones follow, each once, in id order. Without either, only changes from now on
are sent (list the queue first: its ``cursor`` is the id to resume from). A comment line
every ``help_heartbeat_seconds`` keeps proxies from closing an idle stream; at each one
the associate is checked again (a revoked one's stream ends).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from cosession.help.auth import associate_of, help_service
from cosession.help.feed import READ_BATCH, Subscription
from cosession.help.items import StreamQuery, queue_item, visible
from cosession.help.queue_store import Associate, Row
from cosession.help.service import HelpService
from cosession.http.errors import ApiError

_open: Counter[str] = Counter()  # streams per associate on this node


def _cursor(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 18:
        raise ApiError(422, "invalid_field", "Last-Event-ID / after must be a change id from this queue")
    return int(text)


def _frame(change_id: int, kind: str, row: Row) -> bytes:
    data = msgspec.json.encode(queue_item(row))
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (change_id, kind.encode(), data)


async def queue_stream(request: Request, query: StreamQuery) -> Response:
    associate = await associate_of(request, query.token)
    service = help_service(request)
    after = _cursor(request.headers.get("last-event-id") or query.after)
    if _open[associate.id] >= service.services.settings.help_streams_per_associate:
        raise ApiError(429, "too_many_streams", "too many open queue streams for this associate: close one")
    _open[associate.id] += 1
    try:
        sub = await service.feeds.subscribe(associate.tenant)
    except BaseException:
        _release(associate.id)
        raise
    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(_events(service, associate, sub, after), media_type="text/event-stream", headers=headers)


def _release(associate: str) -> None:
    _open[associate] -= 1
    if _open[associate] <= 0:
        del _open[associate]


async def _events(
    service: HelpService, associate: Associate, sub: Subscription, after: int | None
) -> AsyncIterator[bytes]:
    heartbeat = service.services.settings.help_heartbeat_seconds
    try:
        yield b"retry: 2000\n: queue of %s\n\n" % associate.tenant.encode()
        last = sub.start if after is None else after
        done = last >= sub.start
        while not done:  # the backlog: what the client missed, from the database
            changes = await service.store.changes_after(associate.tenant, last, READ_BATCH)
            done = len(changes) < READ_BATCH
            for change_id, kind, row in changes:
                if change_id > sub.start:
                    done = True
                    break
                last = change_id
                if visible(associate.stores, row):
                    yield _frame(change_id, kind, row)
        last = max(last, sub.start)
        while True:
            try:
                async with asyncio.timeout(heartbeat):
                    change = await sub.queue.get()
            except TimeoutError:
                current = await service.store.associate(associate.id)
                if current is None or current.revoked:
                    return
                yield b": heartbeat\n\n"
                continue
            if change is None:
                return  # too far behind, or the node stops: the client resumes from `last`
            change_id, kind, row = change
            if change_id <= last:
                continue
            last = change_id
            if visible(associate.stores, row):
                yield _frame(change_id, kind, row)
    finally:
        sub.close()
        _release(associate.id)
