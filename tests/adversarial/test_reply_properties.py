"""Reply wording properties: no text can make matching fail, and STOP always opts out."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from optin.domain.keywords import Keyword, classify, is_exact_keyword, normalise_reply

FAST = settings(max_examples=300, deadline=None)
# Every code point, unpaired surrogates (category Cs) included.
any_text = st.text(alphabet=st.characters(codec=None, categories=None), max_size=200)
any_opt_out_spelling = st.sampled_from(["stop", "STOP", "Stop", "sTOP", "ＳＴＯＰ", "S\u200bTOP"])
confirm_keywords = st.lists(st.text(max_size=8), max_size=3)


@FAST
@given(any_text, confirm_keywords)
def test_classify_never_raises_on_any_code_point(body, keywords):
    assert isinstance(classify(body, keywords), Keyword)
    assert isinstance(is_exact_keyword(body, ("STOP", "HELP")), bool)
    normalise_reply(body).encode("utf-8")  # nothing unencodable survives


@FAST
@given(any_text, any_opt_out_spelling, any_text)
def test_stop_as_a_whole_word_always_opts_out(before, word, after):
    assert classify(f"{before} {word} {after}", ("YES",)) is Keyword.OPT_OUT


@FAST
@given(any_text, any_text)
def test_stop_after_a_confirm_word_still_opts_out(gap, tail):
    assert classify(f"yes{gap} stop {tail}", ("YES",)) is Keyword.OPT_OUT
