"""The room page's server-rendered join form: the visitor's language (``?lang=``, then
``Accept-Language``, then English), escaped room names, a labelled name field, RTL for
Arabic, and the same strings as the JS room UI's tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cosession.web.room_page import STRINGS, join_form, page_html, pick_locale, room_name_or_default

LOCALES = Path(__file__).resolve().parents[2] / "clients" / "js" / "src" / "i18n" / "locales"


@pytest.mark.parametrize(
    ("query", "header", "want"),
    [
        (None, None, "en"),
        ("de", None, "de"),
        ("fr-CA", "de", "fr"),
        ("xx", "es-MX,es;q=0.9,en;q=0.8", "es"),
        (None, "pt-BR, ar;q=0.7, de;q=0.9", "de"),
        (None, "de;q=0, fr;q=0.5", "fr"),
        (None, "ar-EG", "ar"),
        (None, "tlh;q=1, *;q=0.1", "en"),
        (None, "de;q=bogus, es;q=0.2", "es"),
    ],
)
def test_pick_locale(query: str | None, header: str | None, want: str) -> None:
    assert pick_locale(query, header) == want


def test_every_locale_has_the_same_keys_and_matches_the_js_tables() -> None:
    assert set(STRINGS) == {"en", "de", "fr", "es", "ar"}
    for lang, table in STRINGS.items():
        assert set(table) == set(STRINGS["en"]), lang
        js = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
        for key in set(table) & set(js):
            assert table[key] == js[key], (lang, key)
        assert "room.untitled" in js


def test_join_form_is_localized_labelled_and_escaped() -> None:
    html = join_form("de", "Geburtstag <b>&")
    assert "„Geburtstag &lt;b&gt;&amp;“ beitreten" in html
    assert "<label>Ihr Name <input" in html and "data-testid=join-name" in html and "required" in html
    assert ">Beitreten</button>" in html and "lang=de dir=ltr" in html
    assert "placeholder" not in html
    assert "Join" not in html


def test_arabic_page_is_rtl_and_defaults_are_localized() -> None:
    name = room_name_or_default(None, "ar")
    assert name == "غرفة التسوق"
    page = page_html(locale="ar", code="i_x'y", room_name=name, script_url="/static/room.js?v=1")
    assert page.startswith("<!doctype html><html lang=ar dir=rtl>")
    assert "<main id=cosession-room data-invite='i_x&#x27;y'" in page
    assert re.search(r"<h1[^>]*>انضم إلى «غرفة التسوق»</h1>", page)
    assert room_name_or_default("Ana", "ar") == "Ana"
