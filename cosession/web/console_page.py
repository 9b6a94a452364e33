"""The associate console's HTML (``/associates``): a server-rendered shell with the login
form in the visitor's language (``?lang=``, else ``Accept-Language``, else English), so
it paints before any script runs; the ``console.js`` bundle takes it over (queue, claim,
room view). The associate token is typed in here and kept in sessionStorage by the
script; the page itself carries no secret.

The strings are the console UI's own (``clients/js/src/i18n/locales/*.json``); a test
keeps this copy equal to those tables.
"""

from __future__ import annotations

import html

from cosession.web.room_page import FORM_CSS, RTL

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "console.title": "Associate console",
        "console.login.intro": "Sign in with the associate token your store gave you.",
        "console.login.token": "Associate token",
        "console.login.submit": "Sign in",
    },
    "de": {
        "console.title": "Mitarbeiterkonsole",
        "console.login.intro": "Melden Sie sich mit dem Mitarbeiter-Token Ihres Geschäfts an.",
        "console.login.token": "Mitarbeiter-Token",
        "console.login.submit": "Anmelden",
    },
    "fr": {
        "console.title": "Console des conseillers",
        "console.login.intro": "Connectez-vous avec le jeton de conseiller fourni par votre magasin.",
        "console.login.token": "Jeton de conseiller",
        "console.login.submit": "Se connecter",
    },
    "es": {
        "console.title": "Consola de asociados",
        "console.login.intro": "Inicia sesión con el token de asociado que te dio tu tienda.",
        "console.login.token": "Token de asociado",
        "console.login.submit": "Iniciar sesión",
    },
    "ar": {
        "console.title": "لوحة موظفي المتجر",
        "console.login.intro": "سجّل الدخول برمز الموظف الذي أعطاك إياه متجرك.",
        "console.login.token": "رمز الموظف",
        "console.login.submit": "تسجيل الدخول",
    },
}


def login_form(locale: str) -> str:
    """The login form's HTML: heading, intro, a labelled password field, the button and an
    alert region for refusals (a revoked or expired token)."""
    s = STRINGS[locale]
    e = html.escape
    return (
        "<form class=cs-form data-testid=login-form id=cs-login>"
        f"<h1 data-testid=console-title>{e(s['console.title'])}</h1>"
        f"<p>{e(s['console.login.intro'])}</p>"
        f"<label>{e(s['console.login.token'])}"
        " <input data-testid=login-token name=token type=password autocomplete=off spellcheck=false"
        " maxlength=200 required></label>"
        f"<button class=cs-primary type=submit data-testid=login>{e(s['console.login.submit'])}</button>"
        "<div class=cs-error data-testid=login-error role=alert></div>"
        "</form>"
    )


def console_html(*, locale: str, script_url: str) -> str:
    e = html.escape
    direction = "rtl" if locale in RTL else "ltr"
    title = STRINGS[locale]["console.title"]
    return (
        f"<!doctype html><html lang={locale} dir={direction}><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1, viewport-fit=cover'>"
        f"<title>{e(title)}</title>"
        "<meta name=theme-color content='#5b3df5'><meta name=robots content=noindex>"
        "<link rel=icon href='data:,'>"
        f"<style>{FORM_CSS}</style>"
        f"<script src='{e(script_url)}' defer></script>"
        "</head><body>"
        f"<main id=cosession-console class='cs cs-page' data-lang={locale} lang={locale} dir={direction}>"
        f"{login_form(locale)}"
        "<noscript><p>This page needs JavaScript.</p></noscript></main>"
        "</body></html>"
    )
