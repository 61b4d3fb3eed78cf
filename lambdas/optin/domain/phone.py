"""Phone number rules: normalisation to E.164, allowed countries, offline number facts, masking.

phonenumbers is imported where a number is parsed, not with this module: the inbound
function only masks numbers and compares them, and its cold start saves the ~25 ms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from optin.domain.errors import InvalidPhoneNumber, UnsupportedCountry

MAX_INPUT_LENGTH = 32
_ALLOWED_INPUT = re.compile(r"^[0-9+()\-. ]+$")
_E164_IN_TEXT = re.compile(r"\+\d{7,15}")

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
        # Numbers no person carries a handset on: refused like an invalid number.
        PhoneNumberType.TOLL_FREE: INVALID,
        PhoneNumberType.PREMIUM_RATE: INVALID,
        PhoneNumberType.SHARED_COST: INVALID,
        PhoneNumberType.UAN: INVALID,
        PhoneNumberType.VOICEMAIL: INVALID,
        PhoneNumberType.PAGER: INVALID,
    }


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

    text = raw.strip()
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


def offline_facts(e164: str) -> NumberFacts:
    """Number type and timezone from phonenumbers metadata alone (no paid call)."""
    import phonenumbers
    from phonenumbers import timezone

    parsed = phonenumbers.parse(e164)
    number_type = _offline_types().get(phonenumbers.number_type(parsed), OTHER)

    zones = [zone for zone in timezone.time_zones_for_number(parsed) if zone != "Etc/Unknown"]
    return NumberFacts(number_type=number_type, timezone=zones[0] if len(zones) == 1 else "")


def mask(e164: str) -> str:
    """``+12065550142`` -> ``+1******0142``: enough to follow a number, not to dial it."""
    if len(e164) <= 6:
        return "*" * len(e164)
    return e164[:2] + "*" * (len(e164) - 6) + e164[-4:]


def mask_in_text(text: str) -> str:
    """Mask every E.164-looking number inside free text (a safety net for log lines)."""
    return _E164_IN_TEXT.sub(lambda match: mask(match.group(0)), text)


class OfflineLookup:
    """NumberLookup from phonenumbers metadata: no paid call (``numberLookup=offline``)."""

    def lookup(self, phone_number: str) -> NumberFacts:
        return offline_facts(phone_number)
