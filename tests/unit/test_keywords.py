import pytest

from optin.domain.language.keywords import Keyword, classify, normalise_keyword

CONFIRM = ("YES",)


@pytest.mark.parametrize("body", ["Yes", "YES!", " yes please", "yes.", "ＹＥＳ", "¡yes!", "Yes\n"])
def test_confirm_words(body):
    assert classify(body, CONFIRM) is Keyword.CONFIRM


@pytest.mark.parametrize(
    "body", ["yesterday", "eyes", "no", "y e s", "I said yes", "", "   ", "!!!"]
)
def test_not_a_confirmation(body):
    assert classify(body, CONFIRM) is not Keyword.CONFIRM


@pytest.mark.parametrize(
    "word",
    ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT", "REMOVE", "REVOKE", "OPTOUT",
     "opt-out", "ARRET", "td", "Stop."],
)  # fmt: skip
def test_opt_out_words(word):
    assert classify(word, CONFIRM) is Keyword.OPT_OUT


@pytest.mark.parametrize("word", ["HELP", "info", "Aide?"])
def test_help_words(word):
    assert classify(word, CONFIRM) is Keyword.HELP


@pytest.mark.parametrize("word", ["START", "unstop"])
def test_opt_in_words(word):
    assert classify(word, CONFIRM) is Keyword.OPT_IN


def test_configured_confirm_keywords_replace_the_default():
    assert classify("Confirm", ("CONFIRM", "OUI")) is Keyword.CONFIRM
    assert classify("oui!", ("CONFIRM", "OUI")) is Keyword.CONFIRM
    assert classify("yes", ("CONFIRM",)) is Keyword.UNMATCHED


def test_opt_out_wins_over_a_confirm_keyword_named_alike():
    assert classify("stop", ("STOP",)) is Keyword.OPT_OUT


def test_first_word_skips_leading_punctuation():
    assert normalise_keyword("  -- Yes, please") == "yes"
    assert normalise_keyword("ＳＴＯＰ") == "stop"
