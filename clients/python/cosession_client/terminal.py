"""Make server-provided text safe to print on a terminal (pure functions).

Anything a room member controls (names, chat, product and room names) and anything the
server says (error messages, close reasons) reaches ``cosession-client``'s terminal. Raw,
such text could carry escape sequences (retitle or clear the terminal, move the cursor,
recolour), line breaks or a carriage return (fake a line from the server or another
member), or bidirectional overrides (show text in a different order than it is read).

``printable`` replaces each such character with a visible stand-in, so the text keeps
its length in characters and stays on one line:

* C0 controls U+0000..U+001F (tab and newline included) → their Control Pictures
  (``"\\x1b"`` → ``"␛"``, ``"\\n"`` → ``"␊"``), DEL → ``"␡"``;
* C1 controls U+0080..U+009F (NEL, CSI ...), the line and paragraph separators
  U+2028/U+2029, the bidi formatting characters (U+061C, U+200E/F, U+202A..U+202E,
  U+2066..U+2069) and lone surrogates → ``"<U+XXXX>"``.

Everything else, zero-width joiners of emoji sequences included, passes unchanged.
"""

from __future__ import annotations

import re

__all__ = ["UNSAFE", "is_unsafe", "json_printable", "printable"]

#: Every character ``printable`` replaces.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def is_unsafe(ch: str) -> bool:
    """True for a character ``printable`` would replace."""
    return UNSAFE.fullmatch(ch) is not None


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ ... ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def printable(text: str) -> str:
    """``text`` with every terminal-unsafe character replaced by a visible stand-in."""
    return UNSAFE.sub(_stand_in, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_printable(line: str) -> str:
    """A JSON text (from ``json.dumps``) with the unsafe characters left inside its strings
    written as ``\\uXXXX`` escapes: the same JSON value, safe to print.

    ``json.dumps`` already escapes C0 controls; with ``ensure_ascii=False`` it leaves C1
    controls, U+2028/U+2029 and bidi overrides raw. Outside strings JSON text is ASCII
    without controls, so every match is inside a string, where ``\\uXXXX`` means the same.
    """
    return UNSAFE.sub(_json_escape, line)
