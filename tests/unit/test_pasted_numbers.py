"""Numbers as people paste them: invisible marks, odd spaces and dashes, full-width digits."""

import contextlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optin.domain.errors import InvalidPhoneNumber, UnsupportedCountry
from optin.domain.subscribers.phone import INVALID, MOBILE, mask_in_text, normalise, offline_facts

ALLOWED = ("US", "CA")


@pytest.mark.parametrize(
    "raw",
    [
        "\u202d+1 (206) 555\u20110142\u202c",  # from a phone's contacts
        "+1\u00a0206\u00a0555\u00a00142",  # non-breaking spaces from a web page
        "+1\u202f206\u202f555\u202f0142",  # narrow non-breaking spaces
        "206\u2011555\u20110142",  # non-breaking hyphens from a word processor
        "206\u2010555\u20100142",
        "206\u2012555\u20130142",
        "206\u2014555\u20150142",
        "206\u2212555\u22120142",
        "\uff0b\uff11\uff12\uff10\uff16\uff15\uff15\uff15\uff10\uff11\uff14\uff12",  # full-width
        "\u200b2065550142\u200b",
        "\ufeff+12065550142",
        "\u200e+1 206 555 0142\u200f",
        "\u2066(206) 555-0142\u2069",
        "206\u3000555\u30000142",
    ],
)
def test_pasted_numbers_are_normalised(raw):
    assert normalise(raw, "US", ALLOWED).e164 == "+12065550142"


@pytest.mark.parametrize(
    "raw",
    ["206-555-O142", "206 555 0142 x", "+1 206 555 0142#", "２０６５５５０１４２ａ", "\ud800"],
)
def test_letters_and_junk_are_still_refused_as_before(raw):
    with pytest.raises(InvalidPhoneNumber, match="digits only"):
        normalise(raw, "US", ALLOWED)


def test_invisible_padding_does_not_make_a_long_input_acceptable():
    with pytest.raises(InvalidPhoneNumber):
        normalise("\u200b" * 5000 + "2065550142", "US", ALLOWED)


def test_offline_lookup_refuses_numbers_no_handset_carries():
    assert offline_facts("+15005550123").number_type == INVALID  # a personal number
    assert offline_facts("+12065550142").number_type == MOBILE  # fixed line or mobile


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call 206-555-0177 now", "call ***-***-0177 now"),
        ("call (206) 555 0177 now", "call (***) *** 0177 now"),
        ("call 206.555.0177 now", "call ***.***.0177 now"),
        ("number 2065550177.", "number ******0177."),
        ("555 0177", "*** 0177"),
        ("+1 206 555 0177", "+1 *** *** 0177"),
        ("--206-555-0177--", "--***-***-0177--"),
        ("at 1.2065550177", "at *.******0177"),
        ("２０６５５５０１７７", "******０１７７"),
        ("to +12065550142 and +447700900123.", "to +1******0142 and +4*******0123."),
    ],
)
def test_national_formats_are_masked(text, masked):
    assert mask_in_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "at 2026-11-24T09:18:50Z",
        '"timestamp": "2026-11-24 09:18:50,123+0000"',
        "xray 1-5759e988-bd862e3fe1be46a994272793",
        "request 1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "request 12345678-2fa1-11d2-8830-123456789012",
        "took 123.45 ms",
        "id 123456",
        "v1.2.3",
        "12:30",
    ],
)
def test_short_runs_and_timestamps_are_left_alone(text):
    assert mask_in_text(text) == text


FORMATS = (
    lambda d: f"+1{d}",
    lambda d: f"+1 {d[:3]} {d[3:6]} {d[6:]}",
    lambda d: f"({d[:3]}) {d[3:6]}-{d[6:]}",
    lambda d: f"{d[:3]}-{d[3:6]}-{d[6:]}",
    lambda d: f"{d[:3]}.{d[3:6]}.{d[6:]}",
    lambda d: d,
)


words_without_digits = st.text(st.characters(exclude_categories=["Nd"]), max_size=20)


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(r"[2-9]\d\d[2-9]\d{6}", fullmatch=True),
    st.sampled_from(FORMATS),
    words_without_digits,
    words_without_digits,
)
def test_a_number_between_words_never_survives_masking(digits, spelled, before, after):
    number = spelled(digits)

    masked = mask_in_text(f"{before} {number} {after}")

    assert number not in masked
    assert digits[:6] not in re.sub(r"\D", "", masked)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, categories=None), max_size=40))
def test_normalise_refuses_any_text_with_its_own_errors(raw):
    with contextlib.suppress(InvalidPhoneNumber, UnsupportedCountry):
        assert normalise(raw, "US", ALLOWED).e164.startswith("+1")
