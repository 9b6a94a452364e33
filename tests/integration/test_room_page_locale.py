"""GET /r/{invite} renders the join form on the server in the visitor's language."""

from __future__ import annotations

import httpx

from tests.support.server import ServerProcess


async def test_room_page_join_form_in_the_visitors_language(server: ServerProcess) -> None:
    room = await server.create_room(name="Ana's <shopping>")
    code = room["invite"]["code"]
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        en = await http.get(f"/r/{code}")
        assert en.status_code == 200 and en.headers["content-language"] == "en"
        assert "Accept-Language" in en.headers["vary"]
        assert "<html lang=en dir=ltr>" in en.text and "<main id=cosession-room" in en.text
        assert "Join “Ana&#x27;s &lt;shopping&gt;”" in en.text and "<label>Your name <input" in en.text

        de = await http.get(f"/r/{code}", headers={"accept-language": "de-DE,de;q=0.9,en;q=0.5"})
        assert de.headers["content-language"] == "de"
        assert "<html lang=de dir=ltr>" in de.text and ">Beitreten</button>" in de.text
        assert "Your name" not in de.text

        ar = await http.get(f"/r/{code}?lang=ar", headers={"accept-language": "de"})
        assert "<html lang=ar dir=rtl>" in ar.text and ">انضمام</button>" in ar.text
