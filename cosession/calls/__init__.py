"""Calls in a room (issue 11): ICE configuration and WebRTC signaling (SPEC section 14)."""
