"""The real cosession app on a real uvicorn server inside the test's event loop.

For tests that must reach inside the server (submit an op straight to a room, bypassing
the codec) or run the ASGI app under a plain uvicorn configuration of their own (for
example a ``ws_max_size`` far above ``max_frame_bytes``). Real sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from cosession.app import create_app
from cosession.config import Settings
from cosession.services import Services

SECRET = "test-secret"


@dataclasses.dataclass
class InProcessServer:
    app: Starlette
    port: int

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    async def create_room(self, name: str = "Test room", owner_name: str = "Olga") -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            response = await client.post(self.http_url + "/v1/rooms", json={"name": name, "owner_name": owner_name})
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data


@contextlib.asynccontextmanager
async def running_app(settings: Settings, **uvicorn_options: Any) -> AsyncIterator[InProcessServer]:
    """``create_app(settings)`` served by ``uvicorn.Server`` on a kernel-chosen port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = dataclasses.replace(settings, host="127.0.0.1", port=port, secret=settings.secret or SECRET)
    app = create_app(settings)
    config = uvicorn.Config(app, lifespan="on", log_level="warning", **uvicorn_options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.02)
        yield InProcessServer(app, port)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 20)
        sock.close()
