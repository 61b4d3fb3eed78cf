"""HTTP requests as Lambda receives them, from whichever front: the JSON body in, JSON
responses out, with CORS for the configured origins and errors in one shape.

One small decoder reads API Gateway REST (payload 1.0), HTTP API (payload 2.0), function
URL and Application Load Balancer events, with single- or multi-value headers; the answer
takes the shape its front expects. Anything the event holds is read defensively: a request
is answered, never crashed on.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from optin.domain.errors import (
    DependencyUnavailable,
    ErrorCode,
    InvalidJson,
    PayloadTooLarge,
    RegistrationError,
    TooManyRequests,
    UnsupportedMediaType,
)

MAX_BODY_BYTES = 4096
MAX_USER_AGENT = 512
# The public API names any dependency being down this way (its contract predates the
# distinction); metrics and logs name the dependency, and only logs say what failed.
UNAVAILABLE_STATUS = 503
UNAVAILABLE_CODE = ErrorCode.SMS_UNAVAILABLE
UNAVAILABLE_MESSAGE = (
    "We can't send text messages right now. Nothing was lost: please try again in a few minutes."
)
_BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")


class Front(enum.StrEnum):
    """What invoked the function: the event's payload format."""

    REST = "rest"  # API Gateway REST API, payload format 1.0
    HTTP = "http"  # API Gateway HTTP API (payload format 2.0) or a Lambda function URL
    ALB = "alb"  # Application Load Balancer


@dataclass(frozen=True)
class HttpRequest:
    front: Front
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, last value
    body: Any = None  # as the event holds it: a string, unless the event is malformed
    is_base64: bool = False
    source_ip: str = ""
    user_agent: str = ""
    multi_value_headers: bool = False  # the ALB target group sends (and expects) lists

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def decode_request(event: Mapping[str, Any]) -> HttpRequest:
    """The parts of a request the API reads, from any of the fronts above."""
    context = _mapping(event.get("requestContext"))
    multi = _mapping(event.get("multiValueHeaders"))
    headers = _headers(event.get("headers"), multi)
    if event.get("version") == "2.0" or "http" in context:
        front = Front.HTTP
        http = _mapping(context.get("http"))
        source_ip, user_agent = http.get("sourceIp"), http.get("userAgent")
    elif "elb" in context:
        front = Front.ALB
        forwarded = headers.get("x-forwarded-for", "")
        source_ip, user_agent = forwarded.rsplit(",", 1)[-1], None  # the hop the ALB saw
    else:
        front = Front.REST
        identity = _mapping(context.get("identity"))
        source_ip, user_agent = identity.get("sourceIp"), identity.get("userAgent")
    return HttpRequest(
        front=front,
        headers=headers,
        body=event.get("body"),
        is_base64=event.get("isBase64Encoded") is True,
        source_ip=_text(source_ip).strip(),
        user_agent=_text(user_agent or headers.get("user-agent"))[:MAX_USER_AGENT],
        multi_value_headers=front is Front.ALB and not event.get("headers") and bool(multi),
    )


def header(event: HttpRequest | Mapping[str, Any], name: str) -> str | None:
    """A request header, whatever its case and whichever the front."""
    return _request(event).header(name)


def json_document(event: HttpRequest | Mapping[str, Any]) -> dict[str, Any]:
    """The request body as a JSON object: size, media type, base64 and JSON checked in that
    order; raises the RegistrationError of the first problem found."""
    request = _request(event)
    raw = _body_bytes(request.body, request.is_base64)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body must be at most {MAX_BODY_BYTES} bytes.")
    media_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("Send the form as Content-Type: application/json.")
    try:
        document = json.loads(raw.decode("utf-8").removeprefix(_BOM))
    except (UnicodeDecodeError, ValueError, RecursionError):  # ValueError: JSON, huge integers
        raise InvalidJson("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise InvalidJson("The request body must be a JSON object.")
    return document


def _body_bytes(body: Any, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise InvalidJson("The request body must be a JSON object sent as text.")
    if not is_base64:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidJson("The request body is not valid JSON.") from None


def _request(event: HttpRequest | Mapping[str, Any]) -> HttpRequest:
    return event if isinstance(event, HttpRequest) else decode_request(event)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _headers(single: Any, multi: Mapping[str, Any]) -> dict[str, str]:
    """Header names in lower case, one value each: the last one, as API Gateway keeps it."""
    headers: dict[str, str] = {}
    for name, values in multi.items():
        if isinstance(values, list) and values and values[-1] is not None:
            headers[str(name).lower()] = str(values[-1])
    for name, value in _mapping(single).items():
        if value is not None:
            headers[str(name).lower()] = str(value)
    return headers


def _text(value: Any) -> str:
    """Evidence as a string any store accepts: unpaired surrogates become U+FFFD."""
    if value is None:
        return ""
    return _SURROGATE.sub("\ufffd", value if isinstance(value, str) else str(value))


def response(
    event: HttpRequest | Mapping[str, Any],
    status: int,
    body: Mapping[str, Any],
    allowed_origins: tuple[str, ...],
    extra_headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The answer in its front's shape: API Gateway's proxy response for REST and HTTP
    APIs and function URLs; for a load balancer, also the status line and the base64 flag,
    and the headers as lists when its target group sends lists."""
    request = _request(event)
    headers = {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        **(extra_headers or {}),
    }
    origin = request.header("origin")
    if origin and origin in allowed_origins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = "Retry-After"
        headers["Vary"] = "Origin"
    answer: dict[str, Any] = {"statusCode": status, "headers": headers, "body": json.dumps(body)}
    if request.front is Front.ALB:
        answer["statusDescription"] = f"{status} {HTTPStatus(status).phrase}"
        answer["isBase64Encoded"] = False
        if request.multi_value_headers:
            answer["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
            del answer["headers"]
    return answer


def error_status(error: RegistrationError | DependencyUnavailable) -> int:
    return UNAVAILABLE_STATUS if isinstance(error, DependencyUnavailable) else error.status


def error_code(error: RegistrationError | DependencyUnavailable) -> str:
    return UNAVAILABLE_CODE if isinstance(error, DependencyUnavailable) else error.code


def error_body(error: RegistrationError | DependencyUnavailable) -> dict[str, Any]:
    if isinstance(error, DependencyUnavailable):  # what failed is for the log, not the client
        return {"error": {"code": UNAVAILABLE_CODE, "message": UNAVAILABLE_MESSAGE}}
    detail: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field:
        detail["field"] = error.field
    return {"error": detail}


def error_headers(error: RegistrationError | DependencyUnavailable) -> dict[str, str]:
    if isinstance(error, TooManyRequests):
        return {"Retry-After": str(error.retry_after_seconds)}
    return {}
