"""A broadcast's text: placeholders (and the tutorial's alias), the opt-out footer, and the
worst-case part count with the send queue's own counter."""

from __future__ import annotations

import pytest

from optin.domain.broadcasts.text import (
    FOOTER,
    BroadcastTextError,
    canonical,
    check,
    cut,
    preview,
    render,
    with_footer,
    worst_parts,
)
from optin.domain.sending.parts import Encoding, count_parts

BRAND = "ExampleCorp"


def test_placeholders_are_filled_per_recipient() -> None:
    template = canonical("Hi {{firstName}} {{lastName}}, {{brandName}} sale today")
    assert (
        render(template, first_name="Ana", last_name="Lima", brand=BRAND)
        == "Hi Ana Lima, ExampleCorp sale today"
    )


def test_the_tutorial_attribute_is_the_first_name() -> None:
    template = canonical("Hello {{User.UserAttributes.FirstName}}!")
    assert template == "Hello {{firstName}}!"
    assert render(template, first_name="Zoë", last_name="", brand=BRAND) == "Hello Zoë!"


def test_spaces_inside_the_braces_are_allowed() -> None:
    assert canonical("Hi {{ firstName }}") == "Hi {{firstName}}"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Hi {{FirstName}}", "{{FirstName}}"),
        ("Hi {{phoneNumber}}", "{{phoneNumber}}"),
        ("Hi {{User.UserAttributes.LastName}}", "{{User.UserAttributes.LastName}}"),
        ("Hi {{}}", "{{}}"),
    ],
)
def test_an_unknown_placeholder_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(BroadcastTextError) as refused:
        check(text, brand=BRAND, max_parts=3)
    assert refused.value.code == "UNKNOWN_PLACEHOLDER"
    assert named in refused.value.message


@pytest.mark.parametrize("text", ["Hi {{firstName", "Hi firstName}} there", "{{{firstName}}}"])
def test_a_brace_pair_left_open_is_refused(text: str) -> None:
    with pytest.raises(BroadcastTextError):
        check(text, brand=BRAND, max_parts=3)


def test_the_footer_is_appended() -> None:
    assert with_footer("Sale today") == f"Sale today. {FOOTER}"
    assert with_footer("Sale today!  ") == f"Sale today! {FOOTER}"


@pytest.mark.parametrize(
    "text",
    [
        "Sale today. Reply STOP to opt out",
        "Sale today, reply stop to end",
        "Sale today. Text STOP to quit",
        "Sale today. STOP to cancel",
    ],
)
def test_a_text_that_says_how_to_leave_gets_no_second_footer(text: str) -> None:
    assert with_footer(text) == text


def test_a_stop_that_is_not_an_instruction_still_gets_the_footer() -> None:
    assert with_footer("Don't stop now") == f"Don't stop now. {FOOTER}"


def test_check_stores_the_canonical_text_with_its_footer() -> None:
    checked = check("Hi {{User.UserAttributes.FirstName}}, sale today", brand=BRAND, max_parts=5)
    assert checked.template == f"Hi {{{{firstName}}}}, sale today. {FOOTER}"
    assert checked.encoding is Encoding.GSM7


def test_a_text_without_names_counts_as_it_is() -> None:
    text = "a" * (160 - len(FOOTER) - 2)
    checked = check(text, brand=BRAND, max_parts=1)
    assert checked.parts == 1 == count_parts(checked.template).count


def test_the_part_count_is_the_worst_case_of_the_names() -> None:
    # 40 characters plus a name: a short name fits one part, the longest name does not.
    template = canonical(with_footer("Hi {{firstName}}, " + "a" * 10))
    assert count_parts(preview(template, BRAND)).count == 1
    # 20 characters of two UTF-16 units each force UCS-2: 80 units, two parts.
    worst = render(template, first_name="\U0001f600" * 20, last_name="", brand=BRAND)
    assert worst_parts(template, BRAND) == count_parts(worst).count == 2
    # Uncut, a 100-character name takes 200 units: 4 parts with the rest.
    assert worst_parts(template, BRAND, name_characters=100) == 4


def test_more_parts_than_allowed_is_refused() -> None:
    with pytest.raises(BroadcastTextError) as refused:
        check("a" * 400, brand=BRAND, max_parts=2)
    assert refused.value.code == "TOO_MANY_PARTS"


def test_names_are_cut_so_a_personalised_text_fits_the_default_parts() -> None:
    """Names cut to 20 characters: a greeting with both names takes at worst 80 UTF-16
    units for them, so a text of about 100 more characters still fits 3 UCS-2 parts. Uncut
    (100 characters), one name alone is 200 units and any text with it is over 3 parts."""
    assert check("Hi {{firstName}} {{lastName}}", brand=BRAND, max_parts=3).parts == 2
    assert check("Hi {{firstName}}, " + "s" * 100, brand=BRAND, max_parts=3).parts == 3
    with pytest.raises(BroadcastTextError) as refused:
        check("Hi {{firstName}}", brand=BRAND, max_parts=3, name_characters=100)
    assert refused.value.code == "TOO_MANY_PARTS"
    assert check("Hi {{firstName}}", brand=BRAND, max_parts=4, name_characters=100).parts == 4


def test_a_long_name_is_cut_and_a_short_one_is_kept() -> None:
    template = canonical("Hi {{firstName}} {{lastName}}")
    rendered = render(
        template,
        first_name="Maximiliana Alexandra Josephine",
        last_name="Lima",
        brand=BRAND,
        name_characters=12,
    )
    # Cut to 12 characters, and the space the cut ends on dropped.
    assert rendered == "Hi Maximiliana Lima"
    assert cut("Ana", 1) == "A"
    assert cut("Ana", 3) == "Ana"


def test_a_message_never_takes_more_parts_than_its_worst_case() -> None:
    """Whatever the names, the text a subscriber gets is within the checked worst case."""
    checked = check(
        "Hi {{firstName}} {{lastName}}, sale at {{brandName}}", brand=BRAND, max_parts=3
    )
    for name in ("Ana", "Zoë" * 30, "\U0001f600" * 50, "€" * 40, "李" * 99):
        body = render(checked.template, first_name=name, last_name=name, brand=BRAND)
        assert count_parts(body).count <= checked.parts


def test_a_text_outside_gsm_is_ucs2() -> None:
    checked = check("Soldes ! Ça commence 🎉", brand=BRAND, max_parts=3)
    assert checked.encoding is Encoding.UCS2


def test_an_empty_text_is_refused() -> None:
    with pytest.raises(BroadcastTextError) as refused:
        check("   ", brand=BRAND, max_parts=3)
    assert refused.value.code == "MISSING_FIELD"


@pytest.mark.parametrize("text", ["Sale \ud800 today", "Sale\x00today", "Sale\x1btoday"])
def test_a_character_no_sms_can_carry_is_refused(text: str) -> None:
    with pytest.raises(BroadcastTextError) as refused:
        check(text, brand=BRAND, max_parts=3)
    assert refused.value.code == "INVALID_FIELD"
