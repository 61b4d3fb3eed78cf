"""Keyword matching for inbound replies: opting out is easy, confirming is strict.

Every reply is normalised first (``normalise_reply``): NFKC, case-fold, accents dropped
(``Arrêt`` is ``arret``), invisible format characters dropped, and any code point that
cannot be encoded (an unpaired surrogate) replaced with U+FFFD, so no reply can raise.

- Opt-out: any whole word or run of words of the reply is an opt-out word or phrase
  ("please stop", "I said STOP", "yes stop", "no more texts thanks", "wrong number"), or
  the reply starts with a word that opts out only there ("Alto", "no more"), or it is only
  a stop-sign emoji. The words and phrases, in English, Spanish and French, are data in
  ``opt_out_phrases``. Before this one comparison the reply is also folded
  (``fold_for_opt_out``): look-alike letters of other scripts, spaced or dotted letters,
  digits and symbols standing for letters, long runs of one letter; and curated
  misspellings count. Nothing of this folding applies to the other keywords.
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

from optin.domain.language import opt_out_phrases

OPT_OUT_WORDS = frozenset(
    word.casefold()
    for word in (
        "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
        "REMOVE", "REVOKE", "OPTOUT", "OPT-OUT", "ARRET", "TD",
    )
)  # fmt: skip
OPT_OUT_PHRASES = ("opt out", "stop all", *opt_out_phrases.ANYWHERE, *opt_out_phrases.MISSPELLINGS)
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


_CONFUSABLES = str.maketrans(opt_out_phrases.CONFUSABLES)
_LEET = str.maketrans(opt_out_phrases.LEET)
_LEET_CHARACTERS = re.escape("".join(opt_out_phrases.LEET))
# A run of at least three single letters (or digits and symbols standing for letters) kept
# apart by spaces, dots, hyphens, underscores or asterisks: "s t o p", "S.T.O.P", "s-t-0-p".
_LETTER_LIKE = rf"(?:[^\W_]|[{_LEET_CHARACTERS}])"
_SPACED = re.compile(rf"(?<![^\W_]){_LETTER_LIKE}(?:[\s.\-_*]+{_LETTER_LIKE}){{2,}}(?![^\W_])")
_SEPARATORS = re.compile(r"[\s.\-_*]+")
_REPEATED = re.compile(r"([^\W\d_])\1{2,}")  # "stooooop", "stopppp"
_HAS_LETTER = re.compile(r"[^\W\d_]")
_EMOJI = frozenset(opt_out_phrases.EMOJI)


def _unleet(token: str) -> str:
    return token.translate(_LEET) if _HAS_LETTER.search(token) else token


def fold_for_opt_out(body: str) -> str:
    """The reply as compared with the opt-out words only: ``normalise_reply``, then
    look-alike letters as Latin ones, spaced or dotted letters joined, digits and symbols
    inside a word read as the letters they stand for, and a letter typed three or more
    times in a row read once. Never used for confirming, help or START."""
    text = normalise_reply(body).translate(_CONFUSABLES)
    text = _SPACED.sub(lambda match: _SEPARATORS.sub("", match.group()), text)
    text = " ".join(_unleet(token) for token in text.split())
    return _REPEATED.sub(r"\1", text)


def _opt_out_sequences(spelled: Iterable[str]) -> frozenset[tuple[str, ...]]:
    """Opt-out words and phrases as runs of words ("opt-out" is "opt", "out")."""
    return frozenset(words for words in map(_words, map(fold_for_opt_out, spelled)) if words)


_DEFAULT_OPT_OUT = _opt_out_sequences([*OPT_OUT_WORDS, *OPT_OUT_PHRASES])
_LEADING_OPT_OUT = _opt_out_sequences(opt_out_phrases.LEADING)


def _only_stop_signs(text: str) -> bool:
    signs = "".join(text.split())
    return bool(signs) and set(signs) <= _EMOJI


def _asks_to_opt_out(body: str, configured: Iterable[str]) -> bool:
    text = fold_for_opt_out(body)
    words = _words(text)
    sequences = _DEFAULT_OPT_OUT | _opt_out_sequences(configured)
    return (
        any(_contains(words, sequence) for sequence in sequences)
        or any(words[: len(sequence)] == sequence for sequence in _LEADING_OPT_OUT)
        or _only_stop_signs(text)
    )


def has_opt_out_word(body: str, opt_out_words: Iterable[str] = ()) -> bool:
    """Whether the reply asks to opt out: an opt-out word or phrase anywhere (or run of
    words), a leading one at its start, or stop-sign emoji alone."""
    return _asks_to_opt_out(body, opt_out_words)


def classify(
    body: str, confirm_keywords: Iterable[str], *, opt_out_words: Iterable[str] = ()
) -> Keyword:
    """What a reply asks for; ``opt_out_words`` adds configured opt-out words or phrases."""
    if _asks_to_opt_out(body, opt_out_words):
        return Keyword.OPT_OUT
    text = normalise_reply(body)
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
