"""The send queues in memory, and a drain that delivers until they are empty."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from optin.domain.broadcasts.broadcast import PlanResult, plan_step
from optin.domain.ports import Ports
from optin.domain.sending.outbound import OutboundMessage, PlanStep
from optin.domain.sending.send import SendResult, send_queued
from tests.support.fakes.environment import Clock

TRANSACTIONAL_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/send-transactional"
BROADCAST_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/send-broadcast"


@dataclass
class Queued:
    message: OutboundMessage
    visible_at: datetime
    receive_count: int = 0


class MemoryQueue:
    """SendQueue in memory, visibility by the tests' clock.

    ``immediate``: each message is handed to the sender's use case as soon as it is
    enqueued (what the sender would do a moment later), so a test of a registration or a
    reply sees its SMS at once; a message that must wait stays queued. Otherwise messages
    wait for ``drain``.
    """

    def __init__(self, clock: Clock, *, immediate: bool = False) -> None:
        self.clock = clock
        self.immediate = immediate
        self.ports: Ports | None = None  # set by fake_ports, for the immediate sends
        self.messages: list[Queued] = []
        self.enqueued: list[OutboundMessage] = []
        self.steps: list[tuple[PlanStep, datetime]] = []  # plan steps, and when visible
        self.step_results: list[PlanResult] = []
        self.results: list[SendResult] = []
        self.deferred: list[tuple[str, timedelta]] = []
        self.failures: list[Exception] = []
        self._lock = threading.RLock()

    def enqueue(self, message: OutboundMessage) -> None:
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            self.enqueued.append(message)
            queued = Queued(message, self.clock())
            self.messages.append(queued)
        if self.immediate and self.ports is not None:
            self.receive(queued)

    def enqueue_many(self, messages: Sequence[OutboundMessage]) -> None:
        for message in messages:
            self.enqueue(message)

    def enqueue_step(self, step: PlanStep) -> None:
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            self.steps.append((step, self.clock()))

    def run_step(self, index: int = 0) -> PlanResult:
        """One delivery of the plan step at ``index``, as the sender's handler makes it."""
        assert self.ports is not None
        with self._lock:
            step, _ = self.steps.pop(index)
        result = plan_step(step, self.ports, self.ports.store)  # type: ignore[arg-type]
        with self._lock:
            self.step_results.append(result)
            if not result.done:
                assert result.retry_after is not None
                self.steps.append((step, self.clock() + result.retry_after))
        return result

    def receive(self, queued: Queued) -> SendResult:
        """One delivery of ``queued`` to the sender's use case, as the sender's handler
        makes it."""
        assert self.ports is not None
        with self._lock:
            queued.receive_count += 1
        result = send_queued(queued.message, self.ports, receive_count=queued.receive_count)
        with self._lock:
            self.results.append(result)
            if result.done:
                if queued in self.messages:
                    self.messages.remove(queued)
            else:
                assert result.retry_after is not None
                queued.visible_at = self.clock() + result.retry_after
        return result

    def defer(self, queue_url: str, receipt_handle: str, delay: timedelta) -> None:
        self.deferred.append((receipt_handle, delay))

    def url_of(self, queue_arn: str) -> str:
        return BROADCAST_URL if queue_arn.endswith("send-broadcast") else TRANSACTIONAL_URL

    def is_broadcast(self, queue_url: str) -> bool:
        return queue_url == BROADCAST_URL

    def transactional_waiting(self) -> int:
        with self._lock:
            return sum(not queued.message.broadcast for queued in self.messages)

    def kinds(self) -> list[str]:
        return [queued.message.kind for queued in self.messages]


def drain(ports: Ports, *, limit: int = 10_000) -> list[SendResult]:
    """Send everything queued, as the sender would: transactional messages first, each
    when it is visible; the clock jumps to the next visible message when none is. Returns
    each delivery's result."""
    queue = ports.queue
    assert isinstance(queue, MemoryQueue), "drain works on a MemoryQueue"
    clock = queue.clock
    results: list[SendResult] = []
    for _ in range(limit):
        if not queue.messages and not queue.steps:
            return results
        visible = [queued for queued in queue.messages if queued.visible_at <= clock()]
        steps = [index for index, (_, at) in enumerate(queue.steps) if at <= clock()]
        if steps and not any(not queued.message.broadcast for queued in visible):
            queue.run_step(steps[0])
            continue
        if not visible:
            clock.now = min(
                [queued.visible_at for queued in queue.messages] + [at for _, at in queue.steps]
            )
            continue
        visible.sort(key=lambda queued: (queued.message.broadcast, queued.visible_at))
        results.append(queue.receive(visible[0]))
    raise AssertionError(f"the queue did not drain in {limit} deliveries")
