"""Delivery receipts into the ledger: once per (message id, event type); a confirmation
that failed for good gives its cool-down back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from optin.domain.errors import SendOutcomeUnknown
from optin.domain.language.messages import Template
from optin.domain.model import EventType
from optin.domain.ports import Ports
from optin.domain.sending.delivery import (
    DELIVERED_TYPES,
    IN_PROGRESS_TYPES,
    PERMANENT_FAILURE_TYPES,
    DeliveryOutcome,
    Receipt,
    classify,
    record_delivery,
)
from optin.domain.sending.outbound import SendState
from optin.domain.sending.send import SendOutcome, send_queued
from optin.domain.subscribers import lifecycle
from tests.support.fakes import Clock, FakeSender
from tests.unit.test_send import NUMBER, confirmation, erase, make_ports, pending, reply, sms_of

AT = datetime(2026, 11, 23, 15, 0, 5, tzinfo=UTC)


@pytest.fixture
def ports(settings, clock: Clock) -> Ports:

    return make_ports(settings, clock)


def receipt(key: str, event_type: str = "TEXT_DELIVERED", **fields: object) -> Receipt:
    fields = {"message_id": "msg-1", **fields}
    return Receipt(event_type=event_type, at=AT, key=key, **fields)  # type: ignore[arg-type]


def test_event_types() -> None:
    assert classify("TEXT_SUCCESSFUL") is DeliveryOutcome.DELIVERED
    assert classify("TEXT_PENDING") is DeliveryOutcome.IN_PROGRESS
    assert classify("TEXT_SPAM") is DeliveryOutcome.FAILED
    assert classify("TEXT_SOMETHING_NEW") is DeliveryOutcome.FAILED
    assert not DELIVERED_TYPES & PERMANENT_FAILURE_TYPES
    assert not IN_PROGRESS_TYPES & PERMANENT_FAILURE_TYPES


def test_a_delivered_message_is_in_its_numbers_ledger_once(ports: Ports) -> None:
    message = reply(ports, Template.WELCOME)
    send_queued(message, ports)
    first = record_delivery(receipt(message.key), ports)
    again = record_delivery(receipt(message.key), ports)
    assert (first.outcome, again.outcome) == (DeliveryOutcome.DELIVERED, DeliveryOutcome.DUPLICATE)
    delivered = [e for e in ports.store.events(NUMBER) if e.type is EventType.DELIVERED]
    assert len(delivered) == 1
    assert delivered[0].at == AT
    assert delivered[0].details["messageKey"] == message.key
    assert delivered[0].details["kind"] == "welcome"


def test_each_event_type_of_a_message_is_recorded(ports: Ports) -> None:
    message = reply(ports, Template.WELCOME)
    send_queued(message, ports)
    record_delivery(receipt(message.key, "TEXT_CARRIER_UNREACHABLE", is_final=False), ports)
    record_delivery(receipt(message.key, "TEXT_DELIVERED"), ports)
    assert [e.type for e in ports.store.events(NUMBER)][-2:] == [
        EventType.FAILED,
        EventType.DELIVERED,
    ]


def test_in_progress_events_are_not_outcomes(ports: Ports) -> None:
    message = reply(ports, Template.WELCOME)
    send_queued(message, ports)
    result = record_delivery(receipt(message.key, "TEXT_QUEUED"), ports)
    assert result.outcome is DeliveryOutcome.IN_PROGRESS
    assert [e.type for e in ports.store.events(NUMBER)] == [EventType.WELCOME_SENT]


@pytest.mark.parametrize("event_type", sorted(PERMANENT_FAILURE_TYPES))
def test_a_confirmation_that_failed_for_good_releases_the_cooldown(
    ports: Ports, clock: Clock, event_type: str
) -> None:
    message = confirmation(ports, pending(ports))
    send_queued(message, ports)
    result = record_delivery(receipt(message.key, event_type, is_final=True), ports)
    assert result.outcome is DeliveryOutcome.FAILED
    assert result.cooldown_released
    subscriber = ports.store.get(NUMBER)
    assert subscriber is not None
    assert subscriber.confirmation_sent_at is None
    assert subscriber.last_attempt_at is None
    assert subscriber.confirmations_that_day == 1  # it was sent: the day's count stays
    assert subscriber.attempts_that_day == 1
    assert lifecycle.decide_registration(subscriber, clock(), ports.rules.policy) is (
        lifecycle.RegistrationOutcome.SEND_CONFIRMATION
    )
    failed = ports.store.events(NUMBER)[-1]
    assert (failed.type, failed.details["eventType"]) == (EventType.FAILED, event_type)


def test_a_failure_that_is_not_final_keeps_the_cooldown(ports: Ports) -> None:
    message = confirmation(ports, pending(ports))
    send_queued(message, ports)
    result = record_delivery(receipt(message.key, "TEXT_UNREACHABLE", is_final=False), ports)
    assert not result.cooldown_released
    assert ports.store.get(NUMBER).confirmation_sent_at is not None  # type: ignore[union-attr]


def test_a_failure_of_an_older_claim_keeps_the_new_cooldown(ports: Ports, clock: Clock) -> None:
    subscriber = pending(ports)
    message = confirmation(ports, subscriber)
    send_queued(message, ports)
    clock.advance(seconds=120)
    current = ports.store.get(NUMBER)
    assert current is not None
    ports.store.save(
        replace(current, confirmation_sent_at=clock()), expected_version=current.version
    )
    result = record_delivery(receipt(message.key, "TEXT_BLOCKED"), ports)
    assert not result.cooldown_released
    assert ports.store.get(NUMBER).confirmation_sent_at == clock()  # type: ignore[union-attr]


def test_a_receipt_settles_a_send_whose_outcome_was_unknown(ports: Ports) -> None:
    message = reply(ports, Template.WELCOME)
    sms_of(ports).failures.append(SendOutcomeUnknown("ReadTimeoutError"))
    send_queued(message, ports)
    record_delivery(receipt(message.key), ports)
    record = ports.store.send_record(message.key)
    assert record is not None
    assert (record.state, record.message_id) == (SendState.SENT, "msg-1")


def test_without_a_key_the_event_goes_to_its_destination(ports: Ports) -> None:
    result = record_delivery(receipt("", destination=NUMBER), ports)
    assert result.outcome is DeliveryOutcome.DELIVERED
    assert [e.type for e in ports.store.events(NUMBER)] == [EventType.DELIVERED]


def test_without_a_key_or_a_destination_nothing_is_recorded(ports: Ports) -> None:
    assert record_delivery(receipt(""), ports).outcome is DeliveryOutcome.UNKNOWN_MESSAGE


def test_a_receipt_for_a_number_erased_since_is_not_recorded(ports: Ports) -> None:
    message = reply(ports, Template.WELCOME)
    send_queued(message, ports)
    erase(ports)
    result = record_delivery(receipt(message.key, destination=NUMBER), ports)
    assert result.outcome is DeliveryOutcome.UNKNOWN_MESSAGE
    assert ports.store.events(NUMBER) == []


class ReceiptFirst(FakeSender):
    """The delivery receipt is recorded before ``send`` returns to the sender, as a fast
    carrier and a slow sender can make it."""

    ports: Ports

    def send(self, phone_number: str, body: str, *, kind: str, key: str) -> str:
        message_id = super().send(phone_number, body, kind=kind, key=key)
        record_delivery(receipt(key, message_id=message_id), self.ports)
        return message_id


def test_a_receipt_that_settles_the_send_first_still_leaves_the_sent_event_once(
    settings, clock: Clock
) -> None:
    ports = make_ports(settings, clock)
    sender = ReceiptFirst()
    sender.ports = ports
    ports.sender = sender
    message = confirmation(ports, pending(ports))
    first = send_queued(message, ports)
    again = send_queued(message, ports)  # a redelivery: already settled
    assert first.outcome is SendOutcome.SENT
    assert not first.sent_not_recorded
    assert again.outcome is SendOutcome.DUPLICATE
    assert len(sender.sent) == 1
    types = [event.type for event in ports.store.events(NUMBER)]
    assert sorted(types) == sorted([EventType.CONFIRMATION_SENT, EventType.DELIVERED])
