"""Golden vectors of the wire contract (``codec.json``, ``reducer.json``, ``invalid.json``,
``session.json``, ``unread.json``).

The JSON files beside this module are the golden truth that the Python and JS test suites
check against; ``generate.py`` rebuilds them (``python -m protocol.vectors.generate``).
"""

from __future__ import annotations

from pathlib import Path

VECTORS_DIR = Path(__file__).resolve().parent
VECTOR_FILES = ("codec.json", "reducer.json", "invalid.json", "session.json", "unread.json")
