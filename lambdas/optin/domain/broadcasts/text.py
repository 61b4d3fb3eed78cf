"""A broadcast's text: its placeholders, its opt-out footer, and how many parts it takes.

The operator writes one text; each recipient gets it with their own names in it. The
placeholders are ``{{firstName}}``, ``{{lastName}}`` and ``{{brandName}}``, and the
tutorial's ``{{User.UserAttributes.FirstName}}`` is read as ``{{firstName}}``. Anything
else between double braces is refused by name, as is a brace pair left open.

The part count that decides whether a text is accepted is its worst case. A broadcast
cuts each name to ``name_characters`` (the ``broadcastNameCharacters`` setting, 20 by
default; the form allows 100): a cut name may still take two units a character, and a name
outside the GSM alphabet turns the whole text into UCS-2, so the worst case renders every
name placeholder as that many such characters. Without the cut, one 100-character name
alone would be 200 UCS-2 units, three parts, and every personalised text would be refused
at the default of 3 parts. Parts are counted by the send queue's counter
(``optin.domain.sending.parts``), the one the pace uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from optin.domain.sending.parts import Encoding, count_parts

FOOTER = "Reply STOP to opt out"
NAME_CHARACTERS = 20  # a name in a broadcast is cut to this many characters by default
MAX_TEXT_CHARACTERS = 1600  # before rendering; the part limit is what really bounds it

FIRST_NAME, LAST_NAME, BRAND_NAME = "firstName", "lastName", "brandName"
PLACEHOLDERS: Mapping[str, str] = {
    FIRST_NAME: FIRST_NAME,
    LAST_NAME: LAST_NAME,
    BRAND_NAME: BRAND_NAME,
    "User.UserAttributes.FirstName": FIRST_NAME,  # the tutorial's campaign attribute
}
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# A text already tells how to leave when it says "reply/text/send STOP" or "STOP to ...".
_CARRIES_OPT_OUT = re.compile(
    r"\b(?:reply|text|send)\W+stop\b|\bstop\b\W*\s(?:to|for)\s+(?:opt|cancel|unsub|end|quit|leave)",
    re.IGNORECASE,
)
# The worst characters of a name: two GSM-7 septets (extension table), or two UTF-16
# units (outside the BMP, which forces UCS-2).
_WORST_CHARACTERS = ("€", "\U0001f600")
_SAMPLE = {FIRST_NAME: "Alex", LAST_NAME: "Taylor"}


class BroadcastTextError(ValueError):
    """A text the operator API refuses (400), with its code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CheckedText:
    """A broadcast's text as stored: the footer added, placeholders in canonical form."""

    template: str
    parts: int  # the worst case over every name a subscriber may have
    encoding: Encoding  # of the text with names in its own alphabet


def with_footer(text: str) -> str:
    """The text with "Reply STOP to opt out" after it, unless it tells how to leave."""
    body = text.strip()
    if _CARRIES_OPT_OUT.search(body):
        return body
    separator = " " if body.endswith((".", "!", "?")) else ". "
    return f"{body}{separator}{FOOTER}"


def canonical(text: str) -> str:
    """Every placeholder in its canonical spelling; raises BroadcastTextError naming an
    unknown placeholder or a brace pair left open."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS:
            raise BroadcastTextError(
                "UNKNOWN_PLACEHOLDER",
                f"Unknown placeholder {{{{{name}}}}}: use "
                + ", ".join(f"{{{{{known}}}}}" for known in PLACEHOLDERS)
                + ".",
            )
        return "{{" + PLACEHOLDERS[name] + "}}"

    result = _PLACEHOLDER.sub(replace, text)
    leftover = _PLACEHOLDER.sub("", result)
    # A third brace ("{{{firstName}}}") is a typo, not a brace to print around the name.
    if "{{" in leftover or "}}" in leftover or "{{{" in text or "}}}" in text:
        raise BroadcastTextError(
            "UNKNOWN_PLACEHOLDER", "A placeholder is not closed: write it as {{firstName}}."
        )
    return result


def cut(name: str, name_characters: int = NAME_CHARACTERS) -> str:
    """A name as a broadcast writes it: at most ``name_characters`` characters."""
    return name if len(name) <= name_characters else name[:name_characters].rstrip()


def render(
    template: str,
    *,
    first_name: str,
    last_name: str,
    brand: str,
    name_characters: int = NAME_CHARACTERS,
) -> str:
    """One recipient's text (``template`` in canonical form), each name cut to
    ``name_characters``."""
    values = {
        FIRST_NAME: cut(first_name, name_characters),
        LAST_NAME: cut(last_name, name_characters),
        BRAND_NAME: brand,
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def check(
    text: str, *, brand: str, max_parts: int, name_characters: int = NAME_CHARACTERS
) -> CheckedText:
    """The stored form of an operator's text, or BroadcastTextError: empty, too long, an
    unknown placeholder, more than ``max_parts`` parts for some subscriber (names cut to
    ``name_characters``)."""
    if not isinstance(text, str) or not text.strip():
        raise BroadcastTextError("MISSING_FIELD", "text is required.")
    if len(text) > MAX_TEXT_CHARACTERS:
        raise BroadcastTextError(
            "TEXT_TOO_LONG", f"text is at most {MAX_TEXT_CHARACTERS} characters."
        )
    if any(_unsendable(char) for char in text):
        raise BroadcastTextError(
            "INVALID_FIELD",
            "text holds a character no SMS can carry (a control character or "
            "half of a surrogate pair).",
        )
    template = with_footer(canonical(text))
    parts = worst_parts(template, brand, name_characters)
    if parts > max_parts:
        raise BroadcastTextError(
            "TOO_MANY_PARTS",
            f"The text takes up to {parts} message parts with the longest names a broadcast "
            f"writes ({name_characters} characters, the footer included); at most "
            f"{max_parts} are allowed.",
        )
    own = count_parts(preview(template, brand))
    return CheckedText(template=template, parts=parts, encoding=own.encoding)


def _unsendable(char: str) -> bool:
    code = ord(char)
    return 0xD800 <= code <= 0xDFFF or (code < 0x20 and char not in "\n\r") or code == 0x7F


def worst_parts(template: str, brand: str, name_characters: int = NAME_CHARACTERS) -> int:
    """The most parts the text can take, whatever names its recipients have."""
    if not {FIRST_NAME, LAST_NAME} & set(_PLACEHOLDER.findall(template)):
        return count_parts(render(template, first_name="", last_name="", brand=brand)).count
    names = (character * name_characters for character in _WORST_CHARACTERS)
    return max(
        count_parts(
            render(
                template,
                first_name=name,
                last_name=name,
                brand=brand,
                name_characters=name_characters,
            )
        ).count
        for name in names
    )


def preview(template: str, brand: str, first_name: str = "", last_name: str = "") -> str:
    """The text as a recipient reads it (sample names when none are given)."""
    return render(
        template,
        first_name=first_name or _SAMPLE[FIRST_NAME],
        last_name=last_name or _SAMPLE[LAST_NAME],
        brand=brand,
    )
