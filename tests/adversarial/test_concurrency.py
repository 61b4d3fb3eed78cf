"""Concurrent invocations through the handlers, on the DynamoDB adapter with moto.

moto is not thread-safe, so each DynamoDB call holds a lock for its duration (DynamoDB
makes each request atomic, and no more); everything around the calls, in the handlers and
the domain, runs in parallel threads, so reads and conditional writes of different
requests interleave as they would across Lambda containers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import NamedTuple

import pytest

from local.events import LambdaContext, api_gateway_event, sns_event, two_way_message
from local.service import LockedClient
from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.domain.model import EventType, Status
from optin.domain.subscribers import limits
from optin.handlers import inbound, registration
from optin.settings import Settings
from tests.support.fakes import BASE_ENV, NO_PREFIX_LIMITS, Clock
from tests.support.harness import (
    CannedSms,
    all_at_once,
    fictional_numbers,
    on_real_adapters,
)

NUMBER = "+12065550142"


class Concurrent(NamedTuple):
    """The real adapters' store, DynamoDB and SQS one call at a time, every SMS answered,
    and the send queue drained through the sender function."""

    store: DynamoSubscriberStore
    sms: CannedSms
    drain: Callable[[], object]


@pytest.fixture
def concurrent(carrier_settings: Settings, clock: Clock) -> Iterator[Concurrent]:
    # A pace that keeps up with the test: at one part per second, 500 confirmations take
    # 1,000 s of the test's clock and the last ones would wait past the maximum delay.
    settings = replace(carrier_settings, send_rate_per_second=1000)
    with on_real_adapters(settings, clock, wrap=LockedClient) as adapters:
        yield Concurrent(adapters.store, adapters.canned(), adapters.drain)


@pytest.fixture
def no_prefix_limits(clock: Clock) -> Iterator[Concurrent]:
    """The same, for many fictional numbers (they share a few prefixes): no limits across
    numbers."""
    settings = Settings.from_env({**BASE_ENV, "NUMBER_LOOKUP": "carrier", **NO_PREFIX_LIMITS})
    settings = replace(settings, send_rate_per_second=1000)  # as above
    with on_real_adapters(settings, clock, wrap=LockedClient) as adapters:
        yield Concurrent(adapters.store, adapters.canned(), adapters.drain)


def post(number: str) -> int:
    form = {"phoneNumber": number, "firstName": "Ada", "lastName": "Lovelace", "consent": True}
    response = registration.handler(api_gateway_event(json.dumps(form)), LambdaContext())
    return int(response["statusCode"])


def test_fifty_concurrent_registrations_of_one_number_send_one_sms(concurrent):
    post("+12065550143")  # the container's first call (the disclosure text) is behind us
    statuses = all_at_once(50, lambda _: post(NUMBER))
    concurrent.drain()
    assert Counter(statuses) == {202: 1, 429: 49}
    assert len(concurrent.sms.sent_to(NUMBER)) == 1
    subscriber = concurrent.store.get(NUMBER)
    assert subscriber.status is Status.PENDING
    events = Counter(event.type for event in concurrent.store.events(NUMBER))
    assert events == {EventType.REGISTERED: 1, EventType.CONFIRMATION_SENT: 1}


def test_five_hundred_distinct_numbers_give_five_hundred_sms_and_pending_subscribers(
    no_prefix_limits,
):
    concurrent = no_prefix_limits
    numbers = list(fictional_numbers())[:500]
    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(post, numbers))
    assert Counter(statuses) == {202: 500}
    concurrent.drain()
    assert len(concurrent.sms.sent) == 500
    assert {message["DestinationPhoneNumber"] for message in concurrent.sms.sent} == set(numbers)
    pending = concurrent.store.phone_numbers_with_status(Status.PENDING)
    assert sorted(pending) == sorted(numbers)


def test_fifty_registrations_racing_across_one_prefix_never_pass_its_limit(
    concurrent, carrier_settings, clock
):
    post("+14155550100")  # the container's first call (the disclosure text) is behind us
    numbers = [f"+1206555{line:04d}" for line in range(2000, 2050)]
    statuses = all_at_once(50, lambda index: post(numbers[index]))
    concurrent.drain()
    limit = carrier_settings.max_confirmations_per_prefix_per_hour
    assert Counter(statuses) == {202: limit, 429: 50 - limit}
    sent = [message["DestinationPhoneNumber"] for message in concurrent.sms.sent]
    assert len([number for number in sent if number in numbers]) == limit
    stored = [number for number in numbers if concurrent.store.get(number) is not None]
    assert sorted(stored) == sorted(number for number in sent if number in numbers)
    prefix, day = limits.counters(numbers[0], clock())
    assert concurrent.store.limit_count(prefix) == limit
    assert concurrent.store.limit_count(day) == limit + 1


def _twenty_deliveries_of_one_yes(concurrent: Concurrent) -> list[str]:
    post(NUMBER)
    concurrent.drain()
    message = two_way_message(NUMBER, "YES", inbound_message_id="in-1")
    results = all_at_once(20, lambda _: inbound.handler(sns_event(message), LambdaContext()))
    concurrent.drain()
    assert all(result == {"processed": 1} for result in results), results
    return [m["Context"]["kind"] for m in concurrent.sms.sent_to(NUMBER)]


def test_one_reply_delivered_twenty_times_at_once_changes_state_once(concurrent):
    _twenty_deliveries_of_one_yes(concurrent)
    events = Counter(event.type for event in concurrent.store.events(NUMBER))
    assert events[EventType.INBOUND] == 1
    assert events[EventType.CONFIRMED] == 1
    assert concurrent.store.get(NUMBER).status is Status.CONFIRMED


def test_one_reply_delivered_twenty_times_at_once_sends_one_welcome(concurrent):
    kinds = _twenty_deliveries_of_one_yes(concurrent)
    assert kinds == ["confirmation", "welcome"]
    events = Counter(event.type for event in concurrent.store.events(NUMBER))
    assert events[EventType.WELCOME_SENT] == 1


def test_yes_and_stop_racing_end_in_the_state_of_the_last_one_applied(concurrent):
    post(NUMBER)
    replies = ["YES", "STOP"]
    all_at_once(
        2,
        lambda i: inbound.handler(sns_event(two_way_message(NUMBER, replies[i])), LambdaContext()),
    )
    transitions = [
        event.type
        for event in concurrent.store.events(NUMBER)
        if event.type in (EventType.CONFIRMED, EventType.OPTED_OUT)
    ]
    final = concurrent.store.get(NUMBER).status
    assert transitions[-1] is EventType.OPTED_OUT or final is Status.CONFIRMED
    assert final is (
        Status.OPTED_OUT if transitions[-1] is EventType.OPTED_OUT else Status.CONFIRMED
    )
    assert transitions.count(EventType.OPTED_OUT) == 1
