"""The registration request: what the form may send and how each field is checked.

The HTTP envelope (size, media type, encoding, JSON) is the handler's; this checks the
decoded JSON object.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optin.domain.errors import ConsentRequired, InvalidField, MissingField, UnsupportedCountry
from optin.domain.subscribers.fields import FIELDS, FieldKind, SubscriberField

_DISCLOSURE_VERSION = re.compile(r"^d-[0-9a-f]{12}$")
# Refused anywhere in a name or the page: controls (Cc), format characters (Cf: zero-width
# marks, bidirectional overrides, BOM), unpaired surrogates (Cs), private use (Co),
# unassigned (Cn), line and paragraph separators (Zl, Zp).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Zero-width joiners that some scripts need inside a word (a non-joiner in Persian names,
# joiners in Indic conjuncts): accepted between two letters or marks, refused elsewhere.
_JOINERS = frozenset("\u200c\u200d")
# Characters that draw nothing although Unicode files them as letters or symbols (the Hangul
# fillers, the braille blank): refused like the invisible ones above.
_BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


@dataclass(frozen=True)
class RegistrationRequest:
    phone_number: str
    country: str
    first_name: str
    last_name: str
    source: str
    consent: bool
    form_disclosure_version: str = ""


def parse_registration(
    document: Mapping[str, Any],
    *,
    default_country: str,
    allowed_countries: tuple[str, ...],
    require_consent: bool,
) -> RegistrationRequest:
    """Check the form's fields; raise the RegistrationError of the first problem found."""
    phone = _phone_field(document)
    values = {field.attribute: _field(document, field) for field in FIELDS}
    country = _country(document.get("country"), default_country, allowed_countries)
    consent = document.get("consent")
    if consent is not None and not isinstance(consent, bool):
        raise InvalidField("consent must be true or false.", "consent")
    if require_consent and consent is not True:
        raise ConsentRequired("Check the box to agree to receive text messages.", "consent")
    version = document.get("disclosureVersion")
    form_version = (
        version if isinstance(version, str) and _DISCLOSURE_VERSION.match(version) else ""
    )
    return RegistrationRequest(
        phone_number=phone,
        country=country,
        **values,
        consent=consent is True,
        form_disclosure_version=form_version,
    )


def _phone_field(document: Mapping[str, Any]) -> str:
    """``phoneNumber``, or the seed form's ``destinationNumber``, accepted unchanged."""
    values = {
        name: document[name]
        for name in ("phoneNumber", "destinationNumber")
        if document.get(name) not in (None, "")
    }
    for name, value in values.items():
        if not isinstance(value, str):
            raise InvalidField(f"{name} must be a string.", name)
    if not values or not any(value.strip() for value in values.values()):
        raise MissingField("Enter your mobile phone number.", "phoneNumber")
    distinct = {value.strip() for value in values.values()}
    if len(distinct) > 1:
        raise InvalidField("phoneNumber and destinationNumber disagree.", "phoneNumber")
    return distinct.pop()


def _field(document: Mapping[str, Any], field: SubscriberField) -> str:
    """One declared field: NFC text within its length, no invisible characters; a name has
    at least one letter (category L*)."""
    name, label = field.key, field.label
    value = document.get(name)
    if value is None:
        if field.required:
            raise MissingField(f"{label} is required.", name)
        return ""
    if not isinstance(value, str):
        raise InvalidField(f"{label} must be text.", name)
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        if field.required:
            raise MissingField(f"{label} is required.", name)
        return ""
    if len(text) > field.max_length:
        raise InvalidField(f"{label} must be at most {field.max_length} characters.", name)
    if any(_refused(text, index) for index in range(len(text))):
        raise InvalidField(f"{label} contains invisible or control characters.", name)
    if field.kind is FieldKind.NAME and not any(
        unicodedata.category(c).startswith("L") for c in text
    ):
        raise InvalidField(f"{label} must contain a letter.", name)
    return text


def _refused(text: str, index: int) -> bool:
    character = text[index]
    if character in _BLANKS:
        return True
    if unicodedata.category(character) not in _REFUSED_CATEGORIES:
        return False
    if character in _JOINERS and 0 < index < len(text) - 1:
        return not (_letter_or_mark(text[index - 1]) and _letter_or_mark(text[index + 1]))
    return True


def _letter_or_mark(character: str) -> bool:
    return unicodedata.category(character)[0] in "LM"


def _country(value: Any, default: str, allowed: tuple[str, ...]) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2}", value.strip()):
        raise InvalidField("country must be a two-letter ISO 3166-1 code.", "country")
    code = value.strip().upper()
    if code not in allowed:
        raise UnsupportedCountry("We can't send text messages to this country.", "country")
    return code
