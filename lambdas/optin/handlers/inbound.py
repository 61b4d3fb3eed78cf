"""Two-way SMS replies: SNS event in (docs/lifecycle.md).

Each record is applied once by ``record_handler``; ``report`` turns what it came to into
metrics and one log line. A malformed message is logged (masked) and counted, never
retried; any other failure is raised after the batch, so Lambda retries the event and the
dead-letter queue catches what keeps failing (processed records are skipped on retry).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from optin import runtime, snapstart
from optin.domain.language.keywords import classify, encodable
from optin.domain.ports import Ports
from optin.domain.subscribers.lifecycle import Reply, ReplyOutcome
from optin.domain.subscribers.phone import mask
from optin.domain.subscribers.reply import ReplyResult, receive_reply
from optin.handlers.batch import handle_each, records_of
from optin.observability import (
    Metric,
    count,
    entry_point,
    log_failure,
    logger,
)

MAX_BODY_CHARACTERS = 2000
MAX_FIELD_CHARACTERS = 200  # ids, numbers and timestamps the ledger keeps beside the body
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")  # ASCII digits only, matched whole
_OUTCOME_METRICS = {
    ReplyOutcome.CONFIRMED: Metric.CONFIRMED,
    ReplyOutcome.OPTED_OUT: Metric.OPTED_OUT,
    ReplyOutcome.EXPIRED: Metric.EXPIRED,
    ReplyOutcome.UNMATCHED: Metric.UNMATCHED_REPLY,
    ReplyOutcome.UNKNOWN_SENDER: Metric.UNMATCHED_REPLY,
    ReplyOutcome.HELP: Metric.HELP_REQUESTED,
}

snapstart.register()  # SnapStart: prime before the snapshot, refresh after a restore


class MalformedMessage(ValueError):
    pass


def parse_record(record: Any, confirm_keywords: tuple[str, ...]) -> Reply:
    """One SNS record carrying End User Messaging's two-way JSON document.

    Every text taken from it is made encodable first (an unpaired surrogate, half of an
    emoji split across segments, becomes U+FFFD), so the reply can be stored and a STOP in
    it is applied. Raises MalformedMessage for anything that is not such a document.
    """
    sns = record.get("Sns") if isinstance(record, dict) else None
    if not isinstance(sns, dict) or not isinstance(sns.get("Message"), str):
        raise MalformedMessage("record has no Sns.Message")
    raw = sns["Message"]
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, nested too deep, a number too long
        raise MalformedMessage("Sns.Message is not a readable JSON document") from None
    if not isinstance(message, dict):
        raise MalformedMessage("Sns.Message is not a JSON object")
    number = message.get("originationNumber")
    body = message.get("messageBody")
    if not isinstance(number, str) or not _E164.fullmatch(number):
        raise MalformedMessage("originationNumber is not an E.164 number")
    if not isinstance(body, str):
        raise MalformedMessage("messageBody is not text")
    text = encodable(body)[:MAX_BODY_CHARACTERS]
    message_id = (
        _text(message.get("inboundMessageId"))
        or _text(sns.get("MessageId"))
        or "sha256-"
        + hashlib.sha256(
            f"{raw}|{sns.get('Timestamp', '')}".encode("utf-8", "surrogatepass")
        ).hexdigest()
    )
    details = {
        "destinationNumber": _text(message.get("destinationNumber")),
        "messageKeyword": _text(message.get("messageKeyword")),
        "previousPublishedMessageId": _text(message.get("previousPublishedMessageId")),
        "snsTimestamp": _text(sns.get("Timestamp")),
    }
    return Reply(
        phone_number=number,
        body=text,
        message_id=message_id,
        keyword=classify(text, confirm_keywords),
        details={key: value for key, value in details.items() if value},
    )


def _text(value: Any) -> str:
    """A short text field, encodable; '' when absent or not text."""
    return encodable(value).strip()[:MAX_FIELD_CHARACTERS] if isinstance(value, str) else ""


@dataclass(frozen=True)
class RecordResult:
    """What one record came to: exactly one of ``result``, ``malformed`` or ``error``."""

    reply: Reply | None = None  # None when the record could not be parsed
    result: ReplyResult | None = None  # applied (or found already applied)
    malformed: str = ""  # why the record was dropped: counted, never retried
    error: Exception | None = None  # a failure: raised after the batch so Lambda retries


def record_handler(record: Any, ports: Ports) -> RecordResult:
    """Parse one record and apply it; never raises (failures are returned).

    Parsing is deterministic, so a record that cannot be parsed would fail every retry:
    whatever goes wrong there, the record is malformed, dropped and counted."""
    try:
        reply = parse_record(record, ports.rules.confirm_keywords)
    except MalformedMessage as error:
        return RecordResult(malformed=str(error))
    except Exception as error:  # a parser bug must not send the message to the DLQ
        return RecordResult(malformed=f"unreadable record ({type(error).__name__})")
    logger.set_correlation_id(reply.message_id)
    try:
        return RecordResult(reply, result=receive_reply(reply, ports))
    except Exception as error:  # retried by Lambda; the dead-letter queue keeps the rest
        return RecordResult(reply, error=error)


def report(record: RecordResult) -> None:
    """One record's metrics and its one log line (numbers masked)."""
    if record.reply is None:
        count(Metric.MALFORMED_INBOUND)
        logger.warning("malformed inbound message dropped", extra={"reason": record.malformed})
        return
    phone_number = mask(record.reply.phone_number)
    if record.error is not None:
        log_failure("inbound message failed", record.error, {"phoneNumber": phone_number})
        return
    result = record.result
    assert result is not None
    fields: dict[str, Any] = {"phoneNumber": phone_number, "messageKey": result.queued_key}
    if result.queued_key:
        count(Metric.MESSAGES_QUEUED)
    if result.outcome is not None:
        count(_OUTCOME_METRICS.get(result.outcome))
        fields.update(
            keyword=record.reply.keyword.value,
            outcome=result.outcome.value,
            registrationCorrelationId=result.registration_correlation_id,
        )
    if result.outcome is None:
        logger.info(
            "inbound message already processed",
            extra={"owedSmsQueued": bool(result.queued_key)},
        )
    else:
        logger.info("inbound message processed", extra=fields)


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    ports = runtime.current().ports
    count(Metric.INBOUND_MESSAGES, len(records_of(event)))
    results = handle_each(
        event,
        lambda record: record_handler(record, ports),
        report,
        failed=lambda failures: count(Metric.INBOUND_FAILED, failures),
    )
    return {"processed": sum(result.result is not None for result in results)}
