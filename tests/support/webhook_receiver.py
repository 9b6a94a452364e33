"""A real webhook receiver for tests: a starlette app under uvicorn on 127.0.0.1, in the
test's event loop. It verifies every request with the ``standardwebhooks`` package (the
retailer's view), can fail the first N requests of each message id, and records what it
got in arrival order."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.server import free_port


@dataclass
class Delivery:
    id: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Receiver:
    secret: str = ""  # set once the endpoint is created
    fail_first: int = 0  # answer 500 to the first N requests of each message id
    fail_all: bool = False
    delay: float = 0.0  # seconds before answering
    hang_first: int = 0  # the first N requests of each id wait ``hang`` seconds first
    hang: float = 0.0
    port: int = field(default_factory=free_port)
    accepted: list[Delivery] = field(default_factory=list)  # verified and answered 2xx
    requests: Counter[str] = field(default_factory=Counter)  # every request, per webhook-id
    arrivals: list[str] = field(default_factory=list)  # the webhook-id of every request, in order
    bad_signatures: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k: v for k, v in request.headers.items()}
        msg_id = headers.get("webhook-id", "")
        self.requests[msg_id] += 1
        self.arrivals.append(msg_id)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.requests[msg_id] <= self.hang_first:
            await asyncio.sleep(self.hang)
        try:
            Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            self.bad_signatures += 1
            return Response(status_code=400)
        if self.fail_all or self.requests[msg_id] <= self.fail_first:
            return Response(status_code=500)
        self.accepted.append(Delivery(id=msg_id, body=json.loads(body), headers=headers))
        return Response(status_code=204)

    async def start(self) -> Receiver:
        app = Starlette(routes=[Route("/hook", self._handle, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._task.done() or time.monotonic() > deadline:
                raise RuntimeError("webhook receiver did not start")
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # do not wait for requests still hanging
            try:
                async with asyncio.timeout(10):
                    await self._task
            except TimeoutError:
                self._task.cancel()

    def unique(self) -> dict[str, Delivery]:
        """The first accepted delivery of each id (what a receiver deduping by id keeps)."""
        seen: dict[str, Delivery] = {}
        for d in self.accepted:
            seen.setdefault(d.id, d)
        return seen

    async def wait_for(self, count: int, timeout: float = 30.0) -> dict[str, Delivery]:
        """Until ``count`` distinct ids were accepted."""
        deadline = time.monotonic() + timeout
        while len(self.unique()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"got {len(self.unique())} of {count} webhooks: {list(self.requests.items())}")
            await asyncio.sleep(0.05)
        return self.unique()
