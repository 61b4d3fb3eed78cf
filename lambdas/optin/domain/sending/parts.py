"""How many message parts a text takes, counted as carriers count them.

A text that fits the GSM 03.38 alphabet is sent in GSM-7: 160 septets in one part, or
parts of 153 septets once it needs several (each part carries a 7-septet header). A
character of the extension table (``€``, ``[``, ``{``...) takes two septets, an escape and
the character, and the pair is never split between parts. Any other character makes the
whole text UCS-2: 70 UTF-16 code units in one part, 67 per part otherwise, and a surrogate
pair (an emoji) is never split either. Pacing counts parts, since a phone number's
throughput is in message parts per second.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# GSM 03.38 basic character set (the escape code itself excluded).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each one is sent as an escape followed by the character.
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_MULTI = 160, 153  # septets per part
UCS2_SINGLE, UCS2_MULTI = 70, 67  # UTF-16 code units per part


class Encoding(enum.StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class Parts:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int  # message parts the carrier bills and the pace counts


def encoding_of(text: str) -> Encoding:
    if all(char in _GSM_BASIC or char in _GSM_EXTENSION for char in text):
        return Encoding.GSM7
    return Encoding.UCS2


def count_parts(text: str) -> Parts:
    """The encoding, its length in units, and how many parts ``text`` is sent in (an
    empty text is still one part)."""
    encoding = encoding_of(text)
    if encoding is Encoding.GSM7:
        sizes = [2 if char in _GSM_EXTENSION else 1 for char in text]
        single, multi = GSM_SINGLE, GSM_MULTI
    else:
        sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]
        single, multi = UCS2_SINGLE, UCS2_MULTI
    units = sum(sizes)
    if units <= single:
        return Parts(encoding, units, 1)
    return Parts(encoding, units, _segments(sizes, multi))


def _segments(sizes: list[int], per_part: int) -> int:
    """Parts needed when each character of ``sizes`` units stays whole in one part."""
    parts, used = 1, 0
    for size in sizes:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts
