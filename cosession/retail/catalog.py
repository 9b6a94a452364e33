"""The tenant's catalog endpoint: bounded calls (timeout, concurrency cap, breaker).

Contract (docs/checkout.md): ``POST <url>`` with ``{"tenant", "room", "products":
[{"id", "variant"?, "price", "currency"}]}``; the answer is ``{"products": [{"id",
"variant"?, "price"?, "in_stock"?}]}`` (status 200). Products the answer leaves out are
unknown (no change). Each call runs with ``timeout``; at most ``concurrency`` calls are
in flight per process (more wait, bounded by the same timeout); each URL has its own
breaker. None of this runs on a room's op path.

Lookups (``GET /v1/catalog/lookup`` and ``/search``) go to the same URL with the same
bounds and breaker: ``{"tenant", "lookup": "<code>"}`` or ``{"tenant", "search": "<q>",
"limit": n}``; the answer is ``{"products": [Product]}`` (docs/checkout.md).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

import httpx
import msgspec
from msgspec import Meta

from cosession.retail.breaker import Breaker
from protocol.messages import Product

MAX_PRODUCTS_PER_CALL = 100
A = TypeVar("A")
MAX_RESPONSE_BYTES = 256 * 1024


class CatalogItem(msgspec.Struct, frozen=True):
    id: str
    variant: str | None = None
    price: Annotated[int, Meta(ge=0, le=10**12)] | None = None
    in_stock: bool = True


class CatalogAnswer(msgspec.Struct):
    products: Annotated[list[CatalogItem], Meta(max_length=MAX_PRODUCTS_PER_CALL)]


class LookupAnswer(msgspec.Struct):
    products: Annotated[list[Product], Meta(max_length=MAX_PRODUCTS_PER_CALL)]


@dataclass
class CatalogStats:
    """Counters for the metrics endpoint (``services.catalog.stats``)."""

    calls: int = 0
    ok: int = 0
    failures: int = 0
    timeouts: int = 0
    rejected_open: int = 0  # calls not made because the breaker was open
    breaker_opens: int = 0


class CatalogUnavailable(Exception):
    """The call failed, timed out, or the breaker is open."""


@dataclass
class CatalogClient:
    timeout: float = 2.0
    concurrency: int = 16
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    stats: CatalogStats = field(default_factory=CatalogStats)
    _breakers: dict[str, Breaker] = field(default_factory=dict)
    _http: httpx.AsyncClient | None = None
    _slots: asyncio.Semaphore | None = None

    def breaker(self, url: str) -> Breaker:
        b = self._breakers.get(url)
        if b is None:
            b = self._breakers[url] = Breaker(threshold=self.breaker_threshold, cooldown=self.breaker_cooldown)
        return b

    def open_breakers(self) -> int:
        """How many catalog URLs' breakers are open or half open now (a gauge)."""
        now = time.monotonic()
        return sum(1 for b in self._breakers.values() if b.state(now) != "closed")

    async def check(self, url: str, *, tenant: str, room: str, products: list[Product]) -> list[CatalogItem]:
        """Ask ``url`` about ``products`` (at most MAX_PRODUCTS_PER_CALL). Raises
        ``CatalogUnavailable``; never takes longer than about ``timeout``."""
        body = {
            "tenant": tenant,
            "room": room,
            "products": [
                {
                    k: v
                    for k, v in (("id", p.id), ("variant", p.variant), ("price", p.price), ("currency", p.currency))
                    if v is not None
                }
                for p in products[:MAX_PRODUCTS_PER_CALL]
            ],
        }
        return (await self._call(url, body, CatalogAnswer)).products

    async def lookup(self, url: str, *, tenant: str, code: str) -> list[Product]:
        """The tenant catalog's products for a scanned code (usually one, or none)."""
        return (await self._call(url, {"tenant": tenant, "lookup": code}, LookupAnswer)).products

    async def search(self, url: str, *, tenant: str, query: str, limit: int) -> list[Product]:
        """The tenant catalog's products matching ``query`` (at most ``limit``)."""
        answer = await self._call(url, {"tenant": tenant, "search": query, "limit": limit}, LookupAnswer)
        return answer.products[:limit]

    async def _call(self, url: str, body: object, kind: type[A]) -> A:
        breaker = self.breaker(url)
        if not breaker.allow(time.monotonic()):
            self.stats.rejected_open += 1
            raise CatalogUnavailable("circuit open")
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False, trust_env=False)
            self._slots = asyncio.Semaphore(self.concurrency)
        assert self._slots is not None
        self.stats.calls += 1
        try:
            async with asyncio.timeout(self.timeout), self._slots:
                content = await self._post(url, body)
            answer = msgspec.json.decode(content, type=kind)
        except TimeoutError as exc:
            self.stats.timeouts += 1
            self._failed(breaker)
            raise CatalogUnavailable("timeout") from exc
        except (httpx.HTTPError, msgspec.ValidationError, msgspec.DecodeError, CatalogUnavailable) as exc:
            self._failed(breaker)
            # the reason names the kind of failure only: an exception's text may hold the URL
            reason = str(exc) if isinstance(exc, CatalogUnavailable) else type(exc).__name__
            raise CatalogUnavailable(reason) from exc
        except BaseException:  # cancelled: neither a success nor a failure; free the probe
            breaker.probing = False
            raise
        breaker.success()
        self.stats.ok += 1
        return answer

    async def _post(self, url: str, body: object) -> bytes:
        """The answer's body, read as it streams in: refused past MAX_RESPONSE_BYTES."""
        assert self._http is not None
        async with self._http.stream("POST", url, json=body, timeout=self.timeout) as resp:
            if resp.status_code != 200:
                raise CatalogUnavailable(f"status {resp.status_code}")
            parts: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise CatalogUnavailable("answer too large")
                parts.append(chunk)
        return b"".join(parts)

    def _failed(self, breaker: Breaker) -> None:
        before = breaker.opens
        breaker.failure(time.monotonic())
        self.stats.failures += 1
        self.stats.breaker_opens += breaker.opens - before

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
