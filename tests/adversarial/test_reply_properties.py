"""Reply properties: no text can make matching or the inbound handler fail, and STOP as a
whole word always opts out, from the wording up to the stored state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from local.events import LambdaContext, sns_event, two_way_message
from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.domain.language.keywords import Keyword, classify, is_exact_keyword, normalise_reply
from optin.domain.model import Status
from optin.domain.ports import Ports
from optin.handlers import inbound
from optin.settings import Settings
from tests.support.fakes import BASE_ENV, NO_PREFIX_LIMITS, Clock, fake_ports, installed
from tests.support.harness import fictional_numbers, moto_table
from tests.support.lifecycle import register, reply

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


# Through the inbound handler, on the DynamoDB adapter (moto) ------------------------------

HANDLERS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
numbers = fictional_numbers()
# Text where unpaired surrogates (half an emoji) are common, not one code point in 500.
torn_text = st.lists(
    st.one_of(
        st.characters(codec=None, categories=None),
        st.sampled_from(["\ud83d", "\ude00", "\udbff", "\udc00"]),
        st.sampled_from(["stop", "STOP", "yes", "START", "help", " "]),
    ),
    max_size=24,
).map("".join)
# JSON values whose strings may hold any code point, lone surrogates included.
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | torn_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(torn_text, children, max_size=3)
    ),
    max_leaves=8,
)
_other_fields = {
    "destinationNumber": any_json,
    "inboundMessageId": st.one_of(torn_text, any_json),
    "messageKeyword": any_json,
    "previousPublishedMessageId": any_json,
}
two_way_documents = st.one_of(
    # What the platform sends, with torn text anywhere.
    st.fixed_dictionaries(
        {
            "originationNumber": st.sampled_from(["+12065550142", "+14165550142"]),
            "messageBody": torn_text,
        },
        optional=_other_fields,
    ),
    # Anything else shaped like it.
    st.fixed_dictionaries(
        {},
        optional={
            "originationNumber": st.one_of(st.sampled_from(["+12065550142"]), any_json),
            "messageBody": st.one_of(torn_text, any_json),
            **_other_fields,
        },
    ),
)
sns_messages = st.one_of(
    torn_text,
    two_way_documents.map(json.dumps),
    two_way_documents.map(lambda document: json.dumps(document, ensure_ascii=False)),
    any_json.map(json.dumps),
)
any_records = st.one_of(
    any_json,
    st.fixed_dictionaries(
        {
            "Sns": st.fixed_dictionaries(
                {"Message": sns_messages}, optional={"MessageId": any_json, "Timestamp": any_json}
            )
        }
    ),
    st.fixed_dictionaries(
        {"Sns": st.fixed_dictionaries({}, optional={"Message": any_json, "MessageId": any_json})}
    ),
)


@pytest.fixture
def moto_handler_ports(settings_for_replies: Settings, clock: Clock) -> Iterator[Ports]:
    with mock_aws():
        ports = fake_ports(
            settings_for_replies.rules,
            clock,
            DynamoSubscriberStore("subscribers", client=moto_table("subscribers")),
        )
        with installed(ports, settings_for_replies):
            yield ports


@pytest.fixture
def settings_for_replies() -> Settings:
    return Settings.from_env({**BASE_ENV, **NO_PREFIX_LIMITS})


def _record(message: str) -> dict[str, Any]:
    return {"Sns": {"Message": message}}


@HANDLERS
@given(batch=st.lists(any_records, max_size=3))
@example(
    batch=[_record(json.dumps({"originationNumber": "+12065550142", "messageBody": "Yes \ud83d"}))]
)
@example(batch=[_record("[" * 50_000 + "]" * 50_000)])
@example(batch=[_record('{"originationNumber": "+12065550142", "n": ' + "9" * 5_000 + "}")])
def test_no_record_makes_the_inbound_handler_raise(moto_handler_ports, batch):
    """Whatever the platform (or anyone who can publish) sends: parsed and applied, or
    dropped as malformed; never an exception that would retry it into the dead-letter queue."""
    moto_handler_ports.clock.advance(seconds=1)
    result = inbound.handler({"Records": batch}, LambdaContext())
    assert 0 <= result["processed"] <= len(batch)


@HANDLERS
@given(before=torn_text, word=any_opt_out_spelling, after=torn_text)
@example(before="\ud83d", word="STOP", after="\ude00")
def test_a_whole_word_stop_from_a_confirmed_number_always_opts_out(
    moto_handler_ports, before, word, after
):
    number = next(numbers)
    register(moto_handler_ports, number)
    reply(moto_handler_ports, "YES", number=number)
    assert moto_handler_ports.store.get(number).status is Status.CONFIRMED

    body = f"{before} {word} {after}"
    event = sns_event(two_way_message(number, body), two_way_message(number, body))
    event["Records"][1]["Sns"]["Message"] = json.dumps(
        two_way_message(number, body), ensure_ascii=False
    )
    assert inbound.handler(event, LambdaContext()) == {"processed": 2}

    subscriber = moto_handler_ports.store.get(number)
    assert (subscriber.status, subscriber.opt_out) == (Status.OPTED_OUT, "ALL")
    assert number in moto_handler_ports.sender.opted_out
