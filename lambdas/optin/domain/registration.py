"""The registration request: what the form may send and how each field is checked (SPEC §4)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from optin.domain.errors import (
    ConsentRequired,
    InvalidField,
    InvalidJson,
    MissingField,
    PayloadTooLarge,
    UnsupportedCountry,
    UnsupportedMediaType,
)

MAX_BODY_BYTES = 4096
MAX_NAME_LENGTH = 100
MAX_SOURCE_LENGTH = 200
_DISCLOSURE_VERSION = re.compile(r"^d-[0-9a-f]{12}$")
# Bidirectional overrides and isolates: invisible, and used to disguise text.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


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
    body: str | None,
    content_type: str | None,
    *,
    is_base64: bool = False,
    default_country: str,
    allowed_countries: tuple[str, ...],
    require_consent: bool,
) -> RegistrationRequest:
    """Check the raw request; raise the RegistrationError of the first problem found."""
    raw = _body_bytes(body, is_base64)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body must be at most {MAX_BODY_BYTES} bytes.")
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("Send the form as Content-Type: application/json.")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InvalidJson("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise InvalidJson("The request body must be a JSON object.")
    return _fields(document, default_country, allowed_countries, require_consent)


def _body_bytes(body: str | None, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not is_base64:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidJson("The request body is not valid JSON.") from None


def _fields(
    document: dict[str, Any],
    default_country: str,
    allowed_countries: tuple[str, ...],
    require_consent: bool,
) -> RegistrationRequest:
    phone = _phone_field(document)
    first_name = _text(document, "firstName", MAX_NAME_LENGTH, required=True)
    last_name = _text(document, "lastName", MAX_NAME_LENGTH, required=True)
    country = _country(document.get("country"), default_country, allowed_countries)
    source = _text(document, "source", MAX_SOURCE_LENGTH, required=False)
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
        first_name=first_name,
        last_name=last_name,
        source=source,
        consent=consent is True,
        form_disclosure_version=form_version,
    )


def _phone_field(document: dict[str, Any]) -> str:
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


def _text(document: dict[str, Any], name: str, limit: int, *, required: bool) -> str:
    value = document.get(name)
    if value is None:
        if required:
            raise MissingField(f"{_label(name)} is required.", name)
        return ""
    if not isinstance(value, str):
        raise InvalidField(f"{_label(name)} must be text.", name)
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        if required:
            raise MissingField(f"{_label(name)} is required.", name)
        return ""
    if len(text) > limit:
        raise InvalidField(f"{_label(name)} must be at most {limit} characters.", name)
    if any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in text):
        raise InvalidField(f"{_label(name)} contains control characters.", name)
    return text


def _label(name: str) -> str:
    return {"firstName": "First name", "lastName": "Last name", "source": "source"}.get(name, name)


def _country(value: Any, default: str, allowed: tuple[str, ...]) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2}", value.strip()):
        raise InvalidField("country must be a two-letter ISO 3166-1 code.", "country")
    code = value.strip().upper()
    if code not in allowed:
        raise UnsupportedCountry("We can't send text messages to this country.", "country")
    return code
