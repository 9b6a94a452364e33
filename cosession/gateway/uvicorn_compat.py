"""Can the installed uvicorn carry the direct-send path? Checked once, at start-up.

:class:`~cosession.gateway.uvicorn_direct.DirectWebSocketProtocol` subclasses uvicorn's
sans-I/O WebSocket protocol (an internal class) and uses its methods and instance
attributes. pyproject bounds uvicorn to the versions this was tested with; should another
version be installed anyway, :func:`websocket_protocol` finds out before the first
connection instead of at the first message, and the server runs on uvicorn's own protocol
(every frame through ASGI ``send``: ``AsgiOutbox``) with one warning saying why.

The check: the internal module imports, the base class has the methods the subclass
overrides or calls, and an instance built exactly as uvicorn builds one has the
attributes the direct channel reads and writes.
"""

from __future__ import annotations

import asyncio
from typing import Any

#: Methods of uvicorn's ``WebSocketsSansIOProtocol`` that the subclass overrides or calls.
REQUIRED_METHODS: tuple[str, ...] = (
    "run_asgi",
    "send",
    "shutdown",
    "connection_lost",
    "keepalive_timeout",
    "stop_keepalive",
    "handle_connect",
)
#: Instance attributes set by its ``__init__`` that the subclass and the channel use.
REQUIRED_ATTRIBUTES: tuple[str, ...] = (
    "conn",
    "transport",
    "queue",
    "loop",
    "writable",
    "disconnected",
    "close_sent",
    "close_timer",
    "close_timeout",
    "read_paused",
    "handshake_complete",
)

#: The value of ``uvicorn.Config(ws=...)`` when the direct path is off.
FALLBACK_WS = "websockets-sansio"
_SANSIO_MODULE = "uvicorn.protocols.websockets.websockets_sansio_impl"


async def _noop_app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
    return None


def missing_internals(base: type) -> list[str]:
    """What ``base`` lacks of the internals the direct path needs (empty: all there)."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    missing = [f"method {name}" for name in REQUIRED_METHODS if not callable(getattr(base, name, None))]
    config = Config(_noop_app, lifespan="off", log_config=None)
    config.load()
    loop = asyncio.new_event_loop()
    try:
        instance = base(config, ServerState(), {}, loop)
    except Exception as exc:  # a changed constructor: nothing else can be relied on either
        return [*missing, f"constructor ({type(exc).__name__}: {exc})"]
    finally:
        loop.close()
    missing += [f"attribute {name}" for name in REQUIRED_ATTRIBUTES if not hasattr(instance, name)]
    return missing


def direct_send_problem() -> str | None:
    """Why the direct-send path cannot run on the installed uvicorn, or ``None`` if it can."""
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

        import cosession.gateway.uvicorn_direct  # noqa: F401  (its own imports of uvicorn internals)
    except ImportError as exc:
        return f"uvicorn internals not found ({exc})"
    missing = missing_internals(WebSocketsSansIOProtocol)
    if missing:
        return "uvicorn's WebSocketsSansIOProtocol differs: no " + ", ".join(missing)
    return None


def websocket_protocol(direct: bool = True) -> tuple[Any, str | None]:
    """``uvicorn.Config(ws=...)`` for this server and, when the direct path had to be
    turned off, the reason (for one warning)."""
    import importlib.util

    # uvicorn's own sans-I/O protocol when it exists, else whatever uvicorn picks by default
    fallback = FALLBACK_WS if importlib.util.find_spec(_SANSIO_MODULE) is not None else "auto"
    if not direct:
        return fallback, None
    problem = direct_send_problem()
    if problem is not None:
        return fallback, problem
    from cosession.gateway.uvicorn_direct import DirectWebSocketProtocol

    return DirectWebSocketProtocol, None
