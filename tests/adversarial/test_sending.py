"""The send queue under stress: senders racing for one bucket, one message delivered to
several senders at once, a sender stopping between SendTextMessage and its record, an
opt-out racing a queued message. DynamoDB and SQS are moto (one call at a time, as each
request is atomic on AWS), End User Messaging is answered in process."""

from __future__ import annotations

import heapq
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from local.events import LambdaContext, delivery_event, sns_event
from local.service import LockedClient
from optin.adapters.dynamodb import DynamoRateBucket, DynamoSubscriberStore
from optin.adapters.sms import EndUserMessagingSender
from optin.domain.language.messages import Template
from optin.domain.model import EventType, Status
from optin.domain.ports import Ports, utc_now
from optin.domain.sending.outbound import OutboundMessage, SendState
from optin.domain.sending.pacing import most_parts_in_a_window
from optin.domain.sending.parts import count_parts
from optin.domain.sending.send import SEND_LEASE, SendOutcome, send_queued
from optin.handlers import delivery
from optin.settings import Settings
from tests.support.fakes import BASE_ENV, Clock, FakeLookup, MemoryQueue
from tests.support.harness import (
    CannedSms,
    RealAdapters,
    client_error,
    fictional_numbers,
    moto_table,
    sms_client,
)
from tests.support.lifecycle import claimed, confirmation_of

NUMBER = "+12065550142"
RATE = 20


def bodies() -> list[str]:
    """One, two and three GSM-7 parts."""
    return ["Example Co: welcome. " + "x" * n for n in (40, 200, 380)]


class Senders:
    """``count`` sender threads sharing one bucket in DynamoDB, each taking messages from a
    shared queue with visibility (real time), as concurrent Lambda instances would."""

    def __init__(self, settings: Settings) -> None:
        self.dynamodb = LockedClient(moto_table(settings.table_name))
        self.sms = sms_client()
        self.canned = CannedSms().attach_returning(self.sms)
        self.ports = Ports(
            rules=settings.rules,
            store=DynamoSubscriberStore(settings.table_name, self.dynamodb),
            sender=EndUserMessagingSender(settings, self.sms, send_client=self.sms),
            lookup=FakeLookup(),
            queue=MemoryQueue(Clock()),  # not used: the threads below are the queue
            bucket=DynamoRateBucket(
                settings.table_name, settings.origination_identity, self.dynamodb
            ),
            clock=utc_now,
            sleep=time.sleep,
        )
        self._heap: list[tuple[float, int, OutboundMessage, int]] = []
        self._lock = threading.Lock()
        self._count = 0
        self._busy = 0
        self.results: list[Any] = []

    def put(self, message: OutboundMessage, visible_at: float = 0.0, receives: int = 0) -> None:
        with self._lock:
            self._count += 1
            heapq.heappush(self._heap, (visible_at, self._count, message, receives))

    def run(self, threads: int, deadline: float = 60.0) -> None:
        """Until every message is done. A message another sender holds (in flight) would
        come back when its lease ends and find it settled: it is left out here."""
        stop = time.monotonic() + deadline

        def work() -> None:
            while time.monotonic() < stop:
                with self._lock:
                    if not self._heap and not self._busy:
                        return
                    ready = bool(self._heap) and self._heap[0][0] <= time.monotonic()
                    if ready:
                        _, _, message, receives = heapq.heappop(self._heap)
                        self._busy += 1
                if not ready:
                    time.sleep(0.01)
                    continue
                try:
                    result = send_queued(message, self.ports, receive_count=receives + 1)
                finally:
                    with self._lock:
                        self._busy -= 1
                with self._lock:
                    self.results.append(result)
                if not result.done and result.outcome is not SendOutcome.IN_FLIGHT:
                    assert result.retry_after is not None
                    wait = result.retry_after.total_seconds()
                    self.put(message, time.monotonic() + wait, receives + 1)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert not self._heap, "messages left in the queue"


@pytest.fixture
def senders() -> Any:
    settings = Settings.from_env({**BASE_ENV, "SEND_RATE_PER_SECOND": str(RATE)})
    with mock_aws():
        yield Senders(settings)


def test_eight_senders_never_put_more_than_the_rate_in_any_second(senders: Senders) -> None:
    """Sixty messages of one to three parts, eight senders at once, one bucket: every
    message leaves once, and no second of actual sends holds more than 20 parts."""
    texts = bodies()
    numbers = list(fictional_numbers())[:60]
    messages = [
        OutboundMessage.decided(
            Template.WELCOME,
            number,
            texts[index % 3],
            utc_now(),
            claim=f"in-{index}",
            inbound_message_id=f"in-{index}",
        )
        for index, number in enumerate(numbers)
    ]
    for message in messages:
        senders.put(message)
    senders.run(threads=8)
    sent = senders.canned.sent
    assert sorted(params["DestinationPhoneNumber"] for params in sent) == sorted(numbers)
    parts = [count_parts(params["MessageBody"]).count for params in sent]
    assert sum(parts) == 120
    times = [datetime.fromtimestamp(at, UTC) for at in senders.canned.sent_at]
    assert (
        most_parts_in_a_window(list(zip(times, parts, strict=True)), timedelta(seconds=1)) <= RATE
    )
    # ...and the pace is used: 120 parts at 20 per second take about six seconds.
    assert (max(times) - min(times)).total_seconds() >= 120 / RATE - 1.5


def test_one_message_delivered_to_five_senders_at_once_is_sent_once(senders: Senders) -> None:
    message = OutboundMessage.decided(
        Template.WELCOME, NUMBER, bodies()[0], utc_now(), claim="in-1", inbound_message_id="in-1"
    )
    for _ in range(5):
        senders.put(message)
    senders.run(threads=5)
    assert len(senders.canned.sent) == 1
    outcomes = [result.outcome for result in senders.results]
    assert outcomes.count(SendOutcome.SENT) == 1
    assert set(outcomes) <= {SendOutcome.SENT, SendOutcome.DUPLICATE, SendOutcome.IN_FLIGHT}
    # A delivery left in flight comes back after the lease and finds it sent.
    assert send_queued(message, senders.ports).outcome is SendOutcome.DUPLICATE


# One sender, the functions' real adapters, a fake clock ---------------------------------


def pending(real: RealAdapters, clock: Clock) -> OutboundMessage:
    subscriber = claimed(real.store, NUMBER, clock())
    body = real.ports.rules.texts.render(Template.CONFIRMATION)
    message = confirmation_of(subscriber, body, clock(), correlation_id="request-1")
    real.queue.enqueue(message)
    return message


def test_a_sender_stopping_after_the_send_never_sends_it_again(
    real: RealAdapters, clock: Clock, log_lines: Any
) -> None:
    """The send record stays claimed when its settlement fails after SendTextMessage; the
    next delivery, once the lease is over, settles it as unknown without sending; the
    delivery receipt then tells the ledger it arrived."""
    canned = real.canned()
    message = pending(real, clock)
    real.dynamodb.fail(  # the settlement (record, ledger event) after the send
        "transact_write_items", client_error("TransactWriteItems", "InternalServerError", 500)
    )
    (answer,) = real.drain()
    assert answer == {"batchItemFailures": []}  # it left: never put back
    assert len(canned.sent) == 1
    record = real.store.send_record(message.key)
    assert record is not None
    assert record.state is SendState.CLAIMED
    assert any('"SMS sent but its ledger event was not written"' in line for line in log_lines())
    # The same message again (a duplicate enqueue, or SQS), after the lease.
    clock.advance(seconds=SEND_LEASE.total_seconds() + 1)
    real.queue.enqueue(message)
    real.drain()
    assert len(canned.sent) == 1
    assert real.store.send_record(message.key).state is SendState.UNKNOWN  # type: ignore[union-attr]
    assert [e.type for e in real.store.events(NUMBER)] == [EventType.SMS_OUTCOME_UNKNOWN]
    # The receipt carries the key: the ledger learns what happened, the record is settled.
    receipt = delivery_event(
        "TEXT_DELIVERED", "sms-1", NUMBER, context=canned.sent[0]["Context"], parts=2
    )
    delivery.handler(sns_event(receipt), LambdaContext())
    assert [e.type for e in real.store.events(NUMBER)] == [
        EventType.SMS_OUTCOME_UNKNOWN,
        EventType.DELIVERED,
    ]
    assert real.store.send_record(message.key).state is SendState.SENT  # type: ignore[union-attr]


def test_a_redelivery_after_the_send_finds_it_sent(real: RealAdapters, clock: Clock) -> None:
    canned = real.canned()
    message = pending(real, clock)
    real.drain()
    for _ in range(3):
        real.queue.enqueue(message)
    real.drain()
    assert len(canned.sent) == 1
    assert [e.type for e in real.store.events(NUMBER)] == [EventType.CONFIRMATION_SENT]


def test_an_opt_out_landing_before_the_last_read_stops_the_message(
    real: RealAdapters, clock: Clock
) -> None:
    """STOP is recorded while the sender waits for its slot: its read just before
    SendTextMessage sees it, and nothing leaves."""
    canned = real.canned()
    message = pending(real, clock)

    def stop() -> None:
        current = real.store.get(NUMBER)
        assert current is not None
        real.store.save(replace(current, status=Status.OPTED_OUT), expected_version=current.version)

    reads = []

    def before_read() -> None:
        reads.append(1)
        if len(reads) == 3:  # the send record, the early read, then the last read
            stop()

    for _ in range(3):
        real.dynamodb.before("get_item", before_read)
    real.drain()
    assert canned.sent == []
    assert real.store.send_record(message.key).state is SendState.SKIPPED  # type: ignore[union-attr]
    assert [e.type for e in real.store.events(NUMBER)] == [EventType.SMS_SKIPPED]


def test_an_opt_out_queued_behind_its_message_wins_when_it_lands_first(
    real: RealAdapters, clock: Clock
) -> None:
    """The welcome and a STOP race: whichever way they land, a number that is opted out when
    the sender reads it gets nothing, and the outcome is in the ledger."""
    canned = real.canned()
    message = pending(real, clock)
    current = real.store.get(NUMBER)
    assert current is not None
    real.store.save(replace(current, status=Status.OPTED_OUT), expected_version=current.version)
    real.drain()
    assert canned.sent == []
    result = send_queued(message, real.ports)
    assert result.outcome is SendOutcome.DUPLICATE
