"""The delivery function on End User Messaging's SMS event shapes (its documented
example), through SNS, on the DynamoDB adapter (moto)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from local.events import LambdaContext, delivery_event, sns_event
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.model import EventType
from optin.domain.ports import Ports
from optin.domain.sending.outbound import SendRecord, SendState
from optin.handlers import delivery
from tests.support.lifecycle import claimed, confirmation_of

NUMBER = "+12065550142"
# The SMS event of End User Messaging's documentation, as published to the topic.
DOCUMENTED_EXAMPLE = {
    "eventType": "TEXT_SUCCESSFUL",
    "eventVersion": "1.0",
    "eventTimestamp": 1686975103470,
    "isFinal": True,
    "originationPhoneNumber": "+12065550152",
    "destinationPhoneNumber": "+14255550156",
    "isInternationalSend": False,
    "mcc": "310",
    "mnc": "800",
    "messageId": "862a8790-60c0-4430-9b2b-658bdexample",
    "messageRequestTimestamp": 1686975103170,
    "messageEncoding": "GSM",
    "messageType": "PROMOTIONAL",
    "messageStatus": "SUCCESSFUL",
    "messageStatusDescription": "Message has been accepted by phone carrier",
    "context": {"account": "bar"},
    "totalMessageParts": 1,
    "totalMessagePrice": 0.09582,
    "totalCarrierFee": 0.0,
}


def deliver(*documents: dict[str, Any] | str) -> dict[str, int]:
    return delivery.handler(
        sns_event(*documents, topic_arn="arn:aws:sns:us-east-1:123456789012:delivery-events"),
        LambdaContext(),
    )


def sent_confirmation(ports: Ports) -> SendRecord:
    now = ports.clock()
    message = confirmation_of(claimed(ports.store, NUMBER, now), "text", now)
    return ports.store.save_send(
        SendRecord(
            key=message.key,
            phone_number=NUMBER,
            kind=message.kind,
            state=SendState.SENT,
            updated_at=now,
            message_id="sms-1",
            parts=2,
            claim=message.claim,
        ),
        expected_version=None,
    )


def test_the_documented_example_is_filed_under_its_destination(moto_ports: Ports) -> None:
    assert deliver(DOCUMENTED_EXAMPLE) == {"recorded": 1}
    (delivered,) = moto_ports.store.events("+14255550156")
    assert delivered.type is EventType.DELIVERED
    assert delivered.details["messageId"] == "862a8790-60c0-4430-9b2b-658bdexample"
    assert delivered.details["eventType"] == "TEXT_SUCCESSFUL"
    assert delivered.at.isoformat() == "2023-06-17T04:11:43.470000+00:00"


def test_a_receipt_finds_its_message_by_the_key_in_its_context(moto_ports: Ports) -> None:
    record = sent_confirmation(moto_ports)
    document = delivery_event(
        "TEXT_DELIVERED",
        "sms-1",
        "+14255550156",  # whatever the event says, the record names the number
        context={"key": record.key, "kind": "confirmation"},
        parts=2,
    )
    deliver(document)
    delivered = moto_ports.store.events(NUMBER)[-1]
    assert delivered.type is EventType.DELIVERED
    assert delivered.details["messageKey"] == record.key
    assert delivered.details["parts"] == 2
    assert moto_ports.store.events("+14255550156") == []


def test_a_duplicate_event_is_recorded_once(moto_ports: Ports) -> None:
    record = sent_confirmation(moto_ports)
    document = delivery_event("TEXT_DELIVERED", "sms-1", NUMBER, context={"key": record.key})
    deliver(document)
    deliver(document, document)
    assert [e.type for e in moto_ports.store.events(NUMBER)] == [EventType.DELIVERED]


@pytest.mark.parametrize(
    "event_type", ["TEXT_BLOCKED", "TEXT_INVALID", "TEXT_UNREACHABLE", "TEXT_TTL_EXPIRED"]
)
def test_a_confirmation_failed_for_good_releases_the_cooldown(
    moto_ports: Ports, event_type: str
) -> None:
    record = sent_confirmation(moto_ports)
    deliver(delivery_event(event_type, "sms-1", NUMBER, context={"key": record.key}))
    (failed,) = moto_ports.store.events(NUMBER)
    assert (failed.type, failed.details["eventType"]) == (EventType.FAILED, event_type)
    subscriber = moto_ports.store.get(NUMBER)
    assert subscriber is not None
    assert subscriber.confirmation_sent_at is None


def test_queued_and_pending_events_are_not_recorded(moto_ports: Ports) -> None:
    record = sent_confirmation(moto_ports)
    for event_type in ("TEXT_QUEUED", "TEXT_PENDING"):
        deliver(delivery_event(event_type, "sms-1", NUMBER, context={"key": record.key}))
    assert moto_ports.store.events(NUMBER) == []


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[1]",
        json.dumps({"eventType": "TEXT_DELIVERED"}),
        json.dumps({**DOCUMENTED_EXAMPLE, "eventTimestamp": "yesterday"}),
        json.dumps({**DOCUMENTED_EXAMPLE, "messageId": 7}),
    ],
)
def test_an_unreadable_event_is_dropped_not_retried(moto_ports: Ports, message: str) -> None:
    assert deliver(message) == {"recorded": 0}


def test_a_table_failure_is_raised_for_lambda_to_retry(moto_ports: Ports) -> None:
    record = sent_confirmation(moto_ports)

    class Down:
        def __getattr__(self, name: str) -> Any:
            def fail(*_args: Any, **_kwargs: Any) -> Any:
                raise DependencyUnavailable(Dependency.TABLE, "DynamoDB unavailable: injected")

            return fail

    moto_ports.store = replace_store(moto_ports, Down())
    with pytest.raises(DependencyUnavailable):
        deliver(delivery_event("TEXT_DELIVERED", "sms-1", NUMBER, context={"key": record.key}))


def replace_store(ports: Ports, store: Any) -> Any:
    return replace(ports, store=store).store


def test_no_number_reaches_the_log(moto_ports: Ports, log_lines: Any) -> None:
    record = sent_confirmation(moto_ports)
    deliver(delivery_event("TEXT_BLOCKED", "sms-1", NUMBER, context={"key": record.key}))
    text = "\n".join(log_lines())
    assert NUMBER not in text
    assert "+1******0142" in text
