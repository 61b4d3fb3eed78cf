"""The send queues on SQS: one for transactional SMS, one for broadcasts.

A queued message is a JSON document (``encode``/``decode``); the queues are encrypted with
the stack's messages key, and a message holds the number and the text, never a name (a
broadcast's message holds its text with the placeholders: the sender fills them in). The
broadcast queue also carries the broadcasts' plan steps (``encode_step``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from optin.adapters.aws import failure_name
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.sending.outbound import OutboundMessage, PlanStep

# The longest SQS keeps a message invisible (12 hours).
MAX_VISIBILITY = timedelta(hours=12)
BATCH = 10  # messages per SendMessageBatch
_STEP = "planStep"
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5
)


class MalformedQueueMessage(ValueError):
    pass


def encode(message: OutboundMessage) -> str:
    return json.dumps(
        {
            "key": message.key,
            "kind": message.kind,
            "phoneNumber": message.phone_number,
            "body": message.body,
            "queuedAt": message.queued_at.isoformat(timespec="microseconds"),
            "claim": message.claim,
            "correlationId": message.correlation_id,
            "inboundMessageId": message.inbound_message_id,
            "broadcast": message.broadcast,
            "listAfter": message.list_after,
        },
        ensure_ascii=False,
    )


def encode_step(step: PlanStep) -> str:
    return json.dumps(
        {
            _STEP: {
                "broadcastId": step.broadcast_id,
                "page": step.page,
                "cursor": step.cursor,
                "queuedAt": step.queued_at.isoformat(timespec="microseconds"),
            }
        }
    )


def decode(body: str) -> OutboundMessage | PlanStep:
    """A queued message (or plan step) back; MalformedQueueMessage when it is not ours."""
    try:
        document = json.loads(body)
        if isinstance(document, dict) and isinstance(document.get(_STEP), dict):
            step = document[_STEP]
            cursor = step.get("cursor")
            page = step.get("page")
            if not isinstance(page, int) or page < 0 or not isinstance(cursor, str | None):
                raise ValueError("page")
            return PlanStep(
                broadcast_id=_text(step, "broadcastId"),
                page=page,
                cursor=cursor,
                queued_at=datetime.fromisoformat(_text(step, "queuedAt")),
            )
        return OutboundMessage(
            key=_text(document, "key"),
            kind=_text(document, "kind"),
            phone_number=_text(document, "phoneNumber"),
            body=_text(document, "body"),
            queued_at=datetime.fromisoformat(_text(document, "queuedAt")),
            claim=str(document.get("claim") or ""),
            correlation_id=str(document.get("correlationId") or ""),
            inbound_message_id=str(document.get("inboundMessageId") or ""),
            broadcast=bool(document.get("broadcast")),
            list_after=bool(document.get("listAfter")),
        )
    except (ValueError, TypeError, AttributeError) as error:
        raise MalformedQueueMessage(f"not a queued SMS: {type(error).__name__}") from None


def _text(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(name)
    return value


class SqsSendQueue:
    """SendQueue on the two SQS queues, and what the sender does with a received message
    (put it back for a while, look at the transactional queue's depth)."""

    def __init__(self, transactional_url: str, broadcast_url: str, client: Any = None) -> None:
        self.transactional_url = transactional_url
        self.broadcast_url = broadcast_url
        self._client = client  # built on first use: the delivery function never needs it

    def enqueue(self, message: OutboundMessage) -> None:
        url = self.broadcast_url if message.broadcast else self.transactional_url
        self._call("send_message", QueueUrl=url, MessageBody=encode(message))

    def enqueue_many(self, messages: Sequence[OutboundMessage]) -> None:
        """SendMessageBatch, ten at a time; a message SQS did not take raises."""
        for start in range(0, len(messages), BATCH):
            batch = messages[start : start + BATCH]
            by_queue: dict[str, list[dict[str, str]]] = {}
            for index, message in enumerate(batch):
                url = self.broadcast_url if message.broadcast else self.transactional_url
                by_queue.setdefault(url, []).append(
                    {"Id": str(index), "MessageBody": encode(message)}
                )
            for url, entries in by_queue.items():
                answer = self._call("send_message_batch", QueueUrl=url, Entries=entries)
                if answer.get("Failed"):
                    code = answer["Failed"][0].get("Code", "")
                    raise DependencyUnavailable(
                        Dependency.QUEUE, f"SQS send_message_batch failed: {code}"
                    )

    def enqueue_step(self, step: PlanStep) -> None:
        self._call("send_message", QueueUrl=self.broadcast_url, MessageBody=encode_step(step))

    def defer(self, queue_url: str, receipt_handle: str, delay: timedelta) -> None:
        """Make a received message visible again only after ``delay`` (whole seconds, at
        most 12 hours)."""
        seconds = math.ceil(min(max(delay, timedelta(0)), MAX_VISIBILITY).total_seconds())
        self._call(
            "change_message_visibility",
            QueueUrl=queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=seconds,
        )

    def transactional_waiting(self) -> int:
        """About how many transactional messages wait to be received."""
        response = self._call(
            "get_queue_attributes",
            QueueUrl=self.transactional_url,
            AttributeNames=["ApproximateNumberOfMessages"],
        )
        return int(response.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))

    def url_of(self, queue_arn: str) -> str:
        """The URL of the queue an event record came from (both end with the queue's name)."""
        name = queue_arn.rsplit(":", 1)[-1]
        for url in (self.transactional_url, self.broadcast_url):
            if url.rstrip("/").rsplit("/", 1)[-1] == name:
                return url
        raise ValueError(f"not one of the send queues: {name}")

    def is_broadcast(self, queue_url: str) -> bool:
        return queue_url == self.broadcast_url

    def _call(self, operation: str, **params: Any) -> Any:
        if self._client is None:
            self._client = boto3.client("sqs", config=_CLIENT_CONFIG)
        try:
            return getattr(self._client, operation)(**params)
        except (ClientError, BotoCoreError) as error:
            raise DependencyUnavailable(
                Dependency.QUEUE, f"SQS {operation} failed: {failure_name(error)}"
            ) from error
