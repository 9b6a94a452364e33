"""Content negotiation (br / gzip / identity) and the asset store's compressed variants,
hashed names and fallbacks."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cosession.web.assets import Assets
from cosession.web.encoding import accepted, choose


def test_choose_prefers_brotli_then_gzip() -> None:
    both = ("br", "gzip")
    assert choose("gzip, deflate, br, zstd", both) == "br"
    assert choose("gzip, deflate", both) == "gzip"
    assert choose("br;q=0, gzip", both) == "gzip"
    assert choose("br;q=0.5, gzip;q=0.9", both) == "gzip"
    assert choose("identity", both) is None
    assert choose("", both) is None
    assert choose(None, both) is None
    assert choose("*", both) == "br"
    assert choose("*;q=0, gzip", both) == "gzip"
    assert choose("BR", ("gzip",)) is None  # not available: identity
    assert choose("gzip;q=nonsense", both) is None
    assert choose("gzip;q=7", both) is None


@given(st.text(max_size=200))
def test_any_header_parses(header: str) -> None:
    codings = accepted(header)
    assert all(0.0 <= q <= 1.0 for q in codings.values())
    assert choose(header, ("br", "gzip")) in ("br", "gzip", None)


def write(path: Path, data: bytes, mtime: int) -> None:
    path.write_bytes(data)
    os.utime(path, ns=(mtime, mtime))


def test_precompressed_siblings_are_used_when_fresh(tmp_path: Path) -> None:
    body = b"console.log('hello');\n" * 100
    write(tmp_path / "widget.js", body, 2_000_000_000_000_000_000)
    write(tmp_path / "widget.js.br", b"BROTLI", 2_000_000_000_000_000_000)
    write(tmp_path / "widget.js.gz", b"STALE", 1_000_000_000_000_000_000)  # older than the file: ignored
    asset = Assets(tmp_path).get("widget.js")
    assert asset is not None
    assert asset.variants["br"] == b"BROTLI"
    assert gzip.decompress(asset.variants["gzip"]) == body  # made here instead
    assert Assets(tmp_path).get("widget.js.gz") is None  # compressed files are not served by name


def test_small_files_are_not_compressed(tmp_path: Path) -> None:
    (tmp_path / "tiny.js").write_bytes(b"1")
    asset = Assets(tmp_path).get("tiny.js")
    assert asset is not None and asset.variants == {}


def test_hashed_names_urls_and_fallback(tmp_path: Path) -> None:
    (tmp_path / "room.js").write_bytes(b"room")
    (tmp_path / "room.0123456789abcdef.js").write_bytes(b"room")
    (tmp_path / "widget-panel.fedcba9876543210.js").write_bytes(b"panel")
    manifest = {
        "room.js": {"file": "room.0123456789abcdef.js"},
        "widget-panel.js": {"file": "widget-panel.fedcba9876543210.js"},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assets = Assets(tmp_path)
    assert assets.hashed_names() == {"room.0123456789abcdef.js", "widget-panel.fedcba9876543210.js"}
    assert assets.url("room.js") == "/static/room.0123456789abcdef.js"
    # an older build's panel name (a launcher cached before a deploy) maps to the current one
    assert assets.current_for("widget-panel.00000000deadbeef.js") == "widget-panel.fedcba9876543210.js"
    assert assets.current_for("widget-panel.js") is None
    assert assets.current_for("../widget-panel.00000000deadbeef.js") is None
    assert assets.current_for("nothing.00000000deadbeef.js") is None
    (tmp_path / "manifest.json").unlink()
    assert Assets(tmp_path).url("room.js").startswith("/static/room.js?v=")
