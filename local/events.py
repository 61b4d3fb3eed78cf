"""Lambda event and context shapes as AWS delivers them, for local mode and tests."""

from __future__ import annotations

import base64
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


def http_api_event(
    body: str,
    *,
    headers: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    function_url: bool = False,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, or a Lambda function URL's, which
    has the same format with sentinel values where API Gateway features are missing. Header
    names arrive in lower case; the client's address and user agent are in
    ``requestContext.http``."""
    domain = (
        "a1b2c3d4e5.lambda-url.us-east-1.on.aws"
        if function_url
        else "r3pmxmplak.execute-api.us-east-1.amazonaws.com"
    )
    sent = {key.lower(): value for key, value in (headers or {}).items()}
    route = "$default" if function_url else "POST /register"
    return {
        "version": "2.0",
        "routeKey": route,
        "rawPath": "/register",
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "content-length": str(len(body.encode("utf-8", "surrogatepass"))),
            "content-type": "application/json",
            "host": domain,
            "x-amzn-trace-id": "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
            "x-forwarded-for": source_ip,
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            **sent,
        },
        "requestContext": {
            "accountId": "anonymous" if function_url else "123456789012",
            "apiId": domain.split(".", 1)[0],
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": "POST",
                "path": "/register",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": sent.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route,
            "stage": "$default",
            "time": datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(datetime.now(UTC).timestamp() * 1000),
        },
        "body": base64.b64encode(body.encode("utf-8", "surrogatepass")).decode()
        if base64_body
        else body,
        "isBase64Encoded": base64_body,
    }


def alb_event(
    body: str,
    *,
    headers: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    multi_value: bool = False,
) -> dict[str, Any]:
    """An Application Load Balancer event. The client's address is only in
    X-Forwarded-For, which the load balancer appends to whatever the client sent (here a
    forged one). With multi-value headers on, the target group sends only the list forms."""
    sent = {key.lower(): value for key, value in (headers or {}).items()}
    all_headers = {
        "accept": "application/json",
        "content-length": str(len(body.encode("utf-8", "surrogatepass"))),
        "content-type": "application/json",
        "host": "optin-123578498.us-east-1.elb.amazonaws.com",
        "x-amzn-trace-id": "Root=1-5c536348-3d683b8b04734faae651f476",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **sent,
        "x-forwarded-for": f"203.0.113.250, {source_ip}",
    }
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                "targetgroup/optin/6d0ecf831eec9f09"
            }
        },
        "httpMethod": "POST",
        "path": "/register",
        "body": body,
        "isBase64Encoded": False,
    }
    if multi_value:
        event["multiValueQueryStringParameters"] = {}
        event["multiValueHeaders"] = {name: [value] for name, value in all_headers.items()}
    else:
        event["queryStringParameters"] = {}
        event["headers"] = all_headers
    return event


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
