"""The sender function on SQS events: DynamoDB and SQS on moto, End User Messaging on
botocore's Stubber (its real service model)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from local.events import LambdaContext, sqs_event
from optin.adapters.dynamodb import DynamoRateBucket, DynamoSubscriberStore
from optin.adapters.queue import SqsSendQueue
from optin.adapters.sms import EndUserMessagingSender
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.language.messages import Template
from optin.domain.model import Status, Subscriber
from optin.domain.ports import Ports
from optin.domain.sending.outbound import OutboundMessage, SendState
from optin.handlers import sender
from optin.settings import Settings
from tests.support.fakes import Clock, FakeLookup, installed
from tests.support.lifecycle import claimed, confirmation_of

NUMBER = "+12065550142"


@dataclass
class World:
    ports: Ports
    sqs: Any
    sms: Any
    queue: SqsSendQueue
    arns: dict[str, str]
    clock: Clock

    def pending(self, number: str = NUMBER) -> Subscriber:
        return claimed(self.ports.store, number, self.clock())

    def enqueue_confirmation(self, number: str = NUMBER) -> OutboundMessage:
        body = self.ports.rules.texts.render(Template.CONFIRMATION)
        now = self.clock()
        message = confirmation_of(self.pending(number), body, now, correlation_id="request-1")
        self.queue.enqueue(message)
        return message

    def receive(self, url: str | None = None) -> dict[str, Any]:
        url = url or self.queue.transactional_url
        response = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
        )
        name = "broadcast" if url == self.queue.broadcast_url else "transactional"
        return sqs_event(response.get("Messages", []), self.arns[name])

    def invoke(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        return sender.handler(event, context or LambdaContext())

    def visible(self, url: str | None = None) -> int:
        response = self.sqs.receive_message(
            QueueUrl=url or self.queue.transactional_url, MaxNumberOfMessages=10
        )
        return len(response.get("Messages", []))


@pytest.fixture
def world(dynamodb: Any, settings: Settings, clock: Clock) -> Iterator[World]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    urls = {
        name: sqs.create_queue(QueueName=f"send-{name}")["QueueUrl"]
        for name in ("transactional", "broadcast")
    }
    arns = {
        name: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for name, url in urls.items()
    }
    queue = SqsSendQueue(urls["transactional"], urls["broadcast"], sqs)
    sms = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")
    ports = Ports(
        rules=settings.rules,
        store=DynamoSubscriberStore("subscribers", dynamodb),
        sender=EndUserMessagingSender(settings, sms, send_client=sms),
        lookup=FakeLookup(),
        queue=queue,
        bucket=DynamoRateBucket("subscribers", settings.origination_identity, dynamodb),
        clock=clock,
        sleep=clock.sleep,
    )
    with installed(ports, settings):
        yield World(ports, sqs, sms, queue, arns, clock)


def expected_send(message: OutboundMessage, settings: Settings) -> dict[str, Any]:
    return {
        "DestinationPhoneNumber": message.phone_number,
        "OriginationIdentity": settings.origination_identity,
        "MessageBody": message.body,
        "MessageType": "TRANSACTIONAL",
        "TimeToLive": ANY,
        "Context": {"key": message.key, "kind": message.kind},
        "ConfigurationSetName": ANY,
        "ProtectConfigurationId": ANY,
    }


def types(world: World) -> list[str]:
    return [event.type.value for event in world.ports.store.events(NUMBER)]


def test_a_queued_confirmation_is_sent_and_deleted(world: World, settings: Settings) -> None:
    message = world.enqueue_confirmation()
    with Stubber(world.sms) as stub:
        stub.add_response(
            "send_text_message", {"MessageId": "sms-1"}, expected_send(message, settings)
        )
        assert world.invoke(world.receive()) == {"batchItemFailures": []}
        stub.assert_no_pending_responses()
    assert types(world) == ["CONFIRMATION_SENT"]
    record = world.ports.store.send_record(message.key)
    assert record is not None
    assert (record.state, record.message_id, record.parts) == (SendState.SENT, "sms-1", 2)


def test_throttling_puts_the_message_back_with_a_delay(world: World, settings: Settings) -> None:
    message = world.enqueue_confirmation()
    event = world.receive()
    with Stubber(world.sms) as stub:
        stub.add_client_error(
            "send_text_message", service_error_code="ThrottlingException", http_status_code=429
        )
        answer = world.invoke(event)
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert world.visible() == 0  # invisible for the retry delay, not at once
    assert world.ports.store.send_record(message.key).state is SendState.RESERVED  # type: ignore[union-attr]
    assert types(world) == []
    # The next delivery sends it.
    world.queue.defer(
        world.queue.transactional_url, event["Records"][0]["receiptHandle"], timedelta(0)
    )
    again = world.receive()
    assert again["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    with Stubber(world.sms) as stub:
        stub.add_response(
            "send_text_message", {"MessageId": "sms-2"}, expected_send(message, settings)
        )
        assert world.invoke(again) == {"batchItemFailures": []}
    assert types(world) == ["CONFIRMATION_SENT"]


def test_the_opt_out_list_marks_the_number_opted_out(world: World) -> None:
    world.enqueue_confirmation()
    with Stubber(world.sms) as stub:
        stub.add_client_error(
            "send_text_message",
            service_error_code="ConflictException",
            http_status_code=409,
            modeled_fields={
                "Message": "opted out",
                "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
                "ResourceType": "opt-out-list",
                "ResourceId": "optin-opt-outs",
            },
        )
        assert world.invoke(world.receive()) == {"batchItemFailures": []}
    subscriber = world.ports.store.get(NUMBER)
    assert subscriber is not None
    assert subscriber.status is Status.OPTED_OUT
    assert types(world) == ["SMS_BLOCKED_OPTED_OUT"]


def test_a_quota_waits_minutes_and_is_counted(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.enqueue_confirmation()
    event = world.receive()
    calls: list[dict[str, Any]] = []
    original = world.sqs.change_message_visibility

    def spy(**params: Any) -> Any:
        calls.append(params)
        return original(**params)

    world.sqs.change_message_visibility = spy
    with Stubber(world.sms) as stub:
        stub.add_client_error(
            "send_text_message",
            service_error_code="ServiceQuotaExceededException",
            http_status_code=402,
            modeled_fields={"Message": "limit", "Reason": "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT"},
        )
        answer = world.invoke(event)
    assert len(answer["batchItemFailures"]) == 1
    assert [call["VisibilityTimeout"] for call in calls] == [300]
    assert '"SendQuotaExceeded"' in capsys.readouterr().out


def test_a_redelivered_message_already_sent_is_deleted(world: World, settings: Settings) -> None:
    message = world.enqueue_confirmation()
    world.queue.enqueue(message)  # the same message enqueued twice
    event = world.receive()
    assert len(event["Records"]) == 2
    with Stubber(world.sms) as stub:
        stub.add_response(
            "send_text_message", {"MessageId": "sms-1"}, expected_send(message, settings)
        )
        assert world.invoke(event) == {"batchItemFailures": []}
        stub.assert_no_pending_responses()
    assert types(world) == ["CONFIRMATION_SENT"]


def test_broadcasts_wait_while_transactional_messages_are_queued(world: World) -> None:
    world.queue.enqueue(
        OutboundMessage(
            key="m-broadcast",
            kind="broadcast",
            phone_number=NUMBER,
            body="News",
            queued_at=world.clock(),
            broadcast=True,
        )
    )
    world.enqueue_confirmation("+12065550143")
    event = world.receive(world.queue.broadcast_url)
    with Stubber(world.sms):  # nothing may be sent
        answer = world.invoke(event)
    assert len(answer["batchItemFailures"]) == 1
    assert world.visible(world.queue.broadcast_url) == 0


def test_an_unreadable_message_is_left_for_the_dead_letter_queue(world: World) -> None:
    world.sqs.send_message(QueueUrl=world.queue.transactional_url, MessageBody="{}")
    event = world.receive()
    answer = world.invoke(event)
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_near_the_timeout_the_rest_of_the_batch_goes_back(world: World) -> None:
    world.enqueue_confirmation()
    world.enqueue_confirmation("+12065550143")
    event = world.receive()

    class AlmostOut(LambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return 2_000

    with Stubber(world.sms):
        answer = world.invoke(event, AlmostOut())
    assert len(answer["batchItemFailures"]) == 2
    assert world.visible() == 2  # put back at once, not after the visibility timeout


def test_the_answer_names_only_failed_records(world: World, settings: Settings) -> None:
    sent = world.enqueue_confirmation()
    world.enqueue_confirmation("+12065550143")
    event = world.receive()
    first = next(r for r in event["Records"] if json.loads(r["body"])["key"] == sent.key)
    event["Records"] = [first, *(r for r in event["Records"] if r is not first)]
    with Stubber(world.sms) as stub:
        stub.add_response(
            "send_text_message", {"MessageId": "sms-1"}, expected_send(sent, settings)
        )
        stub.add_client_error(
            "send_text_message", service_error_code="ThrottlingException", http_status_code=429
        )
        answer = world.invoke(event)
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}


def test_each_record_is_one_log_line_with_no_number(
    world: World, settings: Settings, log_lines: Any
) -> None:
    message = world.enqueue_confirmation()
    with Stubber(world.sms) as stub:
        stub.add_response(
            "send_text_message", {"MessageId": "sms-1"}, expected_send(message, settings)
        )
        world.invoke(world.receive())
    [line] = log_lines()
    record = json.loads(line)
    assert record["message"] == "queued SMS handled"
    assert (record["outcome"], record["kind"], record["parts"]) == ("sent", "confirmation", 2)
    assert record["phoneNumber"] == "+1******0142"
    assert record["correlation_id"] == "request-1"  # the registration's, to follow it here
    assert NUMBER not in line
    assert "Reply YES" not in line  # never the text


def test_sent_but_not_recorded_is_one_error_line_and_never_a_retry(
    world: World, settings: Settings, log_lines: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    message = world.enqueue_confirmation()
    store = world.ports.store
    save_send = store.save_send

    def failing(record: Any, **kwargs: Any) -> Any:
        if record.state is SendState.SENT:
            raise DependencyUnavailable(Dependency.TABLE, "DynamoDB unavailable: Throttling")
        return save_send(record, **kwargs)

    store.save_send = failing  # type: ignore[method-assign]
    with Stubber(world.sms) as stub:
        stub.add_response(
            "send_text_message", {"MessageId": "sms-1"}, expected_send(message, settings)
        )
        assert world.invoke(world.receive()) == {"batchItemFailures": []}
    [line] = log_lines()
    record = json.loads(line)
    assert (record["level"], record["smsMessageId"]) == ("ERROR", "sms-1")
    assert "not written" in record["message"]
    assert '"LedgerWriteFailed"' in capsys.readouterr().out
