import pytest

from optin.domain.errors import InvalidPhoneNumber, UnsupportedCountry
from optin.domain.subscribers.phone import (
    INVALID,
    LANDLINE,
    MOBILE,
    mask,
    mask_in_text,
    normalise,
    offline_facts,
)

ALLOWED = ("US", "CA")


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("2065550142", "US", "+12065550142"),
        ("(206) 555-0142", "US", "+12065550142"),
        ("+1 206 555 0142", "US", "+12065550142"),
        ("+12065550142", "CA", "+12065550142"),
        ("416-555-0142", "CA", "+14165550142"),
    ],
)
def test_normalise_to_e164(raw, country, e164):
    assert normalise(raw, country, ALLOWED).e164 == e164


@pytest.mark.parametrize("raw", ["", "12", "abc", "206555014212345678", "+1206555014<", "1" * 40])
def test_invalid_numbers(raw):
    with pytest.raises(InvalidPhoneNumber):
        normalise(raw, "US", ALLOWED)


def test_numbers_outside_allowed_countries():
    with pytest.raises(UnsupportedCountry):
        normalise("+447911123456", "US", ALLOWED)


def test_country_of_the_number_not_of_the_form():
    assert normalise("+14165550142", "US", ALLOWED).country == "CA"


def test_offline_facts_type_and_timezone():
    facts = offline_facts("+12065550142")
    assert facts.number_type == MOBILE
    assert facts.timezone == "America/Los_Angeles"
    assert offline_facts("+442079460123").number_type == LANDLINE
    assert offline_facts("+18005550199").number_type == INVALID  # toll-free: no handset


def test_mask_keeps_country_prefix_and_last_four():
    assert mask("+12065550142") == "+1******0142"
    assert mask_in_text("to +12065550142 and +447700900123.") == (
        "to +1******0142 and +4*******0123."
    )
