"""Properties that must hold for every input, not only the examples we thought of."""

from __future__ import annotations

import base64
import json
import unicodedata
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from local.events import LambdaContext, api_gateway_event, sns_event
from optin.domain.errors import InvalidPhoneNumber, TooManyRequests, UnsupportedCountry
from optin.domain.language.keywords import Keyword, classify, has_opt_out_word
from optin.domain.language.messages import Template
from optin.domain.subscribers.phone import normalise
from optin.handlers import inbound, registration
from tests.support.errors import REFUSAL_STATUS, codes_by_status
from tests.support.harness import fictional_numbers
from tests.support.lifecycle import past_cooldown

ALLOWED = ("US", "CA")
NUMBERS = list(fictional_numbers())[:400]
ERROR_CODES = codes_by_status(REFUSAL_STATUS)
FAST = settings(max_examples=300, deadline=None)
# The handlers share ports across examples on purpose (state only accumulates).
HANDLERS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# Phone numbers ------------------------------------------------------------------------

digits = st.text(alphabet="0123456789", min_size=1, max_size=15)
separators = st.sampled_from(["", " ", "-", ".", "(", ")", "+"])
phone_like = st.lists(st.one_of(digits, separators), max_size=8).map("".join)
formatted_valid = st.builds(
    lambda number, style: style(number[2:5], number[5:8], number[8:]),
    st.sampled_from(NUMBERS),
    st.sampled_from(
        [
            lambda a, b, c: f"+1{a}{b}{c}",
            lambda a, b, c: f"({a}) {b}-{c}",
            lambda a, b, c: f"{a}.{b}.{c}",
            lambda a, b, c: f"1-{a}-{b}-{c}",
            lambda a, b, c: f" +1 {a} {b} {c} ",
            lambda a, b, c: f"{a}{b}{c}",
        ]
    ),
)
other_countries = st.sampled_from(
    ["+447911123456", "+33612345678", "+4915123456789", "+14165550142", "+8613812345678"]
)
countries = st.one_of(
    st.sampled_from(["US", "CA", "GB", "FR", "ZZ", "", "us", "001"]), st.text(max_size=4)
)


@FAST
@given(
    raw=st.one_of(st.text(max_size=40), phone_like, formatted_valid, other_countries),
    country=countries,
)
def test_normalise_is_idempotent_and_raises_only_validation_errors(raw, country):
    try:
        number = normalise(raw, country, ALLOWED)
    except (InvalidPhoneNumber, UnsupportedCountry):
        return
    assert number.e164.startswith("+")
    assert number.e164[1:].isdigit()
    assert number.country in ALLOWED
    assert normalise(number.e164, country, ALLOWED) == number
    assert normalise(number.e164, "US", ALLOWED) == number  # E.164 needs no country


@FAST
@given(formatted_valid)
def test_every_way_of_writing_a_valid_number_gives_the_same_e164(raw):
    digits_only = "".join(c for c in raw if c.isdigit())
    assert normalise(raw, "US", ALLOWED).e164 == "+1" + digits_only[-10:]


# Keywords -----------------------------------------------------------------------------

yes_spellings = st.sampled_from(
    ["yes", "YES", "Yes", "yEs", "YES!", "yes.", "yes,", "¡yes!", '"yes"', "ＹＥＳ", "(yes)"]
)
whitespace = st.text(alphabet=" \t\n\r\u00a0\u2003\u3000", min_size=1, max_size=3)
plain_word = st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=12).filter(
    lambda word: unicodedata.normalize("NFKC", word).casefold() != "yes"
)


@FAST
@given(yes_spellings, whitespace, st.text(max_size=30), st.text(alphabet=" \t", max_size=2))
def test_confirm_word_first_confirms_whatever_follows(word, gap, tail, lead):
    assume(not has_opt_out_word(tail))  # "yes stop" opts out
    assert classify(f"{lead}{word}{gap}{tail}", ("YES",)) is Keyword.CONFIRM


@FAST
@given(plain_word, st.sampled_from([" ", ", ", " - ", "\n", ": "]), yes_spellings)
def test_confirm_word_after_another_word_never_confirms(first, gap, word):
    assert classify(f"{first}{gap}{word}", ("YES",)) is not Keyword.CONFIRM


@FAST
@given(st.sampled_from(["yes", "YES"]), st.text(min_size=1, max_size=8))
def test_confirm_word_glued_to_more_letters_never_confirms(word, glued):
    assume(unicodedata.category(unicodedata.normalize("NFKC", glued)[0:1] or " ")[0] in "LN")
    assert classify(word + glued, ("YES",)) is not Keyword.CONFIRM


@FAST
@given(st.text(max_size=200))
def test_classify_never_raises(body):
    assert isinstance(classify(body, ("YES", "OUI")), Keyword)


# The registration handler never answers 5xx --------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
form_fields = st.fixed_dictionaries(
    {},
    optional={
        "phoneNumber": st.one_of(st.sampled_from(NUMBERS), formatted_valid, json_values),
        "destinationNumber": st.one_of(st.sampled_from(NUMBERS), json_values),
        "country": st.one_of(st.sampled_from(["US", "CA", "GB", "us", ""]), json_values),
        "firstName": st.one_of(st.text(max_size=120), json_values),
        "lastName": st.one_of(st.text(max_size=120), json_values),
        "source": st.one_of(st.text(max_size=250), json_values),
        "consent": st.one_of(st.just(True), json_values),
        "optTimestamp": json_values,
        "disclosureVersion": st.one_of(st.just("d-0123456789ab"), json_values),
    },
)
header_names = st.sampled_from(
    ["Content-Type", "content-type", "CONTENT-TYPE", "Origin", "User-Agent", "X-Other"]
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
    ]
)
headers = st.one_of(
    st.none(),
    st.dictionaries(header_names, st.one_of(content_types, st.text(max_size=40)), max_size=4),
)


def _body(draw: Any) -> tuple[str | None, bool]:
    kind = draw(st.sampled_from(["form", "json", "text", "bytes", "none", "big"]))
    if kind == "form":
        return json.dumps(draw(form_fields)), False
    if kind == "json":
        return json.dumps(draw(json_values)), draw(st.booleans())
    if kind == "text":
        return draw(st.text(max_size=300)), draw(st.booleans())
    if kind == "bytes":
        return base64.b64encode(draw(st.binary(max_size=300))).decode(), True
    if kind == "big":
        return json.dumps({"firstName": "x" * draw(st.integers(4000, 5000))}), False
    return None, draw(st.booleans())


@st.composite
def proxy_events(draw: Any) -> dict[str, Any]:
    body, is_base64 = _body(draw)
    event = api_gateway_event(body, headers={"Content-Type": "application/json"})
    event["headers"] = (
        draw(headers) if draw(st.booleans()) else {"Content-Type": "application/json"}
    )
    event["isBase64Encoded"] = is_base64
    if draw(st.booleans()):
        event["requestContext"]["identity"] = draw(
            st.one_of(st.none(), st.fixed_dictionaries({"sourceIp": json_values}))
        )
    return event


def _check_response(response: dict[str, Any]) -> dict[str, Any]:
    status = response["statusCode"]
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    if status == 202:
        assert body["status"] == "accepted"
        return body
    assert status in ERROR_CODES, (status, body)
    error = body["error"]
    assert set(error) <= {"code", "message", "field"}
    assert error["code"] in ERROR_CODES[status]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error.get("field", ""), str)
    if status == TooManyRequests.status:
        assert int(response["headers"]["Retry-After"]) >= 1
    return body


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event=proxy_events())
def test_registration_handler_never_answers_5xx(ports, event):
    past_cooldown(ports)
    _check_response(registration.handler(event, LambdaContext()))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(form=form_fields)
def test_accepted_registrations_send_exactly_one_confirmation(ports, form):
    before = len(ports.sender.sent)
    response = registration.handler(api_gateway_event(json.dumps(form)), LambdaContext())
    body = _check_response(response)
    sent = len(ports.sender.sent) - before
    if response["statusCode"] == 202:
        assert "status" in body
        assert sent <= 1
    else:
        assert sent == 0


# The inbound handler drops what it cannot read and never crashes on it ----------------

messages = st.one_of(
    st.text(max_size=80),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "originationNumber": st.one_of(st.sampled_from(NUMBERS), json_values),
            "destinationNumber": json_values,
            "messageBody": st.one_of(st.text(max_size=60), json_values),
            "inboundMessageId": st.one_of(st.uuids().map(str), json_values),
            "messageKeyword": json_values,
        },
    ).map(json.dumps),
)
records = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"Sns": st.fixed_dictionaries({"Message": messages}, optional={"MessageId": json_values})}
    ),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(records, max_size=4))
def test_inbound_handler_never_raises_on_malformed_records(ports, batch):
    result = inbound.handler({"Records": batch}, LambdaContext())
    assert 0 <= result["processed"] <= len(batch)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.text(max_size=60), number=st.sampled_from(NUMBERS[:20]))
def test_inbound_from_any_sender_never_creates_a_subscriber(ports, body, number):
    event = sns_event({"originationNumber": number, "messageBody": body, "inboundMessageId": body})
    inbound.handler(event, LambdaContext())
    assert ports.store.get(number) is None
    # At most where to sign up and the help text, each once a day (the clock stands still).
    answers = [(to, kind) for to, _, kind, _ in ports.sender.sent]
    assert {kind for _, kind in answers} <= {Template.SIGNUP, Template.HELP}
    assert len(answers) == len(set(answers))
