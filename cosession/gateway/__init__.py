"""WebSocket sessions: handshake, hello/welcome, dispatch, rate limits and the send path."""
