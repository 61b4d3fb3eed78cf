"""How people actually word a reply: opting out is easy, confirming is strict."""

import pytest

from optin.domain.language.keywords import (
    Keyword,
    classify,
    is_exact_keyword,
    normalise_keyword,
    normalise_reply,
)

CONFIRM = ("YES",)


@pytest.mark.parametrize(
    "body",
    [
        "please stop",
        "opt out",
        "Opt Out!",
        "Arrêt",
        "ARRÊT",
        "I said STOP",
        "Stop texting me",
        "STOP 🛑",
        "stop all",
        "yes stop",
        "Yes, but STOP",
        "Please remove me",
        "unsubscribe me please",
        "can you opt me out? opt out",
        "ST\u200bOP",
        "\u200fSTOP\u200e",
        "\ufeffstop",
        "S\u2060TOP",
        "stop,please",
        "START STOP",
        "help stop",
        "ｓｔｏｐ ｐｌｅａｓｅ",
    ],
)
def test_opt_out_anywhere_in_the_reply(body):
    assert classify(body, CONFIRM) is Keyword.OPT_OUT


@pytest.mark.parametrize("body", ["Yes", "YES!", " yes please", "Yés", "\u200byes"])
def test_confirm_without_an_opt_out_word(body):
    assert classify(body, CONFIRM) is Keyword.CONFIRM


@pytest.mark.parametrize("body", ["yesterday", "eyes", "no", "Y", "Yess", "I said yes", "yes stop"])
def test_not_confirmations(body):
    assert classify(body, CONFIRM) is not Keyword.CONFIRM


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        # Help when no opt-out word is there.
        ("Help me", Keyword.HELP),
        ("info?", Keyword.HELP),
        ("AIDE", Keyword.HELP),
        # Back in with the first word.
        ("Start", Keyword.OPT_IN),
        ("unstop please", Keyword.OPT_IN),
    ],
)
def test_help_or_opt_in_in_other_words(body, keyword):
    assert classify(body, CONFIRM) is keyword


@pytest.mark.parametrize(
    "body", ["adopt outright", "stopwatch", "I'm stoked", "trend", "apostrophe", "all stops"]
)
def test_words_that_merely_contain_an_opt_out_word(body):
    # "all stops": "stops" is not "stop", and "stop all" is not in this order.
    assert classify(body, CONFIRM) is Keyword.UNMATCHED


def test_configured_opt_out_words_are_honoured():
    assert classify("basta", CONFIRM) is Keyword.UNMATCHED
    assert classify("Basta ya", CONFIRM, opt_out_words=("BASTA",)) is Keyword.OPT_OUT
    assert classify("no more please", CONFIRM, opt_out_words=("no more",)) is Keyword.OPT_OUT


def test_accented_confirm_keywords_match_with_or_without_accents():
    assert classify("si", ("SÍ",)) is Keyword.CONFIRM
    assert classify("Sí!", ("SI",)) is Keyword.CONFIRM


@pytest.mark.parametrize(
    "body", ["\ud800", "yes\udfff", "\udbff\udc00stop", "\x00stop", "\ud83d help"]
)
def test_unpaired_surrogates_never_raise(body):
    assert isinstance(classify(body, CONFIRM), Keyword)
    assert "\ufffd" in normalise_reply("\ud800")


def test_normalise_reply():
    assert normalise_reply("Arrêt") == "arret"
    assert normalise_reply("ＳＴＯＰ\u200b") == "stop"
    assert normalise_reply("a\ud800b") == "a\ufffdb"
    assert normalise_reply("\ud83d\ude00") == "\U0001f600"  # a valid pair is one character


def test_normalise_keyword_still_names_the_first_word():
    assert normalise_keyword("  -- Yes, please") == "yes"
    assert normalise_keyword("\ud800") in ("", "\ufffd")


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop ", "STOP\n", "HELP"])
def test_exact_platform_keyword(body):
    assert is_exact_keyword(body, ("STOP", "HELP"))


@pytest.mark.parametrize(
    "body", ["please stop", "STOP.", "stop all", "STOP 🛑", "stopp", "", "\ud800", "ＳＴＯＰ"]
)
def test_not_exactly_a_platform_keyword(body):
    assert not is_exact_keyword(body, ("STOP", "HELP"))
