"""cosession's wire contract: typed messages, codecs, the room reducer and golden vectors.

Imports nothing else of cosession's; the server, the Python client and the load tool
all build on it. ``SPEC.md`` beside this file is the normative description.
"""

from protocol.codec import JSON, JSON_SUBPROTOCOL, MSGPACK, MSGPACK_SUBPROTOCOL, SUBPROTOCOLS, Codec, codec_for
from protocol.errors import CloseCode, ErrorCode, ProtocolError

__all__ = [
    "JSON",
    "JSON_SUBPROTOCOL",
    "MSGPACK",
    "MSGPACK_SUBPROTOCOL",
    "SUBPROTOCOLS",
    "CloseCode",
    "Codec",
    "ErrorCode",
    "ProtocolError",
    "codec_for",
]
