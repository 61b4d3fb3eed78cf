"""The ways a person asks to stop, as data: one place to add a word, a phrase or a spelling.

Every entry is compared in the reply's folded form (``keywords.fold_for_opt_out``): case,
accents, look-alike letters and spacing do not matter, so each is written once, plainly.

- ``ANYWHERE``: a whole word, or a run of whole words, that opts out wherever it stands in
  the reply ("please stop", "no more texts thanks", "this is the wrong number").
- ``LEADING``: words that opt out only when the reply starts with them, because elsewhere
  they mean something else ("Alto" opts out, "el volumen está alto" does not; "no more"
  opts out, "I have no more questions" does not).
- ``MISSPELLINGS``: a curated list of how the opt-out words get mistyped, matched as whole
  words anywhere. Deliberately a list and not an edit distance: one letter away from
  "stop" is "shop", "step" and "stoop".
- ``EMOJI``: a reply made of these signs alone (and spaces) opts out.
"""

from __future__ import annotations

ENGLISH_ANYWHERE = (
    "stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "remove", "revoke",
    "optout", "opt out", "opt me out", "td", "unsub",
    "no more texts", "no more text", "no more messages", "no more message", "no more sms",
    "don't text me", "dont text me", "do not text me", "don't message me", "dont message me",
    "do not message me", "don't contact me", "dont contact me", "do not contact me",
    "don't text", "dont text", "do not text", "don't send me", "dont send me", "do not send me",
    "leave me alone", "take me off", "delete me", "delete my number", "wrong number",
    "not interested", "no longer interested",
)  # fmt: skip
ENGLISH_LEADING = ("no more", "no thanks", "no thank you")

SPANISH_ANYWHERE = (
    "desuscribir", "desuscribirme", "desuscribeme", "darme de baja", "dar de baja",
    "dame de baja", "denme de baja", "no me envien mas", "no me envies mas",
    "no me manden mas", "no me mandes mas", "no mas mensajes", "no mas sms",
    "numero equivocado", "cancelar suscripcion", "ya no quiero", "no quiero recibir",
)  # fmt: skip
SPANISH_LEADING = ("alto", "parar", "cancelar", "baja", "no mas")

FRENCH_ANYWHERE = (
    "arret", "ne plus recevoir", "desinscrire", "desinscrivez moi", "desinscris moi",
    "desabonner", "desabonnez moi", "desabonnement", "desinscription", "mauvais numero",
    "laissez moi tranquille", "laisse moi tranquille", "je ne veux plus", "plus de messages",
    "plus de sms", "arretez de m'envoyer", "arrete de m'envoyer",
)  # fmt: skip
FRENCH_LEADING = ("arreter", "arretez", "arrete")

ANYWHERE = (*ENGLISH_ANYWHERE, *SPANISH_ANYWHERE, *FRENCH_ANYWHERE)
LEADING = (*ENGLISH_LEADING, *SPANISH_LEADING, *FRENCH_LEADING)

MISSPELLINGS = (
    "stpo", "sotp", "stopp", "sstop", "srop", "stpp", "unsuscribe", "unsubscibe",
    "unsubcribe", "unsubscrib", "unsubscrive", "unsubsribe", "unsusbscribe", "unscribe",
    "unsubs", "usubscribe", "unsbscribe", "cancle", "cancell", "cansel",
    "desuscribirse", "dessuscribir", "desubscribir", "desinscrir", "desabonne",
)  # fmt: skip

EMOJI = ("\U0001f6d1", "\u26d4", "\U0001f6ab")  # stop sign, no entry, prohibited

# Look-alike letters of other scripts, as the Latin letter they pass for (lower case: the
# reply is case-folded first; full-width letters are already plain after NFKC).
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "е": "e", "һ": "h", "н": "h", "і": "i", "ј": "j",
    "к": "k", "м": "m", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "и": "u",
    "ѵ": "v", "ԝ": "w", "х": "x", "у": "y", "ү": "y", "ԁ": "d", "ӏ": "l", "п": "n",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ς": "s", "σ": "o", "μ": "u",
}  # fmt: skip

# Digits and symbols written for letters, inside a word that has a letter ("St0p", "$TOP",
# "5top"); a number on its own ("5", "$10") is left alone.
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a", "|": "l"}
