"""The send queues' consumer: SQS event in, partial batch failures out (docs/decisions.md).

The broadcast queue also carries the broadcasts' plan steps: this function runs them too
(``optin.domain.broadcasts.broadcast.plan_step``), one page of recipients each.

Each record is sent (or settled) by ``record_handler``; ``report`` turns what it came to
into metrics and one log line. A message that must wait (its slot is later, the platform
throttled, a quota, a failure) is made invisible for that long and reported as failed, so
SQS delivers it again then; every other record is deleted by the event source mapping.
The same shape as Powertools' batch processor, by hand: its import costs about 95 ms of
cold start here, and a deferral needs each record's queue and receipt handle anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from optin import runtime, snapstart
from optin.adapters.queue import MalformedQueueMessage, decode
from optin.domain.broadcasts.broadcast import PlanResult, plan_step
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.language.messages import Template
from optin.domain.ports import Ports
from optin.domain.sending.outbound import PlanStep
from optin.domain.sending.send import SendOutcome, SendResult, retry_delay, send_queued
from optin.domain.subscribers.phone import mask
from optin.observability import (
    Metric,
    count,
    count_unavailable,
    entry_point,
    log_failure,
    logger,
)

# A broadcast batch goes back for this long while transactional messages are queued (they
# go first). Short: a broadcast message books at most a second of the pace ahead anyway
# (optin.domain.sending.send), and at 30 s a registration every two seconds kept a 1,000-message
# broadcast at six times its ideal time (docs/performance.md).
BROADCAST_YIELD = timedelta(seconds=2)
# Below this much time left in the invocation, the rest of the batch goes back at once.
RESERVE_MILLISECONDS = 8_000

_OUTCOME_METRICS = {
    SendOutcome.SENT: Metric.MESSAGES_SENT,
    SendOutcome.DEFERRED: Metric.SEND_DEFERRED,
    SendOutcome.THROTTLED: Metric.SEND_THROTTLED,
    SendOutcome.QUOTA_EXCEEDED: Metric.SEND_QUOTA_EXCEEDED,
    SendOutcome.RETRY: Metric.SMS_SEND_FAILED,
    SendOutcome.REFUSED: Metric.SMS_SEND_FAILED,
    SendOutcome.UNKNOWN: Metric.SMS_SEND_FAILED,
    SendOutcome.DUPLICATE: Metric.DUPLICATE_SEND_SKIPPED,
    SendOutcome.SKIPPED_OPTED_OUT: Metric.SEND_SKIPPED_OPTED_OUT,
    SendOutcome.SKIPPED_ERASED: Metric.SEND_SKIPPED_OPTED_OUT,
    SendOutcome.BLOCKED: Metric.SEND_SKIPPED_OPTED_OUT,
    SendOutcome.DROPPED: Metric.CONFIRMATION_DROPPED,
    # A broadcast's frequency and cancel skips are its own counters (GET /admin/broadcasts),
    # not an opt-out; a wait for quiet hours is a deferral.
    SendOutcome.WAITING_QUIET_HOURS: Metric.SEND_DEFERRED,
}

snapstart.register()  # SnapStart: prime before the snapshot, refresh after a restore


@dataclass(frozen=True)
class RecordResult:
    """What one record came to: a result, a malformed body, or an error."""

    message_id: str  # the SQS message id (the batch item identifier)
    receive_count: int = 1
    result: SendResult | None = None
    plan: PlanResult | None = None  # a broadcast's plan step
    malformed: str = ""  # why the body is not a queued SMS: left to the dead-letter queue
    error: Exception | None = None  # a failure: the message comes back
    retry_after: timedelta | None = None  # made invisible this long; None: none, or done

    @property
    def failed(self) -> bool:
        """Reported to SQS as a failure: the message stays on its queue."""
        done = (self.result is not None and self.result.done) or (
            self.plan is not None and self.plan.done
        )
        return not done


def record_handler(record: dict[str, Any], ports: Ports) -> RecordResult:
    """Send one record's message; never raises (a failure is returned)."""
    message_id = str(record.get("messageId", ""))
    receive_count = _receive_count(record)
    try:
        message = decode(str(record.get("body", "")))
    except MalformedQueueMessage as error:
        return RecordResult(message_id, receive_count, malformed=str(error))
    blank = RecordResult(message_id, receive_count)
    try:
        if isinstance(message, PlanStep):
            logger.set_correlation_id(message.broadcast_id)
            plan = plan_step(message, ports, ports.store)
            return replace(blank, plan=plan, retry_after=plan.retry_after)
        logger.set_correlation_id(message.correlation_id or message.inbound_message_id or None)
        result = send_queued(message, ports, receive_count=receive_count)
        return replace(blank, result=result, retry_after=result.retry_after)
    except DependencyUnavailable as error:
        return replace(blank, error=error, retry_after=retry_delay(receive_count))
    except Exception as error:  # a bug: it comes back after the visibility timeout
        return replace(blank, error=error)


def report(record: RecordResult) -> None:
    """One record's metrics and its one log line (numbers masked, bodies never)."""
    if record.malformed:
        logger.error(
            "queued message unreadable, left to the dead-letter queue",
            extra={"sqsMessageId": record.message_id, "reason": record.malformed},
        )
        return
    if record.error is not None:
        log_failure("queued message failed", record.error, {"sqsMessageId": record.message_id})
        return
    if record.plan is not None:
        logger.info(
            "broadcast plan step",
            extra={
                "sqsMessageId": record.message_id,
                "planned": record.plan.planned,
                "note": record.plan.note,
                "retryAfterSeconds": (
                    record.retry_after.total_seconds() if record.retry_after else None
                ),
            },
        )
        return
    result = record.result
    assert result is not None
    count(_OUTCOME_METRICS.get(result.outcome))
    if result.outcome is SendOutcome.SENT and result.message.kind == Template.CONFIRMATION:
        count(Metric.CONFIRMATION_SENT)
    if result.outcome is SendOutcome.RETRY:
        count_unavailable(Dependency.SMS)
    fields = {
        "phoneNumber": mask(result.message.phone_number),
        "messageKey": result.message.key,
        "kind": result.message.kind,
        "outcome": result.outcome.value,
        "parts": result.parts,
        "smsMessageId": result.message_id,
        "receiveCount": record.receive_count,
        "retryAfterSeconds": record.retry_after.total_seconds() if record.retry_after else None,
        "reason": result.reason,
    }
    if result.sent_not_recorded:
        count(Metric.LEDGER_WRITE_FAILED)
        logger.error("SMS sent but its ledger event was not written", extra=fields)
    elif result.outcome in (SendOutcome.UNKNOWN, SendOutcome.REFUSED, SendOutcome.RETRY):
        logger.warning("queued SMS not sent", extra=fields)
    else:
        logger.info("queued SMS handled", extra=fields)


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    ports = runtime.current().ports
    records = event.get("Records") if isinstance(event, dict) else None
    batch = [record for record in records or [] if isinstance(record, dict)]
    if batch and _broadcasts_must_wait(batch[0], ports):
        count(Metric.SEND_DEFERRED, len(batch))
        for record in batch:
            _put_back(ports, record, BROADCAST_YIELD)
        return _failures(batch)
    failed: list[dict[str, Any]] = []
    for record in batch:
        if _time_left(context) < RESERVE_MILLISECONDS:
            _put_back(ports, record, timedelta(0))
            failed.append(record)
            continue
        result = record_handler(record, ports)
        report(result)
        if result.failed:
            if result.retry_after is not None:
                _put_back(ports, record, result.retry_after)
            failed.append(record)
    return _failures(failed)


def _broadcasts_must_wait(record: dict[str, Any], ports: Ports) -> bool:
    """Transactional messages go first: a broadcast batch waits while any is queued."""
    try:
        url = ports.queue.url_of(str(record.get("eventSourceARN", "")))
    except ValueError:
        return False
    return ports.queue.is_broadcast(url) and ports.queue.transactional_waiting() > 0


def _put_back(ports: Ports, record: dict[str, Any], delay: timedelta) -> None:
    """Visible again after ``delay``; when that fails, after the queue's visibility timeout."""
    try:
        url = ports.queue.url_of(str(record.get("eventSourceARN", "")))
        ports.queue.defer(url, str(record.get("receiptHandle", "")), delay)
    except (DependencyUnavailable, ValueError) as error:
        logger.warning(
            "could not change a message's visibility",
            extra={"sqsMessageId": record.get("messageId"), "reason": str(error)},
        )


def _failures(records: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    return {"batchItemFailures": [{"itemIdentifier": str(r.get("messageId"))} for r in records]}


def _receive_count(record: dict[str, Any]) -> int:
    try:
        return max(1, int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1)))
    except (TypeError, ValueError):
        return 1


def _time_left(context: Any) -> int:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return int(remaining()) if callable(remaining) else RESERVE_MILLISECONDS * 10
