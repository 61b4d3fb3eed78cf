"""The table of replies that must opt out, and of replies that must not, whatever the
wording: the data in ``optin.domain.language.opt_out_phrases`` is measured against it.

How a phrase inside a longer message is read: an opt-out word or phrase opts out wherever it
stands ("please stop texting me", "no more texts thanks"); a leading one ("alto", "no more")
only at the start of the reply, where it can only mean "stop".
"""

import pytest

from optin.domain.language.keywords import Keyword, classify, fold_for_opt_out, has_opt_out_word

CONFIRM = ("YES",)

OPTS_OUT = [
    # The words, as today.
    "STOP", "stop", "Stop.", "please stop", "I said STOP", "yes stop", "STOP 🛑", "stopall",
    "unsubscribe", "cancel", "end", "quit", "remove", "revoke", "optout", "opt-out", "td",
    # English phrases, alone or inside a longer message.
    "no more", "No more!", "no more texts", "no more texts thanks", "no more messages please",
    "don't text me", "Don’t text me again", "do not text me", "dont text me", "DO NOT TEXT",
    "don't message me", "do not contact me", "stop texting me", "please stop texting me",
    "stop messaging me", "Stop sending me these", "leave me alone", "Just leave me alone!",
    "take me off your list", "take me off", "please take me off this list", "remove me",
    "Remove me from this", "delete me", "delete my number", "wrong number",
    "this is the wrong number", "Wrong number, sorry", "not interested", "I'm not interested",
    "no longer interested", "opt me out", "please opt me out", "unsubscribe me",
    "no thanks", "No thank you", "unsub", "Unsub pls",
    # Misspellings (curated).
    "stpo", "sotp", "stopp", "STOPP!", "sstop", "unsuscribe", "unsubscibe", "unsubcribe",
    "unsubscrib", "unsubsribe", "cancle", "cancell", "stooooop", "STOPPPP",
    # Letters spaced, dotted or hyphenated.
    "s t o p", "S T O P", "S.T.O.P", "s.t.o.p.", "s-t-o-p", "S_T_O_P", "s * t * o * p",
    "u n s u b", "e n d",
    # Digits and symbols for letters.
    "St0p", "ST0P", "$TOP", "$top", "5top", "5T0P", "s t 0 p", "unsub5cribe", "3nd",
    # Look-alike letters of other scripts, full-width letters.
    "ЅТОР", "ѕтор", "SТOP", "ЅΤΟΡ", "ЅТОР!", "ＳＴＯＰ", "ｓｔｏｐ ｐｌｅａｓｅ",
    "ST\u200bOP",
    # Stop-sign and no-entry emoji alone.
    "🛑", "⛔", "🚫", "🛑\ufe0f", "⛔\ufe0f", "🚫 🚫", " 🛑 ",
    # Spanish.
    "alto", "ALTO", "Alto por favor", "parar", "cancelar", "Cancelar", "baja", "Baja!",
    "no más", "No mas", "no más mensajes", "darme de baja", "quiero darme de baja",
    "dar de baja", "desuscribir", "desuscribirme", "no me envíen más", "No me envien mas por favor",
    "no me manden más", "número equivocado", "Numero equivocado", "ya no quiero",
    # French.
    "arrêt", "ARRÊT", "arrêter", "Arrêtez", "stop svp", "ne plus recevoir",
    "je veux ne plus recevoir vos messages", "désinscrire", "me désinscrire", "désinscrivez-moi",
    "désabonner", "me désabonner", "désabonnement", "mauvais numéro", "laissez-moi tranquille",
    "laisse-moi tranquille", "je ne veux plus", "plus de messages",
]  # fmt: skip

STAYS = [
    "shop", "step", "stoop", "stopwatch", "stopwatch repair?", "yesterday", "eyes", "trend",
    "apostrophe", "adopt outright", "all stops", "I'm stoked", "how do I join", "hello",
    "what time is it?", "Thanks!", "I have no more questions", "I have no more questions, thanks",
    "the volume is too high", "el volumen está alto", "para mañana?", "la baja california",
    "5 stars", "$10", "call me at 5", "a b cd", "y e s", "yes", "YES!", "help", "info",
    "START", "unstop", "🙂", "👍", "tomorrow?", "s t", "no", "basta", "🛑 what is this?",
    "stp merci",
]  # fmt: skip


@pytest.mark.parametrize("body", OPTS_OUT)
def test_opts_out(body):
    assert classify(body, CONFIRM) is Keyword.OPT_OUT
    assert has_opt_out_word(body)


@pytest.mark.parametrize("body", STAYS)
def test_does_not_opt_out(body):
    assert classify(body, CONFIRM) is not Keyword.OPT_OUT
    assert not has_opt_out_word(body)


def test_the_table_is_large_enough_to_measure():
    assert len(OPTS_OUT) >= 100
    assert len(STAYS) >= 30


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("y e s", Keyword.UNMATCHED),  # spaced letters are joined for opt-out only
        ("Y.E.S", Keyword.UNMATCHED),
        ("ΥΕЅ", Keyword.UNMATCHED),  # look-alike letters too
        ("y3s", Keyword.UNMATCHED),
        ("h e l p", Keyword.UNMATCHED),
        ("h3lp", Keyword.UNMATCHED),
        ("5tart", Keyword.UNMATCHED),
        ("S T A R T", Keyword.UNMATCHED),
        ("yes", Keyword.CONFIRM),
        ("yes s t o p", Keyword.OPT_OUT),
        ("yes St0p", Keyword.OPT_OUT),
    ],
)
def test_confirm_help_and_start_stay_strict(body, keyword):
    assert classify(body, CONFIRM) is keyword


def test_folding_reads_the_obfuscations_as_plain_letters():
    assert fold_for_opt_out("S.T.O.P") == "stop"
    assert fold_for_opt_out("ЅТОР") == "stop"
    assert fold_for_opt_out("$T0P") == "stop"
    assert fold_for_opt_out("stooooop") == "stop"
    assert fold_for_opt_out("call me at 5") == "call me at 5"  # a number alone stays a number


def test_configured_opt_out_words_are_folded_alike():
    assert classify("F.I.N.I", CONFIRM, opt_out_words=("fini",)) is Keyword.OPT_OUT
    assert classify("basta", CONFIRM, opt_out_words=("fini",)) is Keyword.UNMATCHED
    assert classify("n0 gracias", CONFIRM, opt_out_words=("no gracias",)) is Keyword.OPT_OUT
    assert classify("gracias", CONFIRM, opt_out_words=("no gracias",)) is Keyword.UNMATCHED
