"""Keyword matching for inbound replies (SPEC section 3).

Normalise (NFKC, case-fold, trim), take the first word with its punctuation stripped,
and compare whole words: "Yes!" and " yes please" confirm, "yesterday" and "eyes" never do.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable

OPT_OUT_WORDS = frozenset(
    word.casefold()
    for word in (
        "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
        "REMOVE", "REVOKE", "OPTOUT", "OPT-OUT", "ARRET", "TD",
    )
)  # fmt: skip
HELP_WORDS = frozenset(word.casefold() for word in ("HELP", "INFO", "AIDE"))
OPT_IN_WORDS = frozenset(word.casefold() for word in ("START", "UNSTOP"))


class Keyword(enum.Enum):
    CONFIRM = "CONFIRM"
    OPT_IN = "OPT_IN"
    OPT_OUT = "OPT_OUT"
    HELP = "HELP"
    UNMATCHED = "UNMATCHED"


def _strip_punctuation(word: str) -> str:
    """Drop punctuation and symbols at both ends; keep inner hyphens (OPT-OUT)."""
    start, end = 0, len(word)
    while start < end and not unicodedata.category(word[start]).startswith(("L", "N")):
        start += 1
    while end > start and not unicodedata.category(word[end - 1]).startswith(("L", "N")):
        end -= 1
    return word[start:end]


def normalise_keyword(body: str) -> str:
    """The first word of a message, normalised for comparison ('' when there is none)."""
    words = unicodedata.normalize("NFKC", body).casefold().split()
    for word in words:
        stripped = _strip_punctuation(word)
        if stripped:
            return stripped
    return ""


def classify(body: str, confirm_keywords: Iterable[str]) -> Keyword:
    word = normalise_keyword(body)
    if not word:
        return Keyword.UNMATCHED
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if word in HELP_WORDS:
        return Keyword.HELP
    if word in {keyword.casefold() for keyword in confirm_keywords}:
        return Keyword.CONFIRM
    if word in OPT_IN_WORDS:
        return Keyword.OPT_IN
    return Keyword.UNMATCHED
