"""Help queue helpers for tests: associates, claims, and a Server-Sent Events reader."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import httpx


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def new_associate(base: str, sk: str, name: str, stores: list[str] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        body: dict[str, Any] = {"name": name}
        if stores is not None:
            body["stores"] = stores
        r = await http.post(base + "/v1/tenant/associates", json=body, headers=bearer(sk), timeout=10)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def queue(base: str, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.get(base + "/v1/associates/queue", headers=bearer(token), timeout=10)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def claim(base: str, token: str, request_id: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(base + f"/v1/associates/requests/{request_id}/claim", headers=bearer(token), timeout=30)


@dataclass
class SseEvent:
    id: str
    event: str
    data: dict[str, Any]


class SseReader:
    """Reads a queue stream in the background; ``next`` awaits the next event."""

    def __init__(self, url: str, token: str, last_event_id: str | None = None) -> None:
        self.url = url
        self.headers = bearer(token)
        if last_event_id is not None:
            self.headers["last-event-id"] = last_event_id
        self.events: asyncio.Queue[SseEvent | None] = asyncio.Queue()
        self.status: int | None = None
        self.comments = 0
        self._opened = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10.0) -> SseReader:
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(timeout):
            await self._opened.wait()
        return self

    async def _run(self) -> None:
        try:
            async with (
                httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None)) as http,
                http.stream("GET", self.url, headers=self.headers) as r,
            ):
                self.status = r.status_code
                self._opened.set()
                fields: dict[str, str] = {}
                async for line in r.aiter_lines():
                    if line == "":
                        if "data" in fields:
                            ev = SseEvent(
                                fields.get("id", ""), fields.get("event", "message"), json.loads(fields["data"])
                            )
                            self.events.put_nowait(ev)
                        fields = {}
                    elif line.startswith(":"):
                        self.comments += 1
                    else:
                        key, _, value = line.partition(":")
                        fields[key] = value[1:] if value.startswith(" ") else value
        except (httpx.HTTPError, OSError):
            pass
        finally:
            self._opened.set()
            self.events.put_nowait(None)

    async def next(self, timeout: float = 10.0) -> SseEvent:
        async with asyncio.timeout(timeout):
            ev = await self.events.get()
        assert ev is not None, "the stream ended"
        return ev

    async def until(self, pred: Any, timeout: float = 15.0) -> SseEvent:
        async with asyncio.timeout(timeout):
            while True:
                ev = await self.next(timeout)
                if pred(ev):
                    return ev

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
