"""Broadcasts under faults, on the real DynamoDB adapter (moto): every plan step and every
message delivered twice, a planner that stops in the middle of a page or between a page
and the next step, a sender that stops after sending. Each (broadcast, number) leaves at
most once, and every recipient is counted once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest

from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.domain.broadcasts.broadcast import PlanResult, document, plan_step
from optin.domain.broadcasts.model import Tally
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.ports import Ports
from optin.domain.sending.outbound import OutboundMessage, PlanStep
from optin.settings import Settings
from tests.support.broadcasts import add_confirmed, confirmed, numbers, start
from tests.support.fakes import BASE_ENV, Clock, FakeSender, MemoryBucket, MemoryQueue, fake_ports

RECIPIENTS = 23
PAGE = 5  # five pages of five and one of three


class FlakyQueue(MemoryQueue):
    """Fails the enqueues it is told to, after putting part of a batch on the queue (as a
    SendMessageBatch loop that stops midway would)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.fail_batches: list[int] = []  # fail these enqueue_many calls (by number)...
        self.keep = 2  # ...after this many of their messages are on the queue
        self.fail_steps: list[int] = []  # fail these enqueue_step calls
        self.batches = 0
        self.step_calls = 0

    def enqueue_many(self, messages: Sequence[OutboundMessage]) -> None:
        self.batches += 1
        if self.batches in self.fail_batches:
            for message in messages[: self.keep]:
                self.enqueue(message)
            raise DependencyUnavailable(Dependency.QUEUE, "SQS send_message_batch failed")
        super().enqueue_many(messages)

    def enqueue_step(self, step: PlanStep) -> None:
        self.step_calls += 1
        if self.step_calls in self.fail_steps:
            raise DependencyUnavailable(Dependency.QUEUE, "SQS send_message failed")
        super().enqueue_step(step)


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(BASE_ENV)


@pytest.fixture
def ports(settings: Settings, clock: Clock, store: DynamoSubscriberStore) -> Ports:
    ports = fake_ports(settings.rules, clock, store, queue=FlakyQueue(clock), bucket=MemoryBucket())
    add_confirmed(store, (confirmed(n, clock()) for n in numbers(RECIPIENTS)))
    return ports


def queue_of(ports: Ports) -> FlakyQueue:
    assert isinstance(ports.queue, FlakyQueue)
    return ports.queue


def run(ports: Ports, *, twice: bool = False, sends_twice: bool = False) -> None:
    """Deliver every plan step (each twice if asked; a step that fails comes back) and
    every message (each twice if asked), until nothing is left."""
    queue = queue_of(ports)
    store = ports.store
    assert isinstance(store, DynamoSubscriberStore)
    for _ in range(1_000):
        if queue.steps:
            step, _ = queue.steps.pop(0)
            for _ in range(2 if twice else 1):
                try:
                    result = plan_step(step, ports, store, page_size=PAGE)
                except DependencyUnavailable:
                    result = PlanResult(retry_after=ports.clock() - ports.clock())
                if not result.done:
                    queue.steps.append((step, ports.clock()))
                    break
            continue
        if queue.messages:
            queued = queue.messages[0]
            if sends_twice:
                queue.receive(queued)
                queued.visible_at = ports.clock()
            queue.receive(queued)
            if queued in queue.messages:
                ports.clock.advance(seconds=5)  # type: ignore[attr-defined]
            continue
        return
    raise AssertionError("did not finish")


def sent_numbers(ports: Ports) -> Counter[str]:
    assert isinstance(ports.sender, FakeSender)
    return Counter(number for number, _, _, _ in ports.sender.sent)


def finished(ports: Ports, broadcast_id: str) -> dict[str, object]:
    store = ports.store
    assert isinstance(store, DynamoSubscriberStore)
    found = store.broadcast(broadcast_id)
    assert found is not None
    return document(found, ports.clock())


def test_every_step_and_message_delivered_twice(ports: Ports) -> None:
    made = start(ports, "Hi {{firstName}}")
    run(ports, twice=True, sends_twice=True)
    assert sent_numbers(ports) == Counter(dict.fromkeys(numbers(RECIPIENTS), 1))
    shown = finished(ports, made.broadcast_id)
    assert (shown["status"], shown["recipients"], shown["sent"]) == ("DONE", RECIPIENTS, RECIPIENTS)
    assert queue_of(ports).step_calls == RECIPIENTS // PAGE + 1  # no second chain


def test_a_planner_that_stops_in_the_middle_of_a_page(ports: Ports) -> None:
    made = start(ports, "Hi {{firstName}}")
    queue_of(ports).fail_batches = [2, 4]  # pages 2 and 4 stop after two messages
    run(ports)
    assert sent_numbers(ports) == Counter(dict.fromkeys(numbers(RECIPIENTS), 1))
    shown = finished(ports, made.broadcast_id)
    assert (shown["status"], shown["recipients"], shown["sent"]) == ("DONE", RECIPIENTS, RECIPIENTS)


def test_a_planner_that_stops_between_a_page_and_the_next_step(ports: Ports) -> None:
    made = start(ports, "Hi {{firstName}}")
    queue_of(ports).fail_steps = [2, 3]  # the first step's hand-on, then its retry's
    run(ports)
    assert sent_numbers(ports) == Counter(dict.fromkeys(numbers(RECIPIENTS), 1))
    shown = finished(ports, made.broadcast_id)
    assert (shown["status"], shown["recipients"]) == ("DONE", RECIPIENTS)


def test_a_sender_that_stopped_after_sending_never_sends_again(ports: Ports) -> None:
    """A claim left behind (the sender stopped between the send and its record) is settled
    as maybe sent, never sent a second time."""
    from optin.domain.errors import SendOutcomeUnknown

    made = start(ports, "Hi {{firstName}}")
    assert isinstance(ports.sender, FakeSender)
    ports.sender.failures.append(SendOutcomeUnknown("timed out"))
    run(ports, sends_twice=True)
    counts = sent_numbers(ports)
    assert max(counts.values()) == 1
    assert len(counts) == RECIPIENTS - 1
    shown = finished(ports, made.broadcast_id)
    assert shown["outcomeUnknown"] == 1
    assert shown["status"] == "DONE"
    store = ports.store
    assert isinstance(store, DynamoSubscriberStore)
    found = store.broadcast(made.broadcast_id)
    assert found is not None
    assert found.count(Tally.SENT) == RECIPIENTS - 1
