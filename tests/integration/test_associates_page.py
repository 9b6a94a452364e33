"""GET /associates serves the associate console's shell (login form in the visitor's
language, a strict CSP, no caching) and its built bundle."""

from __future__ import annotations

import re

import httpx

from tests.support.server import ServerProcess


async def test_associates_page_in_the_visitors_language_with_its_bundle(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        en = await http.get("/associates")
        assert en.status_code == 200 and en.headers["content-language"] == "en"
        assert en.headers["cache-control"] == "no-store"
        csp = en.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "<main id=cosession-console" in en.text and ">Sign in</button>" in en.text

        fr = await http.get("/associates", headers={"accept-language": "fr-CA,fr;q=0.9"})
        assert "<html lang=fr dir=ltr>" in fr.text and "Jeton de conseiller" in fr.text
        ar = await http.get("/associates?lang=ar")
        assert "<html lang=ar dir=rtl>" in ar.text
        # a bogus language (or an attempt at markup) is English, never echoed
        odd = await http.get(
            "/associates?lang=%3Cscript%3Ealert(1)%3C/script%3E", headers={"accept-language": "x" * 5000}
        )
        assert odd.status_code == 200 and "<html lang=en dir=ltr>" in odd.text and "alert(1)" not in odd.text
        assert (await http.post("/associates")).status_code == 405

        script = re.search(r"<script src='([^']+)'", en.text)
        assert script is not None and "console" in script.group(1)
        bundle = await http.get(script.group(1))
        assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("text/javascript")
        assert "immutable" in bundle.headers["cache-control"]
