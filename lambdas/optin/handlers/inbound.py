"""Two-way SMS replies: SNS event in (SPEC sections 2 and 3).

Each record is applied once. A malformed message is logged (masked) and counted, never
retried; any other failure is raised after the batch, so Lambda retries the event and the
dead-letter queue catches what keeps failing (processed records are skipped on retry).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from optin import runtime
from optin.domain.errors import DependencyUnavailable
from optin.domain.keywords import classify
from optin.domain.lifecycle import Reply, ReplyOutcome
from optin.domain.phone import mask
from optin.domain.service import receive_reply
from optin.observability import Metric, count, count_unavailable, logger, metrics, traced

MAX_BODY_CHARACTERS = 2000
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_OUTCOME_METRICS = {
    ReplyOutcome.CONFIRMED: Metric.CONFIRMED,
    ReplyOutcome.OPTED_OUT: Metric.OPTED_OUT,
    ReplyOutcome.EXPIRED: Metric.EXPIRED,
    ReplyOutcome.UNMATCHED: Metric.UNMATCHED_REPLY,
    ReplyOutcome.UNKNOWN_SENDER: Metric.UNMATCHED_REPLY,
    ReplyOutcome.HELP: Metric.HELP_REQUESTED,
}


class MalformedMessage(ValueError):
    pass


def parse_record(record: Any, confirm_keywords: tuple[str, ...]) -> Reply:
    """One SNS record carrying End User Messaging's two-way JSON document."""
    sns = record.get("Sns") if isinstance(record, dict) else None
    if not isinstance(sns, dict) or not isinstance(sns.get("Message"), str):
        raise MalformedMessage("record has no Sns.Message")
    try:
        message = json.loads(sns["Message"])
    except json.JSONDecodeError:
        raise MalformedMessage("Sns.Message is not JSON") from None
    if not isinstance(message, dict):
        raise MalformedMessage("Sns.Message is not a JSON object")
    number = message.get("originationNumber")
    body = message.get("messageBody")
    if not isinstance(number, str) or not _E164.match(number):
        raise MalformedMessage("originationNumber is not an E.164 number")
    if not isinstance(body, str):
        raise MalformedMessage("messageBody is not text")
    message_id = (
        _text(message.get("inboundMessageId"))
        or _text(sns.get("MessageId"))
        or "sha256-"
        + hashlib.sha256(f"{sns['Message']}|{sns.get('Timestamp', '')}".encode()).hexdigest()
    )
    details = {
        "destinationNumber": _text(message.get("destinationNumber")),
        "messageKeyword": _text(message.get("messageKeyword")),
        "previousPublishedMessageId": _text(message.get("previousPublishedMessageId")),
        "snsTimestamp": _text(sns.get("Timestamp")),
    }
    return Reply(
        phone_number=number,
        body=body[:MAX_BODY_CHARACTERS],
        message_id=message_id[:200],
        keyword=classify(body, confirm_keywords),
        details={key: value for key, value in details.items() if value},
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


@logger.inject_lambda_context
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    ports = runtime.current().ports
    records = event.get("Records") if isinstance(event, dict) else None
    failures: list[Exception] = []
    processed = 0
    batch = records if isinstance(records, list) else [event]
    count(Metric.INBOUND_MESSAGES, len(batch))
    for record in batch:
        try:
            reply = parse_record(record, ports.rules.confirm_keywords)
        except MalformedMessage as error:
            count(Metric.MALFORMED_INBOUND)
            logger.warning("malformed inbound message dropped", extra={"reason": str(error)})
            continue
        logger.set_correlation_id(reply.message_id)
        try:
            result = receive_reply(reply, ports)
        except Exception as error:  # retried by Lambda; the dead-letter queue keeps the rest
            extra = {"phoneNumber": mask(reply.phone_number)}
            if isinstance(error, DependencyUnavailable):
                count_unavailable(error.dependency)
                extra["dependency"] = error.dependency.value
            logger.exception("inbound message failed", extra=extra)
            failures.append(error)
            continue
        processed += 1
        if result.sent_not_recorded:
            count(Metric.LEDGER_WRITE_FAILED)
            logger.error(
                "reply SMS sent but its ledger event was not written",
                extra={
                    "phoneNumber": mask(reply.phone_number),
                    "smsMessageId": result.sms_message_id,
                },
            )
        if result.outcome is None:
            logger.info(
                "inbound message already processed",
                extra={"owedSmsSent": bool(result.sms_message_id)},
            )
            continue
        metric = _OUTCOME_METRICS.get(result.outcome)
        if metric:
            count(metric)
        logger.info(
            "inbound message processed",
            extra={
                "phoneNumber": mask(reply.phone_number),
                "keyword": reply.keyword.value,
                "outcome": result.outcome.value,
                "smsMessageId": result.sms_message_id,
                "registrationCorrelationId": result.registration_correlation_id,
            },
        )
    if failures:
        count(Metric.INBOUND_FAILED, len(failures))
        raise failures[0]
    return {"processed": processed}
