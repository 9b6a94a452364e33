"""The built JS bundles (``clients/js/dist``, made by ``scripts/build-js.sh``).

Files are read once and kept in memory with their ETag and compressed variants (the
build's ``.br``/``.gz`` files, else gzip made here), and re-read when they change on disk
(a rebuild while the server runs is picked up). ``manifest.json`` names each bundle's
hashed file (``widget-panel.<hash>.js``), which is served as immutable.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cosession.web.encoding import MIN_COMPRESS, gzip_bytes

BUILD_HINT = "run scripts/build-js.sh (needs Node.js 20+) to build clients/js/dist"

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".map": "application/json",
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",  # the room page's barcode decoder (zxing-wasm), fetched on first scan
}
_HASHED = re.compile(r"^(?P<stem>[A-Za-z0-9_-]+)\.[0-9a-f]{16}\.js$")


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
    variants: dict[str, bytes]  # "br" / "gzip" → compressed body


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
            variants=self._variants(path, stat.st_mtime_ns, body),
        )
        self._cache[name] = asset
        return asset

    @staticmethod
    def _variants(path: Path, mtime_ns: int, body: bytes) -> dict[str, bytes]:
        """The build's precompressed siblings (when not older than the file), else gzip."""
        out: dict[str, bytes] = {}
        for coding, ext in (("br", ".br"), ("gzip", ".gz")):
            sibling = path.with_name(path.name + ext)
            try:
                if sibling.stat().st_mtime_ns >= mtime_ns:
                    out[coding] = sibling.read_bytes()
            except OSError:
                continue
        if "gzip" not in out and len(body) >= MIN_COMPRESS:
            out["gzip"] = gzip_bytes(body)
        return out

    def hashed_names(self) -> set[str]:
        """The content-hashed file names the manifest lists (served as immutable)."""
        names: set[str] = set()
        for entry in self.manifest().values():
            if isinstance(entry, dict) and isinstance(entry.get("file"), str):
                names.add(entry["file"])
        return names

    def current_for(self, name: str) -> str | None:
        """For a hashed name that is gone (an older build's), the current file of the same
        bundle: a page holding a cached launcher still gets a panel."""
        match = _HASHED.match(name)
        if match is None:
            return None
        entry = self.manifest().get(match["stem"] + ".js")
        return entry.get("file") if isinstance(entry, dict) and isinstance(entry.get("file"), str) else None

    def url(self, name: str) -> str:
        """The URL of bundle ``name`` (``room.js``): its hashed file, else a ``?v=`` URL."""
        entry = self.manifest().get(name)
        if isinstance(entry, dict) and isinstance(entry.get("file"), str) and self.get(entry["file"]) is not None:
            return f"/static/{entry['file']}"
        return f"/static/{name}?v={self.version(name)}"

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
