"""Repeated registrations through the handler (DynamoDB on moto): every state answers alike,
inside the cool-down and over the daily cap, so no sequence of requests tells who is
subscribed."""

from __future__ import annotations

import json

from local.events import LambdaContext, api_gateway_event
from optin.domain.model import Status
from optin.handlers import registration
from tests.support.lifecycle import reply

# One prefix each: together they register more often in an hour than one prefix may.
NUMBERS = {
    "new": "+12065550100",
    "PENDING": "+14155550101",
    "EXPIRED": "+12125550102",
    "CONFIRMED": "+13035550103",
    "OPTED_OUT": "+16175550104",
}


def post(number: str) -> tuple[int, str, str | None]:
    """(status, body, Retry-After) of one registration."""
    form = {"phoneNumber": number, "firstName": "Ada", "lastName": "Lovelace", "consent": True}
    result = registration.handler(api_gateway_event(json.dumps(form)), LambdaContext())
    return result["statusCode"], result["body"], result["headers"].get("Retry-After")


def arrange_every_state(ports, clock) -> None:
    """Each number in its state, all through the real flows, on one clock."""
    assert post(NUMBERS["EXPIRED"])[0] == 202
    clock.advance(hours=25)
    reply(ports, "YES", number=NUMBERS["EXPIRED"])
    for state in ("PENDING", "CONFIRMED", "OPTED_OUT"):
        assert post(NUMBERS[state])[0] == 202
    reply(ports, "YES", number=NUMBERS["CONFIRMED"])
    reply(ports, "YES", number=NUMBERS["OPTED_OUT"])
    reply(ports, "STOP", number=NUMBERS["OPTED_OUT"])
    clock.advance(seconds=61)
    for state, number in NUMBERS.items():
        if state != "new":
            assert ports.store.get(number).status is Status(state)


def test_every_state_answers_alike_then_alike_inside_the_cooldown(moto_ports, clock):
    arrange_every_state(moto_ports, clock)
    accepted = {state: post(number) for state, number in NUMBERS.items()}
    clock.advance(seconds=20)
    refused = {state: post(number) for state, number in NUMBERS.items()}
    assert len(set(accepted.values())) == 1
    assert accepted["new"][0] == 202
    assert len(set(refused.values())) == 1, refused
    status, body, retry_after = refused["CONFIRMED"]
    assert (status, json.loads(body)["error"]["code"], retry_after) == (
        429,
        "TOO_MANY_REQUESTS",
        "40",
    )


def test_every_state_answers_alike_over_the_daily_cap(moto_ports, clock):
    arrange_every_state(moto_ports, clock)
    answers = {}
    for _ in range(4):  # more than the cap of 3, counting the arranged registrations
        answers = {state: post(number) for state, number in NUMBERS.items()}
        clock.advance(seconds=61)
    assert len(set(answers.values())) == 1, answers
    status, body, retry_after = answers["OPTED_OUT"]
    assert (status, json.loads(body)["error"]["code"]) == (429, "TOO_MANY_REQUESTS")
    assert int(retry_after) > 3600  # midnight UTC, not the cool-down
    assert moto_ports.store.get(NUMBERS["CONFIRMED"]).status is Status.CONFIRMED
    assert moto_ports.store.get(NUMBERS["OPTED_OUT"]).status is Status.OPTED_OUT
