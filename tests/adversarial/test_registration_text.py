"""Any text in any field, unpaired surrogates included: the registration handler, on the
real DynamoDB adapter (moto), answers 202 or a 4xx, never a 5xx, and never raises."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as observe
from hypothesis import strategies as st
from moto import mock_aws

from local.events import LambdaContext, alb_event, api_gateway_event, http_api_event
from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.domain.ports import Ports
from optin.handlers import registration
from optin.settings import Settings
from tests.support.fakes import BASE_ENV, Clock, FakeLookup, FakeSender, installed
from tests.support.harness import fictional_numbers, moto_table

NUMBERS = list(fictional_numbers(offset=1000))[:50]
# Every code point, surrogates included (Hypothesis leaves them out unless asked).
any_character = st.characters(exclude_categories=())
awkward = st.sampled_from(
    ["A\ud83d", "\ud83d", "\udc00A", "\u200b", "\u3164", "\u2800", "\ufeff", "\u202e", "\x00"]
)
wild_text = st.one_of(
    st.text(any_character, max_size=40),
    awkward,
    st.tuples(st.text(max_size=10), awkward, st.text(max_size=10)).map("".join),
)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | wild_text
FIELDS = ("firstName", "lastName", "phoneNumber", "source", "country", "disclosureVersion")
unknown_fields = st.dictionaries(
    wild_text, st.one_of(json_scalars, st.lists(wild_text)), max_size=3
)


@st.composite
def documents(draw: Any) -> dict[str, Any]:
    """A valid form with up to three of its fields replaced by odd text, plus unknown
    fields: each field's check is reached, and a request that passes them all is stored."""
    document = {
        **draw(unknown_fields),
        "firstName": "Ada",
        "lastName": "Lovelace",
        "phoneNumber": draw(st.sampled_from(NUMBERS)),
        "source": "/signup",
        "consent": True,
    }
    for name in draw(st.sets(st.sampled_from(FIELDS), max_size=3)):
        valid = str(document.get(name, ""))
        document[name] = draw(
            st.one_of(
                wild_text,
                json_scalars,
                st.tuples(st.just(valid), wild_text).map("".join),
                st.tuples(wild_text, st.just(valid)).map("".join),
            )
        )
    return document


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    # Escaped (\ud83d in the JSON), or raw: a lone surrogate in the event's string.
    escaped = draw(st.sampled_from([True, True, True, False]))
    body = json.dumps(draw(documents()), ensure_ascii=escaped)
    front = draw(st.sampled_from(["rest", "http", "alb", "alb multi"]))
    if front == "rest":
        event = api_gateway_event(body, headers={"Content-Type": "application/json"})
        event["requestContext"]["identity"] = {
            "sourceIp": draw(wild_text),
            "userAgent": draw(wild_text),
        }
    elif front == "http":
        event = http_api_event(body)
        event["requestContext"]["http"]["userAgent"] = draw(wild_text)
    else:
        event = alb_event(body, multi_value=front == "alb multi")
        headers = event.get("headers") or event["multiValueHeaders"]
        value = draw(wild_text)
        headers["user-agent"] = [value] if front == "alb multi" else value
    return event


@pytest.fixture(scope="module")
def moto_registration() -> Iterator[Ports]:
    settings_ = Settings.from_env(BASE_ENV)
    with mock_aws():
        client = moto_table(settings_.table_name)
        ports = Ports(
            rules=settings_.rules,
            store=DynamoSubscriberStore(settings_.table_name, client=client),
            sender=FakeSender(),
            lookup=FakeLookup(),
            clock=Clock(),
        )
        with installed(ports, settings_):
            yield ports


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(event=requests())
def test_any_text_in_any_field_is_answered_without_a_5xx(moto_registration, event):
    moto_registration.clock.advance(hours=9)  # type: ignore[attr-defined]  # past any limit
    answer = registration.handler(event, LambdaContext())
    status = answer["statusCode"]
    assert status == 202 or 400 <= status < 500, answer
    body = json.loads(answer["body"])
    assert body.get("status") == "accepted" or body["error"]["code"]
    observe(body.get("status") or f"{body['error']['code']} {body['error'].get('field')}")
