"""Lambda event and context shapes as AWS delivers them, for local mode and tests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that Powertools reads."""

    function_name: str = "local"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def api_gateway_event(
    body: str | bytes | None,
    *,
    method: str = "POST",
    path: str = "/register",
    headers: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) Lambda proxy event."""
    headers = dict(headers or {"Content-Type": "application/json"})
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    request_id = request_id or str(uuid.uuid4())
    user_agent = next((v for k, v in headers.items() if k.lower() == "user-agent"), "")
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": request_id,
            "accountId": "123456789012",
            "apiId": "local",
            "requestTimeEpoch": int(datetime.now(UTC).timestamp() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": user_agent},
        },
        "body": text,
        "isBase64Encoded": False,
    }


def two_way_message(
    origination_number: str,
    body: str,
    *,
    destination_number: str = "+18005550100",
    inbound_message_id: str | None = None,
    keyword: str = "",
) -> dict[str, Any]:
    """The JSON document End User Messaging publishes for an inbound SMS."""
    return {
        "originationNumber": origination_number,
        "destinationNumber": destination_number,
        "messageKeyword": keyword,
        "messageBody": body,
        "inboundMessageId": inbound_message_id or str(uuid.uuid4()),
        "previousPublishedMessageId": str(uuid.uuid4()),
    }


def sns_event(*messages: dict[str, Any] | str, topic_arn: str | None = None) -> dict[str, Any]:
    """An SNS -> Lambda event with one record per message."""
    topic = topic_arn or "arn:aws:sns:us-east-1:123456789012:inbound-sms"
    records = []
    for message in messages:
        text = message if isinstance(message, str) else json.dumps(message)
        records.append(
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": None,
                    "Message": text,
                    "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
                    "SignatureVersion": "1",
                    "Signature": "",
                    "SigningCertUrl": "",
                    "UnsubscribeUrl": "",
                    "MessageAttributes": {},
                },
            }
        )
    return {"Records": records}
