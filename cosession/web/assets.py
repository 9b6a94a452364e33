"""The built JS bundles (``clients/js/dist``, made by ``scripts/build-js.sh``).

Files are read once and kept in memory with their ETag, and re-read when they change on
disk (a rebuild while the server runs is picked up).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

BUILD_HINT = "run scripts/build-js.sh (needs Node.js 20+) to build clients/js/dist"

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".map": "application/json",
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def dist_dir() -> Path:
    override = os.environ.get("COSESSION_JS_DIST")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "clients" / "js" / "dist"


@dataclass(frozen=True)
class Asset:
    body: bytes
    etag: str
    content_type: str
    mtime_ns: int


class Assets:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or dist_dir()
        self._cache: dict[str, Asset] = {}

    def missing(self) -> list[str]:
        return [name for name in ("widget.js", "room.js") if not (self.root / name).is_file()]

    def get(self, name: str) -> Asset | None:
        """A file directly in the dist folder (no sub-paths, nothing hidden)."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            return None
        suffix = Path(name).suffix
        if suffix not in CONTENT_TYPES:
            return None
        path = self.root / name
        try:
            stat = path.stat()
        except OSError:
            self._cache.pop(name, None)
            return None
        cached = self._cache.get(name)
        if cached is not None and cached.mtime_ns == stat.st_mtime_ns:
            return cached
        body = path.read_bytes()
        asset = Asset(
            body=body,
            etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
            content_type=CONTENT_TYPES[suffix],
            mtime_ns=stat.st_mtime_ns,
        )
        self._cache[name] = asset
        return asset

    def version(self, name: str) -> str:
        """A cache-busting version for ``name`` (its content hash), "" when not built."""
        asset = self.get(name)
        return asset.etag.strip('"')[:12] if asset is not None else ""

    def manifest(self) -> dict[str, object]:
        asset = self.get("manifest.json")
        if asset is None:
            return {}
        data: dict[str, object] = json.loads(asset.body)
        return data
