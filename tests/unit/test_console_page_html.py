"""The associate console's server-rendered shell: the login form in the visitor's
language with a labelled password field and an alert region, RTL for Arabic, the
console bundle's script, and the same strings as the JS console's tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cosession.web.console_page import STRINGS, console_html, login_form

LOCALES = Path(__file__).resolve().parents[2] / "clients" / "js" / "src" / "i18n" / "locales"


def test_every_locale_has_the_same_keys_and_matches_the_js_tables() -> None:
    assert set(STRINGS) == {"en", "de", "fr", "es", "ar"}
    for lang, table in STRINGS.items():
        assert set(table) == set(STRINGS["en"]), lang
        js = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
        for key, text in table.items():
            assert js[key] == text, (lang, key)


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es", "ar"])
def test_login_form_is_labelled_and_localized(lang: str) -> None:
    form = login_form(lang)
    assert f"<label>{STRINGS[lang]['console.login.token']}" in form
    assert "type=password" in form and "autocomplete=off" in form
    assert "role=alert" in form
    page = console_html(locale=lang, script_url="/static/console.abc.js")
    assert f"<html lang={lang} dir={'rtl' if lang == 'ar' else 'ltr'}>" in page
    assert "<script src='/static/console.abc.js' defer></script>" in page
    assert "noindex" in page


def test_script_url_is_escaped() -> None:
    page = console_html(locale="en", script_url="/static/x.js?v='><script>")
    assert "'><script>" not in page
