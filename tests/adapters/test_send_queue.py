"""The send queues on SQS (moto): what is enqueued is what the sender receives, on the
right queue; a deferred message stays invisible; failures name the queue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from optin.adapters.queue import MalformedQueueMessage, SqsSendQueue, decode, encode
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.language.messages import Template
from optin.domain.sending.outbound import OutboundMessage

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
NUMBER = "+12065550142"


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queue(sqs: Any) -> SqsSendQueue:
    transactional = sqs.create_queue(QueueName="send-transactional")["QueueUrl"]
    broadcast = sqs.create_queue(QueueName="send-broadcast")["QueueUrl"]
    return SqsSendQueue(transactional, broadcast, sqs)


def message(**fields: Any) -> OutboundMessage:
    base = OutboundMessage.decided(
        Template.WELCOME,
        NUMBER,
        "Example Co: you're subscribed. Ça marche 🎉",
        NOW,
        claim="inbound-1",
        inbound_message_id="inbound-1",
    )
    return OutboundMessage(**{**base.__dict__, **fields})


def receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"]
    )
    return list(response.get("Messages", []))


def test_a_message_round_trips_through_the_transactional_queue(
    queue: SqsSendQueue, sqs: Any
) -> None:
    sent = message()
    queue.enqueue(sent)
    (received,) = receive(sqs, queue.transactional_url)
    assert decode(received["Body"]) == sent
    assert receive(sqs, queue.broadcast_url) == []


def test_a_broadcast_goes_to_the_broadcast_queue(queue: SqsSendQueue, sqs: Any) -> None:
    queue.enqueue(message(broadcast=True))
    assert receive(sqs, queue.transactional_url) == []
    assert len(receive(sqs, queue.broadcast_url)) == 1


def test_a_deferred_message_comes_back_only_later(queue: SqsSendQueue, sqs: Any) -> None:
    queue.enqueue(message())
    (received,) = receive(sqs, queue.transactional_url)
    queue.defer(queue.transactional_url, received["ReceiptHandle"], timedelta(seconds=30))
    assert receive(sqs, queue.transactional_url) == []
    queue.defer(queue.transactional_url, received["ReceiptHandle"], timedelta(0))
    (again,) = receive(sqs, queue.transactional_url)
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"


def test_a_delay_is_whole_seconds_and_at_most_twelve_hours(queue: SqsSendQueue) -> None:
    calls: list[dict[str, Any]] = []

    class Recording:
        def change_message_visibility(self, **params: Any) -> None:
            calls.append(params)

    recording = SqsSendQueue("t", "b", Recording())
    recording.defer("t", "handle", timedelta(seconds=1.2))
    recording.defer("t", "handle", timedelta(days=2))
    recording.defer("t", "handle", timedelta(seconds=-3))
    assert [call["VisibilityTimeout"] for call in calls] == [2, 43200, 0]


def test_waiting_transactional_messages_are_counted(queue: SqsSendQueue) -> None:
    assert queue.transactional_waiting() == 0
    queue.enqueue(message())
    queue.enqueue(message(key="m-other"))
    queue.enqueue(message(key="m-third", broadcast=True))
    assert queue.transactional_waiting() == 2


def test_the_queue_of_an_event_record_is_found_by_its_arn(queue: SqsSendQueue, sqs: Any) -> None:
    arn = sqs.get_queue_attributes(QueueUrl=queue.broadcast_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    assert queue.url_of(arn) == queue.broadcast_url
    assert queue.is_broadcast(queue.url_of(arn))
    with pytest.raises(ValueError, match="not one of the send queues"):
        queue.url_of("arn:aws:sqs:us-east-1:123456789012:somebody-else")


def test_an_unreachable_queue_is_named(queue: SqsSendQueue) -> None:
    class Failing:
        def send_message(self, **_params: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "KMS.KMSThrottlingException", "Message": "slow"}}, "SendMessage"
            )

    failing = SqsSendQueue(queue.transactional_url, queue.broadcast_url, Failing())
    with pytest.raises(DependencyUnavailable, match=r"KMS\.KMSThrottlingException") as raised:
        failing.enqueue(message())
    assert raised.value.dependency is Dependency.QUEUE


@pytest.mark.parametrize(
    "body",
    ["", "[]", "{}", '{"key": "m-1"}', '{"key": 1, "kind": "welcome"}', "not json"],
)
def test_a_body_that_is_not_a_queued_sms_is_refused(body: str) -> None:
    with pytest.raises(MalformedQueueMessage):
        decode(body)


def test_the_encoding_keeps_every_field() -> None:
    sent = message(claim="2026-11-23T15:00:00.000000+00:00", correlation_id="request-1")
    assert decode(encode(sent)) == sent


def test_a_page_of_broadcast_messages_goes_in_batches_to_the_broadcast_queue(
    queue: SqsSendQueue, sqs: Any
) -> None:
    from optin.domain.sending.outbound import OutboundMessage as Message

    page = [
        Message.for_broadcast("b-" + "1" * 24, f"+1212555{n:04d}", "Hi {{firstName}}", NOW)
        for n in range(23)
    ]
    calls: list[str] = []
    original = sqs.send_message_batch

    def counted(**params: Any) -> Any:
        calls.append(params["QueueUrl"])
        return original(**params)

    sqs.send_message_batch = counted
    queue.enqueue_many(page)
    assert calls == [queue.broadcast_url] * 3  # 10 + 10 + 3
    received = []
    while batch := receive(sqs, queue.broadcast_url):
        received.extend(decode(m["Body"]) for m in batch)
    assert sorted(m.key for m in received) == sorted(m.key for m in page)
    assert receive(sqs, queue.transactional_url) == []


def test_a_plan_step_round_trips_through_the_broadcast_queue(queue: SqsSendQueue, sqs: Any) -> None:
    from optin.domain.sending.outbound import PlanStep

    for step in (
        PlanStep("b-" + "2" * 24, 0, None, NOW),
        PlanStep("b-" + "2" * 24, 7, "eyJ9", NOW),
    ):
        queue.enqueue_step(step)
        (received,) = receive(sqs, queue.broadcast_url)
        assert decode(received["Body"]) == step
        sqs.delete_message(QueueUrl=queue.broadcast_url, ReceiptHandle=received["ReceiptHandle"])


_AT = "2026-11-23T15:00:00+00:00"


@pytest.mark.parametrize(
    "step",
    [
        {"broadcastId": "b-1", "page": -1, "cursor": None, "queuedAt": _AT},
        {"broadcastId": "b-1", "page": "1", "cursor": None, "queuedAt": _AT},
        {"broadcastId": "", "page": 1, "cursor": None, "queuedAt": _AT},
        {"broadcastId": "b-1", "page": 1, "cursor": 5, "queuedAt": _AT},
    ],
)
def test_a_malformed_plan_step_is_refused(step: dict[str, Any]) -> None:
    import json

    with pytest.raises(MalformedQueueMessage):
        decode(json.dumps({"planStep": step}))
