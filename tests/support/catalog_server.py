"""A real HTTP catalog endpoint for tests (asyncio streams on 127.0.0.1, HTTP/1.1).

It answers the contract of docs/checkout.md from ``prices`` / ``out_of_stock``, and
lookups (``{"lookup": code}``) and searches (``{"search": q, "limit"}``) from
``products`` (full Product maps by id). It can be switched to ``fail`` (HTTP 500),
``garbage`` (200 with JSON off the contract), ``huge`` (200 with a body over the
server's limit) or ``hang`` (holds each request until released or ``hang_seconds``
pass). It counts calls, and requests being held right now.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

Mode = Literal["ok", "fail", "hang", "garbage", "huge"]


class CatalogServer:
    def __init__(self, hang_seconds: float = 30.0) -> None:
        self.mode: Mode = "ok"
        self.prices: dict[str, int] = {}
        self.out_of_stock: set[str] = set()
        self.products: dict[str, dict[str, Any]] = {}  # id -> Product map, for lookups and searches
        self.calls = 0
        self.answered = 0
        self.hanging = 0
        self.requests: list[dict[str, Any]] = []
        self.hang_seconds = hang_seconds
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/catalog/check"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.close()

    def release(self) -> None:
        self._release.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.hang_seconds + 5):
                while await self._one(reader, writer):
                    pass
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        headers = dict(line.split(":", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ":" in line)
        length = int({k.strip().lower(): v.strip() for k, v in headers.items()}.get("content-length", "0"))
        body = json.loads(await reader.readexactly(length)) if length else {}
        self.calls += 1
        self.requests.append(body)
        if self.mode == "hang":
            self.hanging += 1
            try:
                async with asyncio.timeout(self.hang_seconds):
                    await self._release.wait()
            except TimeoutError:
                pass
            finally:
                self.hanging -= 1
        if self.mode == "fail":
            status, payload = "500 Internal Server Error", b'{"error":"down"}'
        elif self.mode == "garbage":  # 200, but not the contract
            status, payload = "200 OK", b'{"products": [{"id": 7, "price": "cheap"}]}'
        elif self.mode == "huge":  # 200 and well formed, but far over the size the server reads
            filler = [{"id": f"x{i}", "in_stock": True} for i in range(20_000)]
            status, payload = "200 OK", json.dumps({"products": filler}).encode()
        elif "lookup" in body:
            found = [self.products[body["lookup"]]] if body["lookup"] in self.products else []
            status, payload = "200 OK", json.dumps({"products": found}).encode()
        elif "search" in body:
            q = str(body["search"]).casefold()
            found = [p for p in self.products.values() if q in p["name"].casefold()][: int(body.get("limit", 20))]
            status, payload = "200 OK", json.dumps({"products": found}).encode()
        else:
            products = [
                {
                    "id": p["id"],
                    **({"variant": p["variant"]} if "variant" in p else {}),
                    **({"price": self.prices[p["id"]]} if p["id"] in self.prices else {}),
                    "in_stock": p["id"] not in self.out_of_stock,
                }
                for p in body.get("products", [])
            ]
            status, payload = "200 OK", json.dumps({"products": products}).encode()
        writer.write(
            f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        self.answered += 1
        return True
