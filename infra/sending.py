"""The paced send queue and the delivery receipts.

Every SMS the service sends leaves through a send queue and the sender function, the only
function allowed to call SendTextMessage. Two standard queues, each with its own
dead-letter queue: transactional messages (confirmations, welcomes, notices, replies) and
broadcasts. The sender drains the transactional queue first and paces every send to the
origination identity's rate with a bucket in the table, shared by all its instances. The
broadcast queue also carries the broadcasts' plan steps, which the sender runs: it pages
through the confirmed subscribers (the status index) and queues their messages.

The configuration set also publishes its delivery events to a topic; the delivery function
appends each message's fate to the consent ledger.

Everything here is encrypted with the messages key (infra/messaging.py) and refuses
requests without TLS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import functions, names
from infra.functions import FunctionFactory, OptInFunction

SENDER_TIMEOUT = Duration.seconds(functions.SENDER.timeout_seconds)
# Lambda's advice for an SQS event source: at least six times the function's timeout.
SEND_VISIBILITY_TIMEOUT = Duration.seconds(6 * SENDER_TIMEOUT.to_seconds())
# Pacing defers a message by changing its visibility, and each deferral is a receive: the
# redrive must allow many before a message is judged unsendable.
SEND_MAX_RECEIVE_COUNT = 50
SEND_BATCH_SIZE = 10
# The least an SQS event source accepts; the broadcast source never gets more.
MIN_EVENT_SOURCE_CONCURRENCY = 2
# The longest SQS keeps a message: a broadcast at one part per second takes hours, and a
# message nobody handled must wait for an operator rather than vanish.
RETENTION = Duration.days(14)


@dataclass(frozen=True)
class SendQueue:
    queue: sqs.Queue
    dead_letter_queue: sqs.Queue


class Sending(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        configuration_set_arn: str,
        sender_max_concurrency: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        self._sender_max_concurrency = sender_max_concurrency
        self.transactional = self._send_queue("Transactional")
        self.broadcast = self._send_queue("Broadcast")
        self.delivery_events_topic = self._delivery_events_topic(configuration_set_arn)

    @property
    def stack_values(self) -> Mapping[str, str]:
        """The functions' environment variables for the queues."""
        return {
            "SEND_QUEUE_URL": self.transactional.queue.queue_url,
            "BROADCAST_QUEUE_URL": self.broadcast.queue.queue_url,
        }

    @property
    def dead_letter_queues(self) -> Mapping[str, sqs.IQueue]:
        return {
            "SendTransactional": self.transactional.dead_letter_queue,
            "SendBroadcast": self.broadcast.dead_letter_queue,
        }

    def _send_queue(self, kind: str) -> SendQueue:
        # Both queues: encrypted with the stack's key, TLS only, kept as long as SQS allows.
        kept: dict[str, Any] = {
            "encryption": sqs.QueueEncryption.KMS,
            "encryption_master_key": self.key,
            "enforce_ssl": True,
            "retention_period": RETENTION,
        }
        dead_letter_queue = sqs.Queue(self, f"{kind}DeadLetterQueue", **kept)
        queue = sqs.Queue(
            self,
            f"{kind}Queue",
            **kept,
            visibility_timeout=SEND_VISIBILITY_TIMEOUT,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letter_queue, max_receive_count=SEND_MAX_RECEIVE_COUNT
            ),
        )
        return SendQueue(queue=queue, dead_letter_queue=dead_letter_queue)

    def _delivery_events_topic(self, configuration_set_arn: str) -> sns.Topic:
        """End User Messaging publishes the configuration set's events here, and only that
        configuration set of this account may."""
        topic = sns.Topic(self, "DeliveryEventsTopic", enforce_ssl=True, master_key=self.key)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EndUserMessagingPublishesDeliveryEvents",
                principals=[iam.ServicePrincipal(names.SMS_SERVICE_PRINCIPAL)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                    "ArnLike": {"aws:SourceArn": configuration_set_arn},
                },
            )
        )
        return topic

    def grant_enqueue(self, role: iam.IRole) -> None:
        """Put transactional messages on the send queue (SSE-KMS: a data key per message)."""
        self._grant_send(role, self.transactional)

    def grant_plan(self, role: iam.IRole) -> None:
        """Put broadcast plan steps and messages on the broadcast queue: the operator API
        (a new broadcast's first step) and the sender (which runs the planner)."""
        self._grant_send(role, self.broadcast)

    def _grant_send(self, role: iam.IRole, send_queue: SendQueue) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[send_queue.queue.queue_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self.key.key_arn]
            )
        )

    def add_sender(self, factory: FunctionFactory, environment: Mapping[str, str]) -> OptInFunction:
        """The sender: both queues as event sources, partial batch failures. Each source's
        concurrency is bounded; the pace itself is the bucket the instances share."""
        sender = factory.create(self, functions.SENDER, environment)
        for send_queue, max_concurrency in (
            (self.transactional, self._sender_max_concurrency),
            (self.broadcast, MIN_EVENT_SOURCE_CONCURRENCY),
        ):
            sender.target.add_event_source(
                event_sources.SqsEventSource(
                    send_queue.queue,
                    batch_size=SEND_BATCH_SIZE,
                    report_batch_item_failures=True,
                    max_concurrency=max_concurrency,
                )
            )
        return sender

    def add_delivery(
        self, factory: FunctionFactory, environment: Mapping[str, str]
    ) -> OptInFunction:
        """The delivery function, subscribed to the delivery events topic."""
        delivery = factory.create(self, functions.DELIVERY, environment)
        self.delivery_events_topic.add_subscription(
            subscriptions.LambdaSubscription(delivery.function)
        )
        return delivery
