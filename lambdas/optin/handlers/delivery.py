"""Delivery receipts: the configuration set's SMS events, through SNS, into the ledger.

Each SNS record carries one End User Messaging event (JSON in ``Sns.Message``).
``record_handler`` records it; ``report`` gives its metrics and one log line. An event
that is not an SMS event document is logged and dropped, never retried; any other failure
is raised after the batch, so Lambda retries the event (duplicates are written once).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from optin import runtime
from optin.domain.ports import Ports
from optin.domain.sending.delivery import (
    DeliveryOutcome,
    DeliveryResult,
    Receipt,
    record_delivery,
)
from optin.domain.subscribers.phone import mask
from optin.handlers.batch import handle_each
from optin.observability import (
    Metric,
    count,
    entry_point,
    log_failure,
    logger,
)

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_OUTCOME_METRICS = {
    DeliveryOutcome.DELIVERED: Metric.DELIVERED,
    DeliveryOutcome.FAILED: Metric.DELIVERY_FAILED,
}


class MalformedReceipt(ValueError):
    pass


def parse_record(record: Any) -> Receipt:
    """One SNS record carrying an End User Messaging SMS event."""
    sns = record.get("Sns") if isinstance(record, dict) else None
    if not isinstance(sns, dict) or not isinstance(sns.get("Message"), str):
        raise MalformedReceipt("record has no Sns.Message")
    try:
        event = json.loads(sns["Message"])
    except (json.JSONDecodeError, RecursionError):
        raise MalformedReceipt("Sns.Message is not JSON") from None
    if not isinstance(event, dict):
        raise MalformedReceipt("Sns.Message is not a JSON object")
    event_type, message_id = event.get("eventType"), event.get("messageId")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedReceipt("no eventType")
    if not isinstance(message_id, str) or not message_id:
        raise MalformedReceipt("no messageId")
    context = event.get("context")
    if not isinstance(context, dict):
        context = {}
    destination = event.get("destinationPhoneNumber")
    return Receipt(
        event_type=event_type[:64],
        message_id=message_id[:200],
        at=_when(event.get("eventTimestamp")),
        key=_text(context.get("key"))[:100],
        kind=_text(context.get("kind"))[:50],
        destination=destination
        if isinstance(destination, str) and _E164.match(destination)
        else "",
        is_final=event.get("isFinal") is not False,
        status=_text(event.get("messageStatusDescription")),
        parts=event["totalMessageParts"] if isinstance(event.get("totalMessageParts"), int) else 0,
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _when(milliseconds: Any) -> datetime:
    if isinstance(milliseconds, int | float) and not isinstance(milliseconds, bool):
        try:
            return datetime.fromtimestamp(milliseconds / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    raise MalformedReceipt("no eventTimestamp")


@dataclass(frozen=True)
class RecordResult:
    receipt: Receipt | None = None
    result: DeliveryResult | None = None
    malformed: str = ""
    error: Exception | None = None


def record_handler(record: Any, ports: Ports) -> RecordResult:
    """Parse one record and record it; never raises (failures are returned)."""
    try:
        receipt = parse_record(record)
    except MalformedReceipt as error:
        return RecordResult(malformed=str(error))
    logger.set_correlation_id(receipt.message_id)
    try:
        return RecordResult(receipt, result=record_delivery(receipt, ports))
    except Exception as error:  # retried by Lambda
        return RecordResult(receipt, error=error)


def report(record: RecordResult) -> None:
    if record.receipt is None:
        logger.warning("delivery event unreadable, dropped", extra={"reason": record.malformed})
        return
    fields: dict[str, Any] = {
        "smsMessageId": record.receipt.message_id,
        "messageKey": record.receipt.key,
        "eventType": record.receipt.event_type,
    }
    if record.error is not None:
        log_failure("delivery event failed", record.error, fields)
        return
    result = record.result
    assert result is not None
    count(_OUTCOME_METRICS.get(result.outcome))
    fields.update(
        outcome=result.outcome.value,
        kind=result.kind,
        phoneNumber=mask(result.phone_number) if result.phone_number else "",
        cooldownReleased=result.cooldown_released,
    )
    logger.info("delivery event recorded", extra=fields)


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    ports = runtime.current().ports
    results = handle_each(event, lambda record: record_handler(record, ports), report)
    return {"recorded": sum(result.result is not None for result in results)}
