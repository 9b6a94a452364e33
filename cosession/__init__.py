"""cosession server: rooms over WebSockets, embedded (SQLite) by default."""

__version__ = "0.1.0"
