"""Keyword matching for inbound replies: opting out is easy, confirming is strict.

Every reply is normalised first (``normalise_reply``): NFKC, case-fold, accents dropped
(``Arrêt`` is ``arret``), invisible format characters dropped, and any code point that
cannot be encoded (an unpaired surrogate) replaced with U+FFFD, so no reply can raise.

- Opt-out: any whole word of the reply is an opt-out word ("please stop", "I said STOP",
  "yes stop"), or the reply says "opt out" or "stop all".
- Help: the first word is a help word, and no opt-out word is present.
- Confirm: the first word, punctuation stripped at its ends, is a confirm keyword, and no
  opt-out word is present: "Yes!" and " yes please" confirm; "yesterday", "eyes" and
  "I said yes" never do.
- Opt back in: START or UNSTOP as the first word, and no opt-out word.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable

OPT_OUT_WORDS = frozenset(
    word.casefold()
    for word in (
        "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
        "REMOVE", "REVOKE", "OPTOUT", "OPT-OUT", "ARRET", "TD",
    )
)  # fmt: skip
OPT_OUT_PHRASES = ("opt out", "stop all")
HELP_WORDS = frozenset(word.casefold() for word in ("HELP", "INFO", "AIDE"))
OPT_IN_WORDS = frozenset(word.casefold() for word in ("START", "UNSTOP"))

# The phone number's own keywords: when a reply is exactly one of them, End User Messaging
# answers it itself (with the ``help`` and ``stop`` texts the stack gives the number), so
# the function does not answer again. HELP and STOP are the mandatory keywords of every
# number type. On some types the platform also honours more opt-out words (ARRET, CANCEL,
# END, OPT-OUT, OPTOUT, QUIT, REMOVE, TD, UNSUBSCRIBE on long codes and 10DLC), but a US
# toll-free number knows only STOP. Counting STOP alone leaves nobody without a
# confirmation; where the platform answered another word and has already listed the
# number, the function's confirmation is refused by the platform and not sent.
PLATFORM_HELP_KEYWORDS = ("HELP",)
PLATFORM_OPT_OUT_KEYWORDS = ("STOP",)

# Letters and digits; anything else (spaces, punctuation, symbols, emoji) separates words.
_WORD = re.compile(r"[^\W_]+")
_DROPPED_CATEGORIES = frozenset(("Cf", "Mn"))  # invisible format characters; accents


class Keyword(enum.Enum):
    CONFIRM = "CONFIRM"
    OPT_IN = "OPT_IN"
    OPT_OUT = "OPT_OUT"
    HELP = "HELP"
    UNMATCHED = "UNMATCHED"


def encodable(text: str) -> str:
    """``text`` with surrogate pairs joined and every unpaired surrogate as U+FFFD: what
    remains can be encoded as UTF-8 (stored, logged, hashed) whatever arrived."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def normalise_reply(body: str) -> str:
    """The comparison form of a reply: NFKC, case-folded, no accents, no invisible marks."""
    text = unicodedata.normalize("NFKC", encodable(body)).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    return unicodedata.normalize("NFKC", kept)


def _strip_punctuation(word: str) -> str:
    """Drop punctuation and symbols at both ends; keep inner hyphens (OPT-OUT)."""
    start, end = 0, len(word)
    while start < end and not unicodedata.category(word[start]).startswith(("L", "N")):
        start += 1
    while end > start and not unicodedata.category(word[end - 1]).startswith(("L", "N")):
        end -= 1
    return word[start:end]


def _first_word(text: str) -> str:
    for word in text.split():
        stripped = _strip_punctuation(word)
        if stripped:
            return stripped
    return ""


def normalise_keyword(body: str) -> str:
    """The first word of a message, NFKC and case-folded ('' when there is none).

    Accents are kept: settings compare it with the configured keyword as typed.
    """
    return _first_word(unicodedata.normalize("NFKC", encodable(body)).casefold())


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text))


def _contains(words: tuple[str, ...], sequence: tuple[str, ...]) -> bool:
    size = len(sequence)
    return size > 0 and any(
        words[index : index + size] == sequence for index in range(len(words) - size + 1)
    )


def _opt_out_sequences(spelled: Iterable[str]) -> frozenset[tuple[str, ...]]:
    """Opt-out words and phrases as runs of words ("opt-out" is "opt", "out")."""
    return frozenset(words for words in map(_words, map(normalise_reply, spelled)) if words)


_DEFAULT_OPT_OUT = _opt_out_sequences([*OPT_OUT_WORDS, *OPT_OUT_PHRASES])


def _asks_to_opt_out(words: tuple[str, ...], sequences: frozenset[tuple[str, ...]]) -> bool:
    return any(_contains(words, sequence) for sequence in sequences)


def has_opt_out_word(body: str, opt_out_words: Iterable[str] = ()) -> bool:
    """Whether any whole word (or run of words) of the reply asks to opt out."""
    sequences = _DEFAULT_OPT_OUT | _opt_out_sequences(opt_out_words)
    return _asks_to_opt_out(_words(normalise_reply(body)), sequences)


def classify(
    body: str, confirm_keywords: Iterable[str], *, opt_out_words: Iterable[str] = ()
) -> Keyword:
    """What a reply asks for; ``opt_out_words`` adds configured opt-out words or phrases."""
    text = normalise_reply(body)
    if _asks_to_opt_out(_words(text), _DEFAULT_OPT_OUT | _opt_out_sequences(opt_out_words)):
        return Keyword.OPT_OUT
    word = _first_word(text)
    if not word:
        return Keyword.UNMATCHED
    if word in HELP_WORDS:
        return Keyword.HELP
    if word in {_first_word(normalise_reply(keyword)) for keyword in confirm_keywords}:
        return Keyword.CONFIRM
    if word in OPT_IN_WORDS:
        return Keyword.OPT_IN
    return Keyword.UNMATCHED


def is_exact_keyword(body: str, words: Iterable[str]) -> bool:
    """Whether the whole reply is exactly one of ``words`` (case and surrounding spaces aside).

    This is how the platform matches a phone number's own keywords, so it tells whether the
    platform already answered the reply. Deliberately literal (no NFKC, no accent or
    invisible-character removal): when in doubt the platform did not answer, and our own
    answer is sent.
    """
    text = encodable(body).strip().casefold()
    return bool(text) and text in {word.strip().casefold() for word in words}
