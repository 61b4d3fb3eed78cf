"""One test per row of the lifecycle table (docs/lifecycle.md) (domain with in-memory ports)."""

from __future__ import annotations

import pytest

from optin.domain.errors import TooManyRequests
from optin.domain.model import EventSource, EventType, Status
from optin.domain.subscribers import lifecycle
from tests.support.lifecycle import (
    NUMBER,
    arrange,
    cooldown_seconds,
    past_cooldown,
    register,
    reply,
)


def sms_during(ports, action) -> list[str]:
    before = len(ports.sender.sent)
    action()
    return [kind for _, _, kind, _ in ports.sender.sent[before:]]


@pytest.mark.parametrize(
    ("start", "action", "status", "sms"),
    [
        ("none", "register", Status.PENDING, ["confirmation"]),
        ("EXPIRED", "register", Status.PENDING, ["confirmation"]),
        ("PENDING", "register", Status.PENDING, ["confirmation"]),
        ("PENDING", "YES", Status.CONFIRMED, ["welcome"]),
        ("CONFIRMED", "register", Status.CONFIRMED, []),
        ("PENDING", "STOP", Status.OPTED_OUT, []),
        ("CONFIRMED", "STOP", Status.OPTED_OUT, []),
        ("EXPIRED", "STOP", Status.OPTED_OUT, []),
        ("OPTED_OUT", "register", Status.OPTED_OUT, []),
        ("OPTED_OUT_REQUESTED", "YES", Status.CONFIRMED, ["welcome"]),
        ("OPTED_OUT_REQUESTED", "START", Status.CONFIRMED, ["welcome"]),
    ],
    ids=lambda value: str(value),
)
def test_lifecycle_row(ports, start, action, status, sms):
    # Given a number in the starting state
    arrange(ports, start)
    # When the event happens
    sent = sms_during(
        ports, lambda: register(ports) if action == "register" else reply(ports, action)
    )
    # Then the state and the SMS sent are those of the table
    subscriber = ports.store.get(NUMBER)
    assert subscriber.status is status
    assert subscriber.opt_out == ("NONE" if status is Status.CONFIRMED else "ALL")
    assert sent == sms


def test_registration_inside_cooldown_is_refused_without_sms(ports, clock):
    cooldown = cooldown_seconds(ports)
    register(ports)
    clock.advance(seconds=cooldown // 2)
    with pytest.raises(TooManyRequests) as refused:
        sms_during(ports, lambda: register(ports))
    assert refused.value.retry_after_seconds == cooldown - cooldown // 2
    assert ports.sender.kinds() == ["confirmation"]
    assert ports.store.get(NUMBER).status is Status.PENDING


def test_registration_over_daily_cap_is_refused_until_midnight(ports, clock):
    cap = ports.rules.policy.daily_cap
    for _ in range(cap):
        register(ports)
        past_cooldown(ports)
    with pytest.raises(TooManyRequests) as refused:
        register(ports)
    midnight = clock.now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert refused.value.retry_after_seconds == int(86400 - (clock.now - midnight).total_seconds())
    assert ports.sender.kinds() == ["confirmation"] * cap
    clock.advance(days=1)
    register(ports)
    assert ports.sender.kinds() == ["confirmation"] * (cap + 1)


def test_confirm_after_window_expires_and_notices_at_most_once_a_day(ports, clock):
    register(ports)
    clock.advance(hours=24, seconds=1)
    sent = sms_during(ports, lambda: reply(ports, "yes"))
    assert ports.store.get(NUMBER).status is Status.EXPIRED
    assert sent == ["expired"]
    clock.advance(hours=3)
    assert sms_during(ports, lambda: reply(ports, "YES")) == []
    clock.advance(hours=21)
    assert sms_during(ports, lambda: reply(ports, "YES")) == ["expired"]
    assert ports.store.get(NUMBER).status is Status.EXPIRED


def test_confirm_inside_window_edge_is_accepted(ports, clock):
    register(ports)
    clock.advance(hours=24)
    reply(ports, "Yes")
    assert ports.store.get(NUMBER).status is Status.CONFIRMED


def test_confirmed_registration_is_never_downgraded(ports):
    arrange(ports, "CONFIRMED")
    confirmed_at = ports.store.get(NUMBER).confirmed_at
    register(ports, first_name="Someone", last_name="Else")
    subscriber = ports.store.get(NUMBER)
    assert subscriber.status is Status.CONFIRMED
    assert subscriber.confirmed_at == confirmed_at
    assert subscriber.first_name == "Carlos"
    assert ports.store.events(NUMBER)[-1].type is EventType.REGISTRATION_REPEATED


def test_opted_out_registration_records_a_resubscription_request(ports):
    arrange(ports, "OPTED_OUT")
    register(ports)
    subscriber = ports.store.get(NUMBER)
    assert subscriber.status is Status.OPTED_OUT
    assert subscriber.resubscribe_requested_at is not None
    assert ports.store.events(NUMBER)[-1].type is EventType.RESUBSCRIBE_REQUESTED


def test_resubscription_takes_the_number_off_the_platform_opt_out_list(ports):
    arrange(ports, "OPTED_OUT_REQUESTED")
    ports.sender.opted_out.add(NUMBER)
    reply(ports, "YES")
    assert ports.sender.removed == [NUMBER]
    assert ports.sender.kinds() == ["confirmation", "welcome"]


def test_opted_out_without_request_stays_opted_out_on_yes(ports):
    arrange(ports, "OPTED_OUT")
    assert sms_during(ports, lambda: reply(ports, "YES")) == []
    assert ports.store.get(NUMBER).status is Status.OPTED_OUT


def test_resubscription_request_expires_with_the_window(ports, clock):
    arrange(ports, "OPTED_OUT_REQUESTED")
    clock.advance(hours=25)
    assert sms_during(ports, lambda: reply(ports, "YES")) == []
    assert ports.store.get(NUMBER).status is Status.OPTED_OUT


@pytest.mark.parametrize(
    ("body", "sms"),
    [("YES", ["signup"]), ("STOP", []), ("HELP", []), ("hello", []), ("START", ["signup"])],
)
def test_unknown_number_never_becomes_a_subscriber(ports, body, sms):
    # Only a keyword asking to join is answered, with where to sign up.
    assert sms_during(ports, lambda: reply(ports, body, number="+14255550199")) == sms
    assert ports.store.get("+14255550199") is None
    assert [event.type for event in ports.store.events("+14255550199")] == [EventType.INBOUND] + [
        EventType.SIGNUP_SENT
    ] * len(sms)


@pytest.mark.parametrize("body", ["yesterday", "eyes", "no", "HELP", "what is this?"])
def test_pending_stays_pending_on_anything_but_the_keyword(ports, body):
    arrange(ports, "PENDING")
    assert sms_during(ports, lambda: reply(ports, body)) == []
    assert ports.store.get(NUMBER).status is Status.PENDING


def test_every_transition_and_inbound_is_in_the_ledger(ports):
    register(ports)
    reply(ports, "YES please", message_id="in-1")
    reply(ports, "STOP", message_id="in-2")
    events = ports.store.events(NUMBER)
    assert [event.type for event in events] == [
        EventType.REGISTERED,
        EventType.CONFIRMATION_SENT,
        EventType.INBOUND,
        EventType.CONFIRMED,
        EventType.WELCOME_SENT,
        EventType.INBOUND,
        EventType.OPTED_OUT,
    ]
    registered = events[0].details
    assert registered["ip"] == "203.0.113.9"
    assert registered["userAgent"] == "pytest"
    assert registered["disclosureVersion"] == ports.rules.texts.disclosure_version
    assert events[1].details["messageId"] == "msg-1"
    assert events[2].details["body"] == "YES please"
    assert events[2].details["inboundMessageId"] == "in-1"
    assert ports.store.disclosures == {
        ports.rules.texts.disclosure_version: ports.rules.texts.disclosure
    }


def test_redelivered_inbound_message_is_processed_once(ports):
    register(ports)
    first = reply(ports, "YES", message_id="same")
    again = reply(ports, "YES", message_id="same")
    assert first.outcome is not None
    assert again.outcome is None
    assert ports.sender.kinds() == ["confirmation", "welcome"]
    assert [e.type for e in ports.store.events(NUMBER)].count(EventType.INBOUND) == 1


# Repeated registrations: the same limits in every state ---------------------------------

EVERY_STATE = ["none", "PENDING", "EXPIRED", "CONFIRMED", "OPTED_OUT", "OPTED_OUT_REQUESTED"]
REGISTRATIONS = {
    EventType.REGISTERED,
    EventType.REGISTRATION_REPEATED,
    EventType.RESUBSCRIBE_REQUESTED,
}


@pytest.mark.parametrize("start", EVERY_STATE)
def test_repeated_registration_inside_the_cooldown_is_refused_in_every_state(ports, clock, start):
    # Given a number in the starting state that has just been registered (accepted)
    arrange(ports, start)
    register(ports)
    before = (ports.store.get(NUMBER), ports.store.events(NUMBER), list(ports.sender.sent))
    # When it is registered again 30 s later
    clock.advance(seconds=30)
    with pytest.raises(TooManyRequests) as refused:
        register(ports)
    # Then the refusal is the same whatever the state, and nothing changes or is sent
    assert (refused.value.retry_after_seconds, refused.value.message) == (
        30,
        lifecycle.LIMIT_MESSAGE,
    )
    assert (ports.store.get(NUMBER), ports.store.events(NUMBER), ports.sender.sent) == before


@pytest.mark.parametrize("start", EVERY_STATE)
def test_registrations_over_the_daily_cap_are_refused_in_every_state(ports, clock, start):
    arrange(ports, start)
    status = ports.store.get(NUMBER).status if start != "none" else None
    refused = None
    for _ in range(10):
        try:
            register(ports)
        except TooManyRequests as error:
            refused = error
            break
        clock.advance(seconds=61)
    assert refused is not None
    midnight = clock.now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert refused.message == lifecycle.LIMIT_MESSAGE
    assert refused.retry_after_seconds == int(86400 - (clock.now - midnight).total_seconds())
    today = [
        event
        for event in ports.store.events(NUMBER)
        if event.type in REGISTRATIONS and event.at.date() == clock.now.date()
    ]
    assert len(today) == ports.rules.policy.daily_cap
    if status is Status.CONFIRMED or status is Status.OPTED_OUT:
        assert ports.store.get(NUMBER).status is status  # never changed by a registration


@pytest.mark.parametrize(
    ("start", "writes"),
    [
        ("none", ["save"]),  # the claim (the sender records CONFIRMATION_SENT)
        ("PENDING", ["save"]),
        ("EXPIRED", ["save"]),
        ("CONFIRMED", ["save"]),  # the attempt and REGISTRATION_REPEATED
        ("OPTED_OUT", ["save"]),  # the attempt and RESUBSCRIBE_REQUESTED
    ],
)
def test_every_state_reads_once_and_writes_its_attempt_with_one_conditional_save(
    ports, start, writes
):
    arrange(ports, start)
    ports.queue.immediate = False  # the registration's own calls, not the sender's after it
    ports.store.calls.clear()
    register(ports)
    # Every state also takes one unit of its prefix's hour and one of the day's budget.
    taken = ["take_unit", "take_unit"]
    # An unknown number is also looked up under its erasure hash (an erased number that had
    # opted out must come back opted out).
    erased = ["erased_number"] if start == "none" else []
    calls = [call for call in ports.store.calls if call != "keep_disclosure"]
    assert calls == ["get", *erased, *taken, *writes]


def test_a_registration_event_names_the_form_as_its_source_and_keeps_the_page(ports):
    register(ports, source="operator")  # whatever the client calls its page
    registered, sent = ports.store.events(NUMBER)
    assert (registered.source, registered.details["page"]) == (EventSource.FORM, "operator")
    assert sent.source == EventSource.REGISTRATION
    assert ports.store.get(NUMBER).source == "operator"  # the subscriber's Source: the page


@pytest.mark.parametrize("start", ["CONFIRMED", "OPTED_OUT"])
def test_registrations_of_known_numbers_record_the_page_beside_the_form(ports, start):
    arrange(ports, start)
    register(ports, source="platform")
    event = ports.store.events(NUMBER)[-1]
    assert (event.source, event.details["page"]) == (EventSource.FORM, "platform")
