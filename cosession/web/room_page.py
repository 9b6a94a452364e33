"""The room page's HTML (``/r/{invite}``): the join form rendered by the server, so it
paints before any script runs, in the visitor's language (``?lang=``, else
``Accept-Language``, else English). The room bundle takes the form over when it loads.

The strings are the room UI's own (``clients/js/src/i18n/locales/*.json``); a test keeps
this copy equal to those tables.
"""

from __future__ import annotations

import html

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "room.untitled": "Shopping room",
        "join.title": "Join the shopping room",
        "join.titleNamed": "Join “{room}”",
        "join.intro": "Shop together: one shared cart, a chat, and see what everyone is looking at. No app needed.",
        "join.name": "Your name",
        "join.submit": "Join",
    },
    "de": {
        "room.untitled": "Einkaufsraum",
        "join.title": "Dem Einkaufsraum beitreten",
        "join.titleNamed": "„{room}“ beitreten",
        "join.intro": "Gemeinsam einkaufen: ein gemeinsamer Warenkorb, ein Chat, und Sie sehen, was sich alle "
        "ansehen. Keine App nötig.",
        "join.name": "Ihr Name",
        "join.submit": "Beitreten",
    },
    "fr": {
        "room.untitled": "Salon d’achat",  # noqa: RUF001
        "join.title": "Rejoindre le salon d’achat",  # noqa: RUF001
        "join.titleNamed": "Rejoindre « {room} »",
        "join.intro": "Faites vos achats ensemble : un panier partagé, une discussion, et voyez ce que chacun "
        "regarde. Aucune application nécessaire.",
        "join.name": "Votre nom",
        "join.submit": "Rejoindre",
    },
    "es": {
        "room.untitled": "Sala de compras",
        "join.title": "Unirse a la sala de compras",
        "join.titleNamed": "Unirse a «{room}»",
        "join.intro": "Comprad juntos: un carrito compartido, un chat y ved lo que mira cada uno. Sin instalar nada.",
        "join.name": "Tu nombre",
        "join.submit": "Unirse",
    },
    "ar": {
        "room.untitled": "غرفة التسوق",
        "join.title": "انضم إلى غرفة التسوق",
        "join.titleNamed": "انضم إلى «{room}»",
        "join.intro": "تسوقوا معًا: سلة مشتركة ودردشة، وشاهد ما ينظر إليه الجميع. دون الحاجة إلى تطبيق.",
        "join.name": "اسمك",
        "join.submit": "انضمام",
    },
}
RTL = {"ar"}

# Enough style for the form's first paint; the bundle's stylesheet replaces it.
FORM_CSS = (
    "html,body{margin:0;background:#f5f5f9}"
    ".cs{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1d1d21;background:#fff;"
    "max-width:1200px;margin:0 auto;min-height:100vh;box-sizing:border-box}"
    ".cs-form{display:flex;flex-direction:column;gap:10px;padding:16px}"
    ".cs-form h1{font-size:22px;margin:0}.cs-form p{color:#5f5f6a;margin:0}"
    ".cs-form label{display:flex;flex-direction:column;gap:4px;font-weight:600}"
    ".cs-form input{font:inherit;border:1px solid #767680;border-radius:8px;padding:8px 10px;min-height:38px}"
    ".cs-form button{font:inherit;font-weight:600;background:#5b3df5;border:1px solid #5b3df5;color:#fff;"
    "border-radius:8px;min-height:38px}"
    ".cs-error{color:#b3261e;font-size:13px}"
)


def pick_locale(query_lang: str | None, accept_language: str | None) -> str:
    """The table for ``?lang=`` if we have it, else the best ``Accept-Language`` match, else en."""

    def lang_of(tag: str) -> str:
        return tag.strip().split(";")[0].strip().replace("_", "-").split("-")[0].lower()

    if query_lang and lang_of(query_lang) in STRINGS:
        return lang_of(query_lang)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.partition(";")
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        lang = lang_of(tag)
        if lang in STRINGS and q > 0:
            ranked.append((-q, i, lang))
    return sorted(ranked)[0][2] if ranked else "en"


def room_name_or_default(name: str | None, locale: str) -> str:
    return name or STRINGS[locale]["room.untitled"]


def join_form(locale: str, room_name: str) -> str:
    """The join form's HTML (escaped): heading, intro, a labelled name field, the button."""
    s = STRINGS[locale]
    e = html.escape
    title = s["join.titleNamed"].replace("{room}", room_name) if room_name else s["join.title"]
    return (
        f"<div class='cs cs-page' lang={locale} dir={'rtl' if locale in RTL else 'ltr'}>"
        "<form class=cs-form data-testid=join-form id=cs-join>"
        f"<h1 data-testid=join-title dir=auto>{e(title)}</h1>"
        f"<p>{e(s['join.intro'])}</p>"
        f"<label>{e(s['join.name'])}"
        " <input data-testid=join-name name=name maxlength=100 autocomplete=nickname required></label>"
        f"<button class=cs-primary type=submit data-testid=join>{e(s['join.submit'])}</button>"
        "<div class=cs-error data-testid=join-error role=alert></div>"
        "</form></div>"
    )


def page_html(
    *, locale: str, code: str, room_name: str, script_url: str, qa: bool = False, extra: dict[str, str] | None = None
) -> str:
    """The page. ``qa``: the room belongs to a tenant, so "Ask past buyers" is offered
    (SPEC 19); ``extra``: more ``data-*`` attributes of the app element (a store's page)."""
    e = html.escape
    more = "".join(f" {k}='{e(v)}'" for k, v in (extra or {}).items())
    return (
        f"<!doctype html><html lang={locale} dir={'rtl' if locale in RTL else 'ltr'}><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1, viewport-fit=cover'>"
        f"<title>{e(room_name)}</title>"
        "<meta name=theme-color content='#5b3df5'>"
        f"<meta property='og:title' content='{e(room_name)}'>"
        f"<meta property='og:description' content='{e(STRINGS[locale]['join.intro'])}'>"
        "<link rel=icon href='data:,'>"
        f"<style>{FORM_CSS}</style>"
        f"<script src='{e(script_url)}' defer></script>"
        "</head><body>"
        f"<main id=cosession-room data-invite='{e(code)}' data-room-name='{e(room_name)}' data-lang={locale}"
        f"{' data-qa=1' if qa else ''}{more}>"
        f"{join_form(locale, room_name)}"
        "<noscript><p>This page needs JavaScript.</p></noscript></main>"
        "</body></html>"
    )
