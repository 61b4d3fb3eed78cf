"""Phone number rules: normalisation to E.164, allowed countries, offline number facts, masking.

phonenumbers is imported where a number is parsed, not with this module: the inbound
function only masks numbers and compares them, and its cold start saves the ~25 ms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from optin.domain.errors import InvalidPhoneNumber, UnsupportedCountry

MAX_INPUT_LENGTH = 32
# Longer than this, an input is refused as typed: no padding of invisible marks hides a
# long one, and normalising it costs nothing.
MAX_RAW_INPUT_LENGTH = 4 * MAX_INPUT_LENGTH
_ALLOWED_INPUT = re.compile(r"^[0-9+()\-. ]+$")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"), "-")
# A number in free text: seven or more digits, maybe after a "+", with separators between
# them ("206-555-0177", "(206) 555 0177", "206.555.0177"). Left alone: an ISO date, and
# digits glued to a word or to a hyphenated word (a request id "12345678-9abc-...").
_SEPARATED_DIGITS = r"\d(?:[ .()\-]{0,3}\d){6,}"
_NUMBER_IN_TEXT = re.compile(
    rf"(?P<date>(?<!\d)\d{{4}}-\d{{2}}-\d{{2}}(?!\d))"
    rf"|(?P<number>\+{_SEPARATED_DIGITS}"
    rf"|(?<!\w)(?<!\w-)\(?{_SEPARATED_DIGITS}(?!\w)(?!-\w))"
)

# Number types in the vocabulary of End User Messaging's CarrierLookup.
MOBILE, LANDLINE, VOIP, PREPAID, OTHER, INVALID = (
    "MOBILE", "LANDLINE", "VOIP", "PREPAID", "OTHER", "INVALID",
)  # fmt: skip


@cache
def _offline_types() -> dict[Any, str]:
    from phonenumbers import PhoneNumberType

    return {
        PhoneNumberType.MOBILE: MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE: MOBILE,
        PhoneNumberType.FIXED_LINE: LANDLINE,
        PhoneNumberType.VOIP: VOIP,
    }  # Any other type (toll-free, premium, personal, pager, unknown...) is INVALID.


@dataclass(frozen=True)
class PhoneNumber:
    e164: str
    country: str


@dataclass(frozen=True)
class NumberFacts:
    """What a lookup tells about a number (carrier lookup or offline metadata)."""

    number_type: str
    carrier: str = ""
    timezone: str = ""


def normalise(raw: str, country: str, allowed_countries: tuple[str, ...]) -> PhoneNumber:
    """Parse E.164 or national digits (with ``country``) into a valid, allowed E.164 number.

    Raises InvalidPhoneNumber or UnsupportedCountry; never anything else.
    """
    import phonenumbers

    text = pasted_number(raw) if len(raw) <= MAX_RAW_INPUT_LENGTH else raw
    if not text or len(text) > MAX_INPUT_LENGTH or not _ALLOWED_INPUT.match(text):
        raise InvalidPhoneNumber("Enter a phone number using digits only.", "phoneNumber")
    try:
        parsed = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("This is not a valid phone number.", "phoneNumber") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("This is not a valid phone number.", "phoneNumber")
    region = phonenumbers.region_code_for_number(parsed) or ""
    if region not in allowed_countries:
        raise UnsupportedCountry(
            "We can't send text messages to numbers in this country.", "phoneNumber"
        )
    return PhoneNumber(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        country=region,
    )


def pasted_number(raw: str) -> str:
    """A number as pasted, with what contacts, web pages and keyboards add normalised away.

    NFKC turns full-width digits and plus into ASCII and non-breaking spaces into spaces;
    invisible format characters (U+202C/U+202D from contacts, U+200B, bidi marks) are
    dropped; every dash is a hyphen and every space a plain space.
    """
    text = unicodedata.normalize("NFKC", raw).translate(_DASHES)
    kept = (" " if _is_space(c) else c for c in text if unicodedata.category(c) != "Cf")
    return "".join(kept).strip(" ")


def _is_space(char: str) -> bool:
    """A space as the web form's check sees one (JavaScript's ``\\s``)."""
    return char in "\t\n\v\f\r\u2028\u2029" or unicodedata.category(char) == "Zs"


def offline_facts(e164: str) -> NumberFacts:
    """Number type and timezone from phonenumbers metadata alone (no paid call)."""
    import phonenumbers
    from phonenumbers import timezone

    parsed = phonenumbers.parse(e164)
    # Offline metadata cannot vouch for a handset behind a personal, non-geographic or
    # unknown number: refused like an invalid number (a carrier lookup may know better).
    number_type = _offline_types().get(phonenumbers.number_type(parsed), INVALID)

    zones = [zone for zone in timezone.time_zones_for_number(parsed) if zone != "Etc/Unknown"]
    return NumberFacts(number_type=number_type, timezone=zones[0] if len(zones) == 1 else "")


def mask(e164: str) -> str:
    """``+12065550142`` -> ``+1******0142``: enough to follow a number, not to dial it."""
    if len(e164) <= 6:
        return "*" * len(e164)
    return e164[:2] + "*" * (len(e164) - 6) + e164[-4:]


def mask_in_text(text: str) -> str:
    """Mask every phone-number-looking run of digits in free text (a safety net for logs).

    ``+12065550142`` reads ``+1******0142`` as with ``mask``; ``(206) 555-0177`` reads
    ``(***) ***-0177``: separators stay, every digit but the last four (and the country
    code's first digit after a ``+``) is hidden.
    """
    return _NUMBER_IN_TEXT.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    if match.group("date"):
        return found
    positions = [index for index, char in enumerate(found) if char.isdigit()]
    shown = set(positions[-4:])
    if found.startswith("+"):
        shown.add(positions[0])
    return "".join(
        "*" if char.isdigit() and index not in shown else char for index, char in enumerate(found)
    )


class OfflineLookup:
    """NumberLookup from phonenumbers metadata: no paid call (``numberLookup=offline``)."""

    def lookup(self, phone_number: str) -> NumberFacts:
        return offline_facts(phone_number)
