"""Rooms: sequencing, committed state, replay window, presence and the room registry."""
