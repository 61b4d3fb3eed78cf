"""Message parts, counted as carriers count them (GSM-7 160/153, UCS-2 70/67)."""

from __future__ import annotations

import pytest

from optin.domain.language.messages import Branding, Template, Texts
from optin.domain.sending.parts import Encoding, count_parts


@pytest.mark.parametrize(
    ("text", "encoding", "units", "count"),
    [
        ("", Encoding.GSM7, 0, 1),
        ("a" * 160, Encoding.GSM7, 160, 1),
        ("a" * 161, Encoding.GSM7, 161, 2),
        ("a" * 306, Encoding.GSM7, 306, 2),
        ("a" * 307, Encoding.GSM7, 307, 3),
        ("a" * 459, Encoding.GSM7, 459, 3),
        ("a" * 460, Encoding.GSM7, 460, 4),
        # The extension table takes two septets each.
        ("€" * 80, Encoding.GSM7, 160, 1),
        ("€" * 81, Encoding.GSM7, 162, 2),
        ("[]{}" + "a" * 152, Encoding.GSM7, 160, 1),
        # GSM's own accented letters stay GSM-7...
        ("é" * 160, Encoding.GSM7, 160, 1),
        ("Ñ¿¡ß" * 40, Encoding.GSM7, 160, 1),
        # ...any other character makes the whole text UCS-2.
        ("ê" + "a" * 69, Encoding.UCS2, 70, 1),
        ("ê" + "a" * 70, Encoding.UCS2, 71, 2),
        ("ê" * 134, Encoding.UCS2, 134, 2),
        ("ê" * 135, Encoding.UCS2, 135, 3),
        ("’" + "a" * 69, Encoding.UCS2, 70, 1),  # a typographic apostrophe is not GSM
        # An emoji is two UTF-16 code units.
        ("🛑" * 35, Encoding.UCS2, 70, 1),
        ("🛑" * 36, Encoding.UCS2, 72, 2),
    ],
)
def test_parts(text: str, encoding: Encoding, units: int, count: int) -> None:
    parts = count_parts(text)
    assert (parts.encoding, parts.units, parts.count) == (encoding, units, count)


def test_an_escape_pair_is_never_split_between_parts() -> None:
    # 152 septets then a two-septet character: it cannot start at septet 153 of part one.
    assert count_parts("a" * 152 + "€" + "a" * 152).count == 3
    assert count_parts("a" * 151 + "€" + "a" * 153).count == 2


def test_a_surrogate_pair_is_never_split_between_parts() -> None:
    # 66 units then an emoji: the pair moves whole to part two.
    assert count_parts("ê" * 66 + "🛑" + "ê" * 66).count == 3
    assert count_parts("ê" * 65 + "🛑" + "ê" * 67).count == 2


def test_the_default_confirmation_is_two_gsm_parts() -> None:
    texts = Texts(
        Branding(
            brand="Example Co",
            program="delivery alerts",
            frequency="Up to 4 msgs/month",
            terms="https://example.com/sms-terms",
            privacy="https://example.com/privacy",
            help="support@example.com",
        )
    )
    body = texts.render(Template.CONFIRMATION)
    assert 160 < len(body) <= 306
    assert count_parts(body).encoding is Encoding.GSM7
    assert count_parts(body).count == 2
