"""The server sends the bundles compressed (br or gzip, as the client accepts, with
Vary: Accept-Encoding), caches hashed names for good and /widget.js briefly, and lets a
shop's page import the panel across origins."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx
import pytest

from cosession.web.assets import Assets
from tests.support.server import ServerProcess


def manifest() -> dict[str, dict[str, object]]:
    assets = Assets()
    if assets.missing() or not assets.manifest():
        pytest.fail("JS bundles not built: run scripts/build-js.sh", pytrace=False)
    data = json.loads((assets.root / "manifest.json").read_text())
    assert isinstance(data, dict)
    return data


async def raw(http: httpx.AsyncClient, path: str, encoding: str, **headers: str) -> httpx.Response:
    """The response with its body as sent (not decoded)."""
    request = http.build_request("GET", path, headers={"accept-encoding": encoding, **headers})
    response = await http.send(request, stream=True)
    response._content = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response


async def test_bundles_are_compressed_and_cached(server: ServerProcess) -> None:
    files = manifest()
    panel = f"/static/{files['widget-panel.js']['file']}"
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        for path in ("/widget.js", panel):
            plain = await raw(http, path, "identity")
            assert plain.status_code == 200 and "content-encoding" not in plain.headers
            assert plain.headers["vary"] == "Accept-Encoding"
            gz = await raw(http, path, "gzip, deflate")
            assert gz.headers["content-encoding"] == "gzip" and gz.headers["vary"] == "Accept-Encoding"
            assert gzip.decompress(gz.content) == plain.content
            br = await raw(http, path, "gzip, deflate, br")
            assert br.headers["content-encoding"] == "br"
            assert len(br.content) < len(gz.content) < len(plain.content) / 2
            # one ETag per representation; a matching one gets 304
            assert len({plain.headers["etag"], gz.headers["etag"], br.headers["etag"]}) == 3
            again = await raw(http, path, "gzip, deflate, br", **{"if-none-match": br.headers["etag"]})
            assert again.status_code == 304 and not again.content
            assert (await raw(http, path, "gzip", **{"if-none-match": br.headers["etag"]})).status_code == 200
            assert plain.headers["access-control-allow-origin"] == "*"  # the panel is imported cross-origin
            if path == "/widget.js":
                launcher_gz = len(gz.content)
                assert plain.headers["cache-control"] == "public, max-age=300, must-revalidate"
                assert launcher_gz <= 6 * 1024, launcher_gz
            else:
                assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"

        # the room bundle by its hashed name is immutable too; by its plain name it revalidates
        room = await raw(http, f"/static/{files['room.js']['file']}", "gzip")
        assert "immutable" in room.headers["cache-control"] and room.headers["content-encoding"] == "gzip"
        assert (await raw(http, "/static/room.js", "gzip")).headers["cache-control"] == "no-cache"

        # a panel name from an older build still works, but is not cached for good
        stale = await raw(http, "/static/widget-panel.00000000deadbeef.js", "identity")
        assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
        assert (await raw(http, "/static/nothing.00000000deadbeef.js", "identity")).status_code == 404
        assert (await raw(http, "/static/widget.js.gz", "identity")).status_code == 404


async def test_demo_page_is_compressed(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, "--demo")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
            page = await raw(http, "/demo", "gzip")
            assert page.headers["content-encoding"] == "gzip" and page.headers["vary"] == "Accept-Encoding"
            assert b"cosession.open()" in gzip.decompress(page.content)
            assert "content-encoding" not in (await raw(http, "/demo", "identity")).headers
    finally:
        server.kill()
