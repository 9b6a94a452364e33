"""Content negotiation for compressed responses: which of br / gzip / identity to send
for a request's ``Accept-Encoding``, and a response carrying the chosen bytes.

Bundles come precompressed from the JS build (``.br`` at quality 11 and ``.gz`` at level 9,
see ``clients/js/build.mjs``), so no request pays for compression and the server needs no
brotli dependency; other bodies are gzipped with the standard library.
"""

from __future__ import annotations

import gzip

from starlette.responses import Response

# smaller than this, compression costs more than it saves (a TCP packet holds it anyway)
MIN_COMPRESS = 512


def accepted(header: str | None) -> dict[str, float]:
    """``Accept-Encoding`` → {coding: q} (lower-cased; q defaults to 1, bad q means 0)."""
    out: dict[str, float] = {}
    for item in (header or "").split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        q = 1.0
        params = params.strip().lower()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        out[coding] = q if 0.0 <= q <= 1.0 else 0.0
    return out


def choose(header: str | None, available: tuple[str, ...]) -> str | None:
    """The best of ``available`` ("br", "gzip", in the server's order of preference) that the
    client accepts with q > 0, or None for identity."""
    codings = accepted(header)
    star = codings.get("*", 0.0)
    best: str | None = None
    best_q = 0.0
    for coding in available:
        q = codings.get(coding, star)
        if q > best_q:
            best, best_q = coding, q
    return best


def gzip_bytes(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=9, mtime=0)


def negotiated(
    request_accept: str | None,
    body: bytes,
    variants: dict[str, bytes],
    *,
    media_type: str,
    headers: dict[str, str],
    status_code: int = 200,
) -> Response:
    """A response with the best encoding of ``body`` the client accepts (``variants`` maps
    "br"/"gzip" to precompressed bytes), and ``Vary: Accept-Encoding``."""
    headers = {**headers, "vary": "Accept-Encoding"}
    coding = choose(request_accept, tuple(c for c in ("br", "gzip") if c in variants))
    if coding is None:
        return Response(body, status_code=status_code, media_type=media_type, headers=headers)
    headers["content-encoding"] = coding
    return Response(variants[coding], status_code=status_code, media_type=media_type, headers=headers)


def compressed_html(request_accept: str | None, text: str, headers: dict[str, str]) -> Response:
    """An HTML page, gzipped when the client accepts it and it is worth it."""
    body = text.encode()
    variants = {"gzip": gzip_bytes(body)} if len(body) >= MIN_COMPRESS else {}
    return negotiated(request_accept, body, variants, media_type="text/html; charset=utf-8", headers=headers)
