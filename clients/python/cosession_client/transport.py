"""Opening the WebSocket: the only module of the client that knows ``websockets``' connect.

``open_socket`` returns an open connection that speaks the codec's subprotocol, or raises
``Refused`` with what the session's ``closed`` input needs (code, reason, final).
"""

from __future__ import annotations

from typing import Final

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from cosession_client.settings import ClientSettings
from protocol.codec import Codec

VERSION: Final = "0.1.0"
CLOSE_WAIT: Final = 2.0  # how long to wait for a close handshake


class Refused(Exception):
    """The connection could not be opened (``final``: retrying cannot help)."""

    def __init__(self, reason: str, *, final: bool) -> None:
        super().__init__(reason)
        self.code = 1006
        self.reason = reason
        self.final = final


async def open_socket(url: str, codec: Codec, settings: ClientSettings) -> ClientConnection:
    try:
        ws = await ws_connect(
            url,
            subprotocols=[Subprotocol(codec.subprotocol)],
            open_timeout=settings.connect_timeout,
            close_timeout=CLOSE_WAIT,
            max_size=settings.max_frame_bytes,
            user_agent_header=f"cosession-python/{VERSION}",
        )
    except InvalidURI as exc:
        raise Refused(str(exc), final=True) from None
    except InvalidStatus as exc:
        # 403: a draining server refuses the handshake (close before accept); the origin
        # check that also answers 403 does not apply to a client with no Origin.
        status = exc.response.status_code
        retry = status >= 500 or status in (403, 429)
        raise Refused(f"handshake refused: HTTP {status}", final=not retry) from None
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        raise Refused(f"cannot connect: {exc!r}", final=False) from None
    if ws.subprotocol != codec.subprotocol:
        ws.transport.abort()
        raise Refused(f"server did not accept {codec.subprotocol}", final=True)
    return ws
