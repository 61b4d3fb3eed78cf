"""The sender's use case on in-memory ports: once per key, at the pace, never to a number
that opted out, a confirmation dropped when it waited too long."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from optin.domain.errors import (
    Dependency,
    DependencyUnavailable,
    SendOutcomeUnknown,
    SendQuotaExceeded,
    SendRefused,
    SendThrottled,
)
from optin.domain.language.messages import Template
from optin.domain.model import EventType, Status, Subscriber
from optin.domain.ports import Ports
from optin.domain.sending.outbound import OutboundMessage, SendRecord, SendState, message_key
from optin.domain.sending.pacing import LATENESS, most_parts_in_a_window
from optin.domain.sending.send import (
    QUOTA_DELAY,
    SEND_LEASE,
    WAIT_HORIZON,
    SendOutcome,
    reserve_slot,
    send_queued,
)
from optin.domain.subscribers import lifecycle
from optin.domain.subscribers.erasure import erase_subscriber
from optin.settings import Settings
from tests.support.fakes import (
    BASE_ENV,
    Clock,
    FakeSender,
    MemoryBucket,
    MemoryQueue,
    MemoryStore,
    drain,
    fake_ports,
)
from tests.support.lifecycle import claimed, confirmation_of

NUMBER = "+12065550142"
ONE_PART = "ExampleCorp: you're subscribed. Reply STOP to cancel."


def make_ports(settings: Settings, clock: Clock) -> Ports:
    """The fakes, with a queue that waits to be drained and a bucket that paces."""
    return fake_ports(settings.rules, clock, queue=MemoryQueue(clock), bucket=MemoryBucket())


@pytest.fixture
def ports(settings: Settings, clock: Clock) -> Ports:
    return make_ports(settings, clock)


def sms_of(ports: Ports) -> FakeSender:
    assert isinstance(ports.sender, FakeSender)
    return ports.sender


def sent_at(ports: Ports) -> list[datetime]:
    return sms_of(ports).sent_at


def pending(ports: Ports, number: str = NUMBER) -> Subscriber:
    """A pending subscriber whose confirmation was just claimed."""
    return claimed(ports.store, number, ports.clock())


def confirmation(ports: Ports, subscriber: Subscriber) -> OutboundMessage:
    body = ports.rules.texts.render(Template.CONFIRMATION)
    return confirmation_of(subscriber, body, ports.clock(), correlation_id="request-1")


def reply(
    ports: Ports, kind: Template, number: str = NUMBER, inbound: str = "in-1"
) -> OutboundMessage:
    return OutboundMessage.decided(
        kind,
        number,
        ports.rules.texts.render(kind),
        ports.clock(),
        claim=inbound,
        inbound_message_id=inbound,
    )


def opt_out(ports: Ports, subscriber: Subscriber, status: Status = Status.OPTED_OUT) -> None:
    ports.store.save(replace(subscriber, status=status), expected_version=subscriber.version)


def types(ports: Ports, number: str = NUMBER) -> list[str]:
    return [event.type.value for event in ports.store.events(number)]


# Once per key ----------------------------------------------------------------------------


def test_a_confirmation_is_sent_and_recorded(ports: Ports) -> None:
    message = confirmation(ports, pending(ports))
    result = send_queued(message, ports)
    assert result.outcome is SendOutcome.SENT
    assert result.parts == 2
    ((number, _, kind, key),) = sms_of(ports).sent
    assert (number, kind, key) == (NUMBER, "confirmation", message.key)
    assert NUMBER not in key
    assert "request" not in key
    record = ports.store.send_record(message.key)
    assert record is not None
    assert (record.state, record.message_id, record.parts) == (SendState.SENT, "msg-1", 2)
    (sent,) = ports.store.events(NUMBER)
    assert sent.type is EventType.CONFIRMATION_SENT
    assert sent.details == {
        "messageKey": message.key,
        "kind": "confirmation",
        "correlationId": "request-1",
        "messageId": "msg-1",
        "parts": 2,
    }


def test_a_redelivery_is_not_sent_again(ports: Ports) -> None:
    message = confirmation(ports, pending(ports))
    assert send_queued(message, ports).outcome is SendOutcome.SENT
    assert send_queued(message, ports, receive_count=2).outcome is SendOutcome.DUPLICATE
    assert len(sms_of(ports).sent) == 1


def test_a_second_enqueue_of_the_same_key_is_sent_once(ports: Ports) -> None:
    subscriber = pending(ports)
    first, second = confirmation(ports, subscriber), confirmation(ports, subscriber)
    assert first.key == second.key
    ports.queue.enqueue(first)
    ports.queue.enqueue(second)
    outcomes = [result.outcome for result in drain(ports)]
    assert outcomes == [SendOutcome.SENT, SendOutcome.DUPLICATE]
    assert len(sms_of(ports).sent) == 1


def test_keys_tell_messages_apart() -> None:
    keys = {
        message_key("confirmation", NUMBER, "claim-1"),
        message_key("confirmation", NUMBER, "claim-2"),
        message_key("welcome", NUMBER, "claim-1"),
        message_key("confirmation", "+12065550143", "claim-1"),
    }
    assert len(keys) == 4
    assert all(key.startswith("m-") and len(key) == 42 for key in keys)


def test_a_claim_another_sender_holds_is_left_to_it(ports: Ports, clock: Clock) -> None:
    message = reply(ports, Template.WELCOME)
    claimed = replace(
        _record_for(message, clock),
        state=SendState.CLAIMED,
        lease_until=clock() + timedelta(seconds=30),
    )
    ports.store.save_send(claimed, expected_version=None)
    result = send_queued(message, ports, receive_count=2)
    assert result.outcome is SendOutcome.IN_FLIGHT
    assert result.retry_after == timedelta(seconds=31)
    assert sms_of(ports).sent == []


def test_a_claim_left_after_its_lease_means_maybe_sent(ports: Ports, clock: Clock) -> None:
    """A sender stopped between SendTextMessage and its record: never sent again."""
    message = reply(ports, Template.WELCOME)
    claimed = replace(
        _record_for(message, clock),
        state=SendState.CLAIMED,
        lease_until=clock() - timedelta(seconds=1),
    )
    ports.store.save_send(claimed, expected_version=None)
    result = send_queued(message, ports, receive_count=2)
    assert result.outcome is SendOutcome.UNKNOWN
    assert sms_of(ports).sent == []
    assert ports.store.send_record(message.key).state is SendState.UNKNOWN  # type: ignore[union-attr]
    assert types(ports) == ["SMS_OUTCOME_UNKNOWN"]
    assert send_queued(message, ports, receive_count=3).outcome is SendOutcome.DUPLICATE


def _record_for(message: OutboundMessage, clock: Clock) -> SendRecord:
    return SendRecord(
        key=message.key,
        phone_number=message.phone_number,
        kind=message.kind,
        state=SendState.RESERVED,
        updated_at=clock(),
    )


# Checked just before sending --------------------------------------------------------------


def test_nothing_goes_to_a_number_that_opted_out_meanwhile(ports: Ports) -> None:
    subscriber = pending(ports)
    message = confirmation(ports, subscriber)
    opt_out(ports, subscriber)
    result = send_queued(message, ports)
    assert result.outcome is SendOutcome.SKIPPED_OPTED_OUT
    assert sms_of(ports).sent == []
    (skipped,) = ports.store.events(NUMBER)
    assert (skipped.type, skipped.details["reason"]) == (EventType.SMS_SKIPPED, "opted_out")
    assert send_queued(message, ports).outcome is SendOutcome.DUPLICATE


def test_the_opt_out_confirmation_still_goes_to_an_opted_out_number(ports: Ports) -> None:
    subscriber = pending(ports)
    opt_out(ports, subscriber)
    assert send_queued(reply(ports, Template.STOP), ports).outcome is SendOutcome.SENT
    assert send_queued(reply(ports, Template.WELCOME, inbound="in-2"), ports).outcome is (
        SendOutcome.SKIPPED_OPTED_OUT
    )
    assert sms_of(ports).kinds() == ["stop"]


def test_a_message_to_a_number_without_subscriber_is_sent(ports: Ports) -> None:
    """The "sign up" answer goes to a number that never registered."""
    assert send_queued(reply(ports, Template.HELP), ports).outcome is SendOutcome.SENT


def test_a_superseded_confirmation_is_skipped(ports: Ports, clock: Clock) -> None:
    first = pending(ports)
    old = confirmation(ports, first)
    clock.advance(seconds=90)
    newer = ports.store.save(
        replace(first, confirmation_sent_at=clock()), expected_version=first.version
    )
    result = send_queued(old, ports)
    assert (result.outcome, result.reason) == (SendOutcome.SKIPPED_SUPERSEDED, "superseded")
    assert send_queued(confirmation(ports, newer), ports).outcome is SendOutcome.SENT
    assert len(sms_of(ports).sent) == 1


def test_a_confirmation_for_a_number_that_confirmed_meanwhile_is_skipped(ports: Ports) -> None:
    subscriber = pending(ports)
    message = confirmation(ports, subscriber)
    opt_out(ports, subscriber, Status.CONFIRMED)
    assert send_queued(message, ports).outcome is SendOutcome.SKIPPED_SUPERSEDED


# The maximum delay -----------------------------------------------------------------------


def test_a_confirmation_that_waited_too_long_is_dropped_and_its_claim_released(
    ports: Ports, clock: Clock
) -> None:
    subscriber = pending(ports)
    message = confirmation(ports, subscriber)
    clock.advance(seconds=ports.rules.policy.confirmation_max_delay.total_seconds() + 1)
    result = send_queued(message, ports)
    assert result.outcome is SendOutcome.DROPPED
    assert sms_of(ports).sent == []
    released = ports.store.get(NUMBER)
    assert released is not None
    assert released.confirmation_sent_at is None
    assert released.last_attempt_at is None
    assert (released.confirmations_that_day, released.attempts_that_day) == (0, 0)
    (dropped,) = ports.store.events(NUMBER)
    assert dropped.type is EventType.CONFIRMATION_DROPPED
    assert dropped.details["waited"] == 901
    # The person may register again at once: nothing left of the cool-down or the count.
    assert lifecycle.decide_registration(released, clock(), ports.rules.policy) is (
        lifecycle.RegistrationOutcome.SEND_CONFIRMATION
    )


def test_a_confirmation_just_inside_the_delay_is_sent(ports: Ports, clock: Clock) -> None:
    message = confirmation(ports, pending(ports))
    clock.advance(seconds=ports.rules.policy.confirmation_max_delay.total_seconds())
    assert send_queued(message, ports).outcome is SendOutcome.SENT


def test_a_late_welcome_is_still_sent(ports: Ports, clock: Clock) -> None:
    message = reply(ports, Template.WELCOME)
    clock.advance(hours=2)
    assert send_queued(message, ports).outcome is SendOutcome.SENT


# What the platform answers ----------------------------------------------------------------


def test_a_throttled_message_goes_back_to_the_queue_and_is_sent_later(ports: Ports) -> None:
    message = confirmation(ports, pending(ports))
    sms_of(ports).failures.append(SendThrottled("ThrottlingException"))
    result = send_queued(message, ports)
    assert (result.outcome, result.retry_after) == (SendOutcome.THROTTLED, timedelta(seconds=2))
    assert ports.store.send_record(message.key).state is SendState.RESERVED  # type: ignore[union-attr]
    assert send_queued(message, ports, receive_count=2).outcome is SendOutcome.SENT
    assert len(sms_of(ports).sent) == 1


@pytest.mark.parametrize(("receive_count", "seconds"), [(1, 2), (2, 4), (3, 8), (6, 60), (40, 60)])
def test_retries_wait_longer_each_time(ports: Ports, receive_count: int, seconds: int) -> None:
    sms_of(ports).failures.append(SendThrottled("ThrottlingException"))
    result = send_queued(reply(ports, Template.WELCOME), ports, receive_count=receive_count)
    assert result.retry_after == timedelta(seconds=seconds)


def test_a_quota_waits_much_longer(ports: Ports) -> None:
    sms_of(ports).failures.append(
        SendQuotaExceeded("ServiceQuotaExceededException", "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT")
    )
    result = send_queued(reply(ports, Template.WELCOME), ports)
    assert result.outcome is SendOutcome.QUOTA_EXCEEDED
    assert result.retry_after == QUOTA_DELAY
    assert result.reason == "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT"


def test_a_failing_provider_is_retried(ports: Ports) -> None:
    sms_of(ports).failures.append(DependencyUnavailable(Dependency.SMS, "InternalServerException"))
    result = send_queued(reply(ports, Template.WELCOME), ports)
    assert (result.outcome, result.retry_after) == (SendOutcome.RETRY, timedelta(seconds=2))


def test_a_refused_confirmation_is_recorded_and_its_claim_released(ports: Ports) -> None:
    message = confirmation(ports, pending(ports))
    sms_of(ports).failures.append(SendRefused("ValidationException"))
    result = send_queued(message, ports)
    assert result.done
    assert result.outcome is SendOutcome.REFUSED
    assert types(ports) == ["SMS_FAILED"]
    assert ports.store.get(NUMBER).confirmation_sent_at is None  # type: ignore[union-attr]
    assert send_queued(message, ports).outcome is SendOutcome.DUPLICATE


def test_an_unknown_outcome_is_never_sent_again(ports: Ports) -> None:
    message = reply(ports, Template.WELCOME)
    sms_of(ports).failures.append(SendOutcomeUnknown("ReadTimeoutError"))
    assert send_queued(message, ports).outcome is SendOutcome.UNKNOWN
    assert send_queued(message, ports, receive_count=2).outcome is SendOutcome.DUPLICATE
    assert types(ports) == ["SMS_OUTCOME_UNKNOWN"]


def test_the_platform_opt_out_list_marks_the_number_opted_out(ports: Ports) -> None:
    message = confirmation(ports, pending(ports))
    sms_of(ports).opted_out.add(NUMBER)
    assert send_queued(message, ports).outcome is SendOutcome.BLOCKED
    subscriber = ports.store.get(NUMBER)
    assert subscriber is not None
    assert subscriber.status is Status.OPTED_OUT
    assert subscriber.resubscribe_requested_at is not None  # as a registration of it would
    assert types(ports) == ["SMS_BLOCKED_OPTED_OUT"]


# The pace --------------------------------------------------------------------------------


def other_senders_reserve(ports: Ports, parts: int, times: int) -> None:
    """Slots taken by other senders' messages (their sends are not this test's)."""
    for _ in range(times):
        reserve_slot(ports, parts, ports.rules.policy.send_rate)


def test_a_slot_beyond_the_horizon_sends_the_message_back_until_then(
    ports: Ports, clock: Clock
) -> None:
    """At one part per second, behind three two-part messages of other senders, a
    confirmation's slot is six seconds away: back on the queue with its slot kept, then
    sent at that slot."""
    message = confirmation(ports, pending(ports))
    other_senders_reserve(ports, parts=2, times=3)
    start = clock()
    deferred = send_queued(message, ports)
    assert deferred.outcome is SendOutcome.DEFERRED
    record = ports.store.send_record(message.key)
    assert record is not None
    assert record.state is SendState.RESERVED
    assert record.slot == start + timedelta(seconds=6)
    assert record.slot - start > WAIT_HORIZON
    assert deferred.retry_after == timedelta(seconds=5)
    clock.now = start + deferred.retry_after
    assert send_queued(message, ports, receive_count=2).outcome is SendOutcome.SENT
    assert sent_at(ports)[-1] == record.slot


def test_a_slot_missed_by_more_than_the_lateness_is_reserved_again(
    ports: Ports, clock: Clock
) -> None:
    message = confirmation(ports, pending(ports))
    other_senders_reserve(ports, parts=2, times=3)
    send_queued(message, ports)
    record = ports.store.send_record(message.key)
    assert record is not None
    assert record.slot is not None
    clock.now = record.slot + LATENESS + timedelta(milliseconds=1)
    assert send_queued(message, ports, receive_count=2).outcome is SendOutcome.SENT
    assert sent_at(ports)[-1] > record.slot + LATENESS


def test_drained_messages_never_crowd_a_second(ports: Ports) -> None:
    subscribers = [pending(ports, f"+1206555{n:04d}") for n in range(30)]
    for subscriber in subscribers:
        ports.queue.enqueue(confirmation(ports, subscriber))
    for n in range(10):
        ports.queue.enqueue(reply(ports, Template.WELCOME, f"+1206555{n:04d}", inbound=f"in-{n}"))
    drain(ports)
    sent = sms_of(ports).sent
    assert len(sent) == 40
    windows = [
        (at, 2 if kind == "confirmation" else 1)
        for (_, _, kind, _), at in zip(sent, sent_at(ports), strict=True)
    ]
    assert most_parts_in_a_window(windows, timedelta(seconds=1)) <= max(
        ports.rules.policy.send_rate, 2
    )


def test_the_rate_comes_from_the_rules(clock: Clock) -> None:
    fast = make_ports(Settings.from_env({**BASE_ENV, "SEND_RATE_PER_SECOND": "20"}), clock)
    for n in range(100):
        fast.queue.enqueue(reply(fast, Template.WELCOME, f"+1206555{n:04d}", inbound=f"in-{n}"))
    start = clock()
    drain(fast)
    times = sent_at(fast)
    assert most_parts_in_a_window([(at, 1) for at in times], timedelta(seconds=1)) == 20
    assert (times[-1] - start).total_seconds() == pytest.approx(99 / 20 * 1.05, rel=0.05)


def test_the_lease_outlasts_the_wait_for_a_slot() -> None:
    assert SEND_LEASE > WAIT_HORIZON * 2


def test_an_opt_out_while_waiting_for_the_slot_stops_the_message(
    ports: Ports, clock: Clock
) -> None:
    """The subscriber is read again after the wait, just before SendTextMessage."""
    message = confirmation(ports, pending(ports))
    other_senders_reserve(ports, parts=2, times=1)  # the slot is two seconds away

    def stop_meanwhile(seconds: float) -> None:
        clock.advance(seconds=seconds)
        current = ports.store.get(NUMBER)
        assert current is not None
        opt_out(ports, current)

    ports.sleep = stop_meanwhile
    result = send_queued(message, ports)
    assert result.outcome is SendOutcome.SKIPPED_OPTED_OUT
    assert sms_of(ports).sent == []
    assert ports.store.send_record(message.key).state is SendState.SKIPPED  # type: ignore[union-attr]


# Erased numbers --------------------------------------------------------------------------


def erase(ports: Ports) -> None:
    store = ports.store
    assert isinstance(store, MemoryStore)
    erase_subscriber(store, NUMBER, requested_by="arn:ops", source="operator", clock=ports.clock)


def test_a_message_queued_before_its_number_was_erased_is_neither_sent_nor_recorded(
    ports: Ports, clock: Clock
) -> None:
    pending(ports)
    message = reply(ports, Template.HELP)
    clock.advance(seconds=1)
    erase(ports)
    result = send_queued(message, ports)
    assert result.outcome is SendOutcome.SKIPPED_ERASED
    assert sms_of(ports).sent == []
    assert ports.store.events(NUMBER) == []  # nothing written again under the number
    record = ports.store.send_record(message.key)
    assert record is not None
    assert record.state is SendState.ERASED
    assert send_queued(message, ports).outcome is SendOutcome.SKIPPED_ERASED  # a redelivery


def test_an_answer_to_a_number_erased_before_it_wrote_is_sent(ports: Ports, clock: Clock) -> None:
    """Erased long ago, the number writes again: its answer is new activity, and goes."""
    pending(ports)
    erase(ports)
    clock.advance(seconds=1)
    assert send_queued(reply(ports, Template.HELP), ports).outcome is SendOutcome.SENT


def test_the_send_record_of_an_erased_number_keeps_no_number(ports: Ports) -> None:
    message = confirmation(ports, pending(ports))
    send_queued(message, ports)
    erase(ports)
    record = ports.store.send_record(message.key)
    assert record is not None
    assert NUMBER not in record.phone_number
    assert record.state is SendState.ERASED
