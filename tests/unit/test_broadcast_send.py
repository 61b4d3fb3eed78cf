"""A broadcast's messages at send time, on in-memory ports: only to subscribers CONFIRMED
then, once per (broadcast, number), at most one broadcast per interval, inside quiet
hours, with each recipient's names, and in the ledger as BROADCAST_SENT."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from optin.domain.broadcasts.broadcast import document
from optin.domain.broadcasts.model import Tally
from optin.domain.model import EventType, Status
from optin.domain.ports import Ports
from optin.domain.sending.outbound import BROADCAST_KIND, OutboundMessage, SendState, message_key
from optin.domain.sending.send import SendOutcome, send_queued
from optin.settings import Settings
from tests.support.broadcasts import add_confirmed, confirmed, queue_of, sms_of, start, store_of
from tests.support.fakes import BASE_ENV, Clock, MemoryBucket, MemoryQueue, drain, fake_ports

NEW_YORK = "+12125550123"  # 10:00 at the tests' 15:00 UTC
SEATTLE = "+12065550142"  # 07:00 at 15:00 UTC: quiet hours until 16:00 UTC


@pytest.fixture
def ports(settings: Settings, clock: Clock) -> Ports:
    return fake_ports(settings.rules, clock, queue=MemoryQueue(clock), bucket=MemoryBucket())


def test_each_recipient_gets_the_text_with_their_names(ports: Ports) -> None:
    add_confirmed(
        ports.store,
        [
            confirmed(NEW_YORK, ports.clock(), first_name="Ana"),
            confirmed("+12125550124", ports.clock(), first_name="Zoë"),
        ],
    )
    made = start(ports, "Hi {{firstName}} from {{brandName}}")
    drain(ports)
    bodies = sorted(body for _, body, _, _ in sms_of(ports).sent)
    assert bodies == [
        "Hi Ana from ExampleCorp. Reply STOP to opt out",
        "Hi Zoë from ExampleCorp. Reply STOP to opt out",
    ]
    assert {kind for _, _, kind, _ in sms_of(ports).sent} == {BROADCAST_KIND}
    stored = store_of(ports).broadcasts[made.broadcast_id]
    assert document(stored, ports.clock())["status"] == "DONE"
    assert stored.count(Tally.RECIPIENTS) == 2
    assert stored.count(Tally.SENT) == 2


def test_the_ledger_says_broadcast_sent_with_its_ids(ports: Ports) -> None:
    add_confirmed(ports.store, [confirmed(NEW_YORK, ports.clock())])
    made = start(ports)
    drain(ports)
    sent = [e for e in ports.store.events(NEW_YORK) if e.type is EventType.BROADCAST_SENT]
    assert len(sent) == 1
    assert sent[0].details["broadcastId"] == made.broadcast_id
    assert sent[0].details["messageId"] == "msg-1"
    assert "Ana" not in str(sent[0].details)  # never the text


def test_a_message_is_sent_once_under_redelivery_and_duplicate_enqueues(ports: Ports) -> None:
    add_confirmed(ports.store, [confirmed(NEW_YORK, ports.clock())])
    made = start(ports)
    queue = queue_of(ports)
    queue.run_step()
    assert len(queue.messages) == 1
    message = queue.messages[0].message
    assert message.key == message_key(BROADCAST_KIND, NEW_YORK, made.broadcast_id)
    for _ in range(3):  # the same message enqueued again, and delivered again
        queue.enqueue(message)
    drain(ports)
    assert len(sms_of(ports).sent) == 1
    stored = store_of(ports).broadcasts[made.broadcast_id]
    assert stored.count(Tally.SENT) == 1
    assert document(stored, ports.clock())["queued"] == 0


def test_a_stop_after_planning_stops_the_message(ports: Ports) -> None:
    add_confirmed(ports.store, [confirmed(NEW_YORK, ports.clock())])
    made = start(ports)
    queue_of(ports).run_step()
    subscriber = ports.store.get(NEW_YORK)
    assert subscriber is not None
    ports.store.save(
        replace(subscriber, status=Status.OPTED_OUT, opted_out_at=ports.clock()),
        expected_version=subscriber.version,
    )
    drain(ports)
    assert sms_of(ports).sent == []
    stored = store_of(ports).broadcasts[made.broadcast_id]
    assert stored.count(Tally.SKIPPED_OPTED_OUT) == 1
    assert document(stored, ports.clock())["status"] == "DONE"


def test_a_number_opted_out_between_listing_and_queueing_is_skipped(ports: Ports) -> None:
    """The status at send time decides, not the time of the opt-out."""
    add_confirmed(ports.store, [confirmed(NEW_YORK, ports.clock())])
    made = start(ports)
    subscriber = ports.store.get(NEW_YORK)
    assert subscriber is not None
    ports.store.save(
        replace(subscriber, status=Status.OPTED_OUT, opted_out_at=ports.clock() - timedelta(1)),
        expected_version=subscriber.version,
    )
    message = OutboundMessage.for_broadcast(
        made.broadcast_id, NEW_YORK, made.template, ports.clock()
    )
    result = send_queued(message, ports)
    assert result.outcome is SendOutcome.SKIPPED_OPTED_OUT
    assert sms_of(ports).sent == []


def test_an_erased_number_never_receives_it(ports: Ports) -> None:
    made = start(ports)
    message = OutboundMessage.for_broadcast(
        made.broadcast_id, NEW_YORK, made.template, ports.clock()
    )
    assert send_queued(message, ports).outcome is SendOutcome.SKIPPED_OPTED_OUT
    assert sms_of(ports).sent == []


def test_quiet_hours_make_the_message_wait_and_count_it(ports: Ports, clock: Clock) -> None:
    add_confirmed(ports.store, [confirmed(SEATTLE, clock())])
    made = start(ports)
    queue = queue_of(ports)
    queue.run_step()
    result = queue.receive(queue.messages[0])
    assert result.outcome is SendOutcome.WAITING_QUIET_HOURS
    assert result.retry_after == timedelta(hours=1)  # 08:00 in Seattle is 16:00 UTC
    stored = store_of(ports).broadcasts[made.broadcast_id]
    assert stored.count(Tally.WAITING_QUIET_HOURS) == 1
    # A redelivery before the window opens waits again, counted once.
    clock.advance(minutes=30)
    queue.messages[0].visible_at = clock()
    assert queue.receive(queue.messages[0]).outcome is SendOutcome.WAITING_QUIET_HOURS
    assert store_of(ports).broadcasts[made.broadcast_id].count(Tally.WAITING_QUIET_HOURS) == 1
    drain(ports)
    assert sms_of(ports).sent_at[0] >= clock().replace(hour=16, minute=0)
    stored = store_of(ports).broadcasts[made.broadcast_id]
    assert stored.count(Tally.WAITING_QUIET_HOURS) == 0
    assert stored.count(Tally.SENT) == 1


def test_the_operators_quiet_hours_hold_a_message_the_law_would_let_go(
    settings: Settings, clock: Clock
) -> None:
    """quietHours "21:00-11:00": 10:00 in New York (15:00 UTC) waits for 11:00 (16:00 UTC)."""
    longer = Settings.from_env({**BASE_ENV, "QUIET_HOURS": "21:00-11:00"})
    ports = fake_ports(longer.rules, clock, queue=MemoryQueue(clock), bucket=MemoryBucket())
    add_confirmed(ports.store, [confirmed(NEW_YORK, clock())])
    start(ports)
    drain(ports)
    assert sms_of(ports).sent_at == [clock().replace(hour=16, minute=0)]


def test_the_subscribers_own_timezone_decides(ports: Ports, clock: Clock) -> None:
    add_confirmed(ports.store, [confirmed(NEW_YORK, clock(), timezone="Asia/Tokyo")])
    start(ports)  # 15:00 UTC is 00:00 in Tokyo: wait until 08:00 there (23:00 UTC)
    drain(ports)
    assert sms_of(ports).sent_at == [clock().replace(hour=23, minute=0)]


def test_one_broadcast_per_interval_the_next_one_skips(ports: Ports, clock: Clock) -> None:
    add_confirmed(ports.store, [confirmed(NEW_YORK, clock())])
    first = start(ports, "First")
    drain(ports)
    clock.advance(hours=11)  # 02:00 UTC + ... still inside the 12 hours
    second = start(ports, "Second")
    drain(ports)
    assert [body for _, body, _, _ in sms_of(ports).sent] == ["First. Reply STOP to opt out"]
    assert store_of(ports).broadcasts[second.broadcast_id].count(Tally.SKIPPED_FREQUENCY) == 1
    assert store_of(ports).broadcasts[first.broadcast_id].count(Tally.SENT) == 1
    clock.advance(hours=2)  # 13 hours after the first: allowed again
    start(ports, "Third")
    drain(ports)
    assert len(sms_of(ports).sent) == 2


def test_a_throttled_send_is_not_a_frequency_skip_of_itself(ports: Ports) -> None:
    from optin.domain.errors import SendThrottled

    add_confirmed(ports.store, [confirmed(NEW_YORK, ports.clock())])
    made = start(ports)
    sms_of(ports).failures.append(SendThrottled("slow down"))
    drain(ports)
    assert len(sms_of(ports).sent) == 1
    stored = store_of(ports).broadcasts[made.broadcast_id]
    assert stored.count(Tally.SENT) == 1
    assert stored.count(Tally.SKIPPED_FREQUENCY) == 0


def test_a_stored_record_is_kept_per_message(ports: Ports) -> None:
    add_confirmed(ports.store, [confirmed(NEW_YORK, ports.clock())])
    made = start(ports)
    drain(ports)
    record = ports.store.send_record(message_key(BROADCAST_KIND, NEW_YORK, made.broadcast_id))
    assert record is not None
    assert record.state is SendState.SENT
    assert record.claim == made.broadcast_id


def test_broadcasts_never_book_the_pace_far_ahead_of_a_confirmation(
    settings: Settings, clock: Clock
) -> None:
    """Slots are taken in order: were broadcast messages to reserve the next ten seconds
    at one part per second, a confirmation queued then would wait behind them all."""
    from optin.domain.sending.send import reserve_slot

    ports = fake_ports(settings.rules, clock, queue=MemoryQueue(clock), bucket=MemoryBucket())
    ports.sleep = lambda seconds: None  # the clock stands still: every message comes now
    add_confirmed(ports.store, (confirmed(f"+1212555{n:04d}", clock()) for n in range(10)))
    start(ports)
    queue = queue_of(ports)
    queue.run_step()
    outcomes = [queue.receive(queued).outcome for queued in list(queue.messages)]
    assert outcomes.count(SendOutcome.DEFERRED) >= 8
    confirmation_slot = reserve_slot(ports, 1, ports.rules.policy.send_rate)
    assert confirmation_slot - clock() <= timedelta(seconds=3)  # not 10


def test_delivery_receipts_count_as_delivered_or_failed_once(ports: Ports) -> None:
    from optin.domain.sending.delivery import Receipt, record_delivery

    add_confirmed(
        ports.store,
        [confirmed(NEW_YORK, ports.clock()), confirmed("+12125550124", ports.clock())],
    )
    made = start(ports)
    drain(ports)
    (_, _, _, key_one), (_, _, _, key_two) = sms_of(ports).sent
    receipts = [
        Receipt("TEXT_DELIVERED", "msg-1", ports.clock(), key=key_one, kind=BROADCAST_KIND),
        Receipt(
            "TEXT_CARRIER_UNREACHABLE", "msg-2", ports.clock(), key=key_two, kind=BROADCAST_KIND
        ),
    ]
    for receipt in receipts * 2:  # each delivered twice
        record_delivery(receipt, ports)
    stored = store_of(ports).broadcasts[made.broadcast_id]
    assert (stored.count(Tally.DELIVERED), stored.count(Tally.FAILED)) == (1, 1)
    assert document(stored, ports.clock())["failed"] == 1
