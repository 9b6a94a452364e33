"""Retail features on rooms: checkout snapshots and catalog revalidation of cart lines.

``Retail`` is the rooms' extension (``cosession.rooms.room.RoomExtension``):

* ``checkout`` re-checks the lines a ``checkout.request`` selects with the catalog (a
  task: the room goes on), then freezes them into a signed ``checkout.start`` with the
  catalog's verdicts and hands it back to the room to sequence.
* ``committed`` sees every committed event and schedules a catalog check of the added
  line on ``cart.add``. A loop re-checks the carts
  of rooms with connections every ``catalog_interval`` seconds (in a cluster, on each node
  holding connections to the room: an answer that changes nothing sends nothing, and two
  nodes racing on the same change append the same ``cart.revalidate`` twice, which folds
  to the same state).

A check is a task off the room's path: it asks the catalog (bounded by
``CatalogClient``), compares the answer with the room's committed lines and submits a
``cart.revalidate`` server op only for a line whose state would change. At most
``MAX_CHECKS`` checks are in flight; more are dropped (the next periodic pass retries).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from cosession.http.ratelimit import AddressLimiter
from cosession.retail.catalog import CatalogClient, CatalogItem, CatalogUnavailable
from cosession.retail.catalog_store import CatalogSettings
from cosession.retail.checkout import ProductKey, Verdict, build_checkout, product_key
from cosession.retail.signing import checkout_key
from cosession.rooms.room import Room, now_ms
from protocol.messages import CartAdd, CartLine, CartRevalidate, CheckoutRequest, Event
from protocol.reducer import checkout_lines

log = structlog.get_logger("cosession.retail")

MAX_CHECKS = 256


def _key(product_id: str, variant: str | None) -> tuple[str, str | None]:
    return (product_id, variant)


class Retail:
    def __init__(
        self,
        *,
        secret: Callable[[], str],
        catalog: CatalogClient,
        settings: CatalogSettings | None,
        rooms: Callable[[], list[Room]],
        interval: float,
    ) -> None:
        self._secret = secret
        self.catalog = catalog
        self.settings = settings
        self._rooms = rooms
        self._interval = interval
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._busy: set[str] = set()  # rooms with a periodic check in flight
        self.lookup_limit = AddressLimiter(0)  # catalog lookups per caller (set by wiring)

    # ---- keys and checkout -----------------------------------------------------------

    def key_for(self, tenant: str | None) -> str:
        return checkout_key(self._secret(), tenant or "")

    def checkout(self, room: Room, by: str, ref: str, body: CheckoutRequest) -> None:
        """Re-check the selected lines with the catalog (bounded by its timeout; other ops
        of the room go on meanwhile), then freeze and sign them and hand the snapshot to
        the room. Without a catalog, or with its breaker open, that is at once."""
        if not self._spawn(self._checkout(room, by, ref, body)):
            self._freeze(room, by, ref, body, None)

    async def _checkout(self, room: Room, by: str, ref: str, body: CheckoutRequest) -> None:
        verdicts: dict[ProductKey, Verdict] | None = None
        try:
            keys = {product_key(line) for line in checkout_lines(room.state, by, body.scope)}
            answer = await self._ask(room, keys)
            if answer is not None:
                self._apply_answer(room, answer)
                verdicts = {_key(i.id, i.variant): (i.price, i.in_stock) for i in answer}
        except Exception as exc:  # whatever happened to the check, the request gets its answer
            log.warning("checkout re-check failed", room=room.id, error=type(exc).__name__)
        self._freeze(room, by, ref, body, verdicts)

    def _freeze(
        self, room: Room, by: str, ref: str, body: CheckoutRequest, verdicts: dict[ProductKey, Verdict] | None
    ) -> None:
        snapshot = build_checkout(
            room.state,
            room_id=room.id,
            tenant=room.tenant or "",
            by=by,
            request=body,
            key=self.key_for(room.tenant),
            now_ms=now_ms(),
            catalog=verdicts,
        )
        room.complete_request(by, ref, snapshot)

    # ---- revalidation ----------------------------------------------------------------

    def committed(self, room: Room, event: Event) -> None:
        if room.tenant is None or self.settings is None:
            return
        # In a cluster every node applies every event: only a node where the author is
        # connected reacts, so one add is checked once (twice at most, one per node of the
        # author's tabs; a duplicate cart.revalidate folds to the same state).
        if not any(c.member == event.by for c in room.connections.values()):
            return
        op = event.op
        if isinstance(op, CartAdd):
            self._spawn(self.check(room, {_key(op.product.id, op.product.variant)}))

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> bool:
        if len(self._tasks) >= MAX_CHECKS:
            coro.close()
            return False
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def check(self, room: Room, only: set[ProductKey] | None = None) -> int:
        """Re-check the room's lines (``only`` those products, or all) against its tenant's
        catalog; returns how many ``cart.revalidate`` ops were submitted."""
        answer = await self._ask(room, only)
        return 0 if answer is None else self._apply_answer(room, answer)

    async def _ask(self, room: Room, only: set[ProductKey] | None) -> list[CatalogItem] | None:
        """The catalog's answer for the room's lines (``only`` those products), or None:
        no tenant or catalog, nothing to ask, or the catalog failed (breaker, timeout)."""
        if room.tenant is None or self.settings is None:
            return None
        try:
            url = await self.settings.get(room.tenant)
        except Exception as exc:  # the database is away: try again at the next pass
            log.warning("catalog settings unreadable", room=room.id, error=type(exc).__name__)
            return None
        lines = [ln for ln in room.state.cart if only is None or product_key(ln) in only]
        if url is None or not lines:
            return None
        products = list({product_key(ln): ln.product for ln in lines}.values())
        try:
            return await self.catalog.check(url, tenant=room.tenant, room=room.id, products=products)
        except CatalogUnavailable as exc:
            log.info("catalog unavailable", room=room.id, reason=str(exc))
            return None

    def _apply_answer(self, room: Room, answer: list[CatalogItem]) -> int:
        found = {_key(item.id, item.variant): item for item in answer}
        submitted = 0
        for line in room.committed.cart:  # the lines as they are now, after the await
            item = found.get(_key(line.product.id, line.product.variant))
            if item is None or not _changes(line, item):
                continue
            body = CartRevalidate(line=line.line, price=item.price, in_stock=item.in_stock)
            if room.submit_server_nowait(f"rv.{line.line}.{secrets.token_hex(6)}", body):
                submitted += 1
        return submitted

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            for room in self._rooms():
                # one periodic check per room at a time: a slow catalog does not pile them up
                if room.connections and room.tenant is not None and room.id not in self._busy:
                    self._spawn(self._periodic_check(room))

    async def _periodic_check(self, room: Room) -> None:
        self._busy.add(room.id)
        try:
            await self.check(room)
        finally:
            self._busy.discard(room.id)

    def start(self) -> None:
        if self.settings is not None and self._loop_task is None:
            self._loop_task = asyncio.get_running_loop().create_task(self._periodic())

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._loop_task] if self._loop_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop_task = None
        await self.catalog.close()


def _changes(line: CartLine, item: CatalogItem) -> bool:
    if line.out_of_stock != (not item.in_stock):
        return True
    if item.price is None:
        return False
    shown = line.price_changed.new if line.price_changed is not None else line.product.price
    return item.price != shown
