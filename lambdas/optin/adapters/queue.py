"""The send queues on SQS: one for transactional SMS, one for broadcasts.

A queued message is a JSON document (``encode``/``decode``); the queues are encrypted with
the stack's messages key, and a message holds the number and the text, never a name.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from optin.adapters.aws import failure_name
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.outbound import OutboundMessage

# The longest SQS keeps a message invisible (12 hours).
MAX_VISIBILITY = timedelta(hours=12)
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


def decode(body: str) -> OutboundMessage:
    """A queued message back; MalformedQueueMessage when it is not one of ours."""
    try:
        document = json.loads(body)
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
