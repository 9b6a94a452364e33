"""The start-up check of uvicorn's internals that the direct-send path relies on."""

from __future__ import annotations

from typing import Any

import pytest
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from cosession.gateway import uvicorn_compat
from cosession.gateway.uvicorn_compat import FALLBACK_WS, missing_internals, websocket_protocol
from cosession.gateway.uvicorn_direct import DirectWebSocketProtocol


def test_the_installed_uvicorn_has_every_internal() -> None:
    assert missing_internals(WebSocketsSansIOProtocol) == []
    assert websocket_protocol() == (DirectWebSocketProtocol, None)


def test_no_direct_send_flag_picks_the_asgi_path_without_a_warning() -> None:
    assert websocket_protocol(direct=False) == (FALLBACK_WS, None)


def test_a_missing_instance_attribute_is_found() -> None:
    class Renamed(WebSocketsSansIOProtocol):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.closing_frame_sent = self.close_sent  # as if a release had renamed it
            del self.close_sent

    assert missing_internals(Renamed) == ["attribute close_sent"]


def test_a_missing_method_is_found() -> None:
    class NoKeepalive(WebSocketsSansIOProtocol):
        stop_keepalive = None  # type: ignore[assignment]

    assert missing_internals(NoKeepalive) == ["method stop_keepalive"]


def test_a_changed_constructor_is_found() -> None:
    class NewSignature(WebSocketsSansIOProtocol):
        def __init__(self, config: Any) -> None:
            raise AssertionError("not reached")

    (problem,) = missing_internals(NewSignature)
    assert problem.startswith("constructor (TypeError")


def test_differing_internals_fall_back_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uvicorn_compat, "REQUIRED_ATTRIBUTES", (*uvicorn_compat.REQUIRED_ATTRIBUTES, "outgoing"))
    ws, problem = websocket_protocol()
    assert ws == FALLBACK_WS
    assert problem is not None and "attribute outgoing" in problem
