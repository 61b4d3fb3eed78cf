"""What happens when the outside world fails or races: nothing lost, nothing doubled."""

from __future__ import annotations

import threading

import pytest

from optin.domain.errors import (
    Dependency,
    DependencyUnavailable,
    DestinationOptedOut,
    NotAMobileNumber,
    SendThrottled,
    TooManyRequests,
)
from optin.domain.model import EventType, Status
from optin.domain.sending.outbound import SendState
from optin.domain.subscribers.phone import LANDLINE, VOIP, NumberFacts
from optin.settings import Settings
from tests.support.fakes import BASE_ENV, drain
from tests.support.lifecycle import NUMBER, past_cooldown, register, reply


def test_a_queue_failure_leaves_a_state_where_an_immediate_retry_sends(ports):
    ports.queue.failures.append(
        DependencyUnavailable(Dependency.QUEUE, "SQS send_message failed: ThrottlingException")
    )
    with pytest.raises(DependencyUnavailable):
        register(ports)
    subscriber = ports.store.get(NUMBER)
    assert subscriber.status is Status.PENDING
    assert subscriber.confirmation_sent_at is None
    register(ports)  # no time passes: not rate limited
    assert ports.sender.kinds() == ["confirmation"]
    types = [event.type for event in ports.store.events(NUMBER)]
    assert types == [
        EventType.REGISTERED,
        EventType.SMS_FAILED,
        EventType.REGISTERED,
        EventType.CONFIRMATION_SENT,
    ]


def test_sms_throttled_is_absorbed_by_the_queue_and_sent_once_later(ports):
    ports.sender.failures.append(SendThrottled("SendTextMessage failed: ThrottlingException"))
    result = register(ports)  # accepted: the confirmation waits in the queue
    assert ports.sender.kinds() == []
    drain(ports)
    assert ports.sender.kinds() == ["confirmation"]
    assert result.message_key == ports.sender.sent[0][3]
    types = [event.type for event in ports.store.events(NUMBER)]
    assert types == [EventType.REGISTERED, EventType.CONFIRMATION_SENT]


def test_retry_after_failure_on_a_pending_number_keeps_its_earlier_counters(ports):
    register(ports)
    past_cooldown(ports)
    ports.queue.failures.append(DependencyUnavailable(Dependency.QUEUE, "SQS unavailable"))
    with pytest.raises(DependencyUnavailable):
        register(ports)
    subscriber = ports.store.get(NUMBER)
    assert subscriber.confirmations_that_day == 1
    register(ports)
    assert ports.store.get(NUMBER).confirmations_that_day == 2


def test_platform_opt_out_on_registration_marks_opted_out_with_a_request(ports):
    ports.sender.opted_out.add(NUMBER)
    register(ports)  # accepted; the sender meets the opt-out list
    subscriber = ports.store.get(NUMBER)
    assert subscriber.status is Status.OPTED_OUT
    assert subscriber.resubscribe_requested_at is not None
    reply(ports, "YES")  # the response told them to text YES
    assert ports.store.get(NUMBER).status is Status.CONFIRMED
    assert ports.sender.kinds() == ["welcome"]


def test_platform_opt_out_on_welcome_marks_opted_out(ports):
    register(ports)
    ports.sender.opted_out.add(NUMBER)
    reply(ports, "YES")
    assert ports.store.get(NUMBER).status is Status.OPTED_OUT
    assert EventType.SMS_BLOCKED_OPTED_OUT in [e.type for e in ports.store.events(NUMBER)]


def test_welcome_throttled_is_sent_on_redelivery_once(ports):
    register(ports)
    ports.sender.failures.append(SendThrottled("throttled"))
    reply(ports, "YES", message_id="in-1")  # queued; its first send is throttled
    assert ports.store.get(NUMBER).status is Status.CONFIRMED
    reply(ports, "YES", message_id="in-1")  # the platform retries the same event
    reply(ports, "YES", message_id="in-1")
    drain(ports)
    assert ports.sender.kinds() == ["confirmation", "welcome"]
    types = [event.type for event in ports.store.events(NUMBER)]
    assert types.count(EventType.CONFIRMED) == 1
    assert types.count(EventType.WELCOME_SENT) == 1


def test_out_of_order_stop_before_yes(ports, clock):
    register(ports)
    reply(ports, "STOP", message_id="b")
    reply(ports, "YES", message_id="a")  # arrives late: must not re-subscribe
    assert ports.store.get(NUMBER).status is Status.OPTED_OUT


@pytest.mark.parametrize("number_type", [LANDLINE, VOIP, "INVALID"])
def test_not_mobile_is_refused_with_nothing_stored(ports, number_type):
    ports.lookup.facts[NUMBER] = NumberFacts(number_type=number_type)
    with pytest.raises(NotAMobileNumber):
        register(ports)
    assert ports.store.get(NUMBER) is None
    assert ports.sender.sent == []


def test_voip_accepted_when_configured(ports):
    ports.rules = Settings.from_env({**BASE_ENV, "ALLOW_VOIP": "true"}).rules
    ports.lookup.facts[NUMBER] = NumberFacts(number_type=VOIP)
    register(ports)
    assert ports.sender.kinds() == ["confirmation"]


def test_lookup_failure_is_503_with_nothing_stored(ports):
    ports.lookup.fail = True
    with pytest.raises(DependencyUnavailable):
        register(ports)
    assert ports.store.get(NUMBER) is None
    assert ports.sender.sent == []


def test_known_number_is_not_looked_up_again(ports):
    register(ports)
    past_cooldown(ports)
    register(ports)
    assert ports.lookup.calls == [NUMBER]


def test_fifty_concurrent_registrations_send_one_confirmation(ports):
    barrier = threading.Barrier(50)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            register(ports)
            outcomes.append("accepted")
        except TooManyRequests:
            outcomes.append("429")

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ports.sender.kinds() == ["confirmation"]
    assert outcomes.count("accepted") == 1
    assert outcomes.count("429") == 49
    registered = [e for e in ports.store.events(NUMBER) if e.type is EventType.REGISTERED]
    assert len(registered) == 1


def test_destination_opted_out_is_a_distinct_error():
    assert not issubclass(DestinationOptedOut, DependencyUnavailable)


def test_ledger_write_failing_after_the_send_still_accepts(ports):
    original = ports.store.save_send

    def throttled(record, **kwargs):
        if record.state is SendState.SENT:
            raise DependencyUnavailable(
                Dependency.TABLE, "DynamoDB unavailable: ThrottlingException"
            )
        return original(record, **kwargs)

    ports.store.save_send = throttled
    result = register(ports)
    (sent,) = ports.queue.results
    assert sent.sent_not_recorded
    assert sent.message_id == "msg-1"
    assert sent.done  # it left: never put back
    assert result.message_key == sent.message.key
    assert ports.sender.kinds() == ["confirmation"]
    assert ports.store.get(NUMBER).status is Status.PENDING
