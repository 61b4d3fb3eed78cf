"""API Gateway proxy events: the JSON body in; JSON responses out, with CORS for the
configured origins and errors in one shape."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from optin.domain.errors import (
    DependencyUnavailable,
    InvalidJson,
    PayloadTooLarge,
    RegistrationError,
    TooManyRequests,
    UnsupportedMediaType,
)

MAX_BODY_BYTES = 4096
# The public API names any dependency being down this way (its contract predates the
# distinction); metrics and logs name the dependency.
UNAVAILABLE_STATUS = 503
UNAVAILABLE_CODE = "SMS_UNAVAILABLE"


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header, whatever its case."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value) if value is not None else None
    return None


def json_document(event: Mapping[str, Any]) -> dict[str, Any]:
    """The request body as a JSON object: size, media type, base64 and JSON checked in that
    order; raises the RegistrationError of the first problem found."""
    raw = _body_bytes(event.get("body"), bool(event.get("isBase64Encoded")))
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body must be at most {MAX_BODY_BYTES} bytes.")
    media_type = (header(event, "content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("Send the form as Content-Type: application/json.")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InvalidJson("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise InvalidJson("The request body must be a JSON object.")
    return document


def _body_bytes(body: str | None, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not is_base64:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidJson("The request body is not valid JSON.") from None


def response(
    event: Mapping[str, Any],
    status: int,
    body: Mapping[str, Any],
    allowed_origins: tuple[str, ...],
    extra_headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    headers = {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        **(extra_headers or {}),
    }
    origin = header(event, "origin")
    if origin and origin in allowed_origins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = "Retry-After"
        headers["Vary"] = "Origin"
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}


def error_status(error: RegistrationError | DependencyUnavailable) -> int:
    return UNAVAILABLE_STATUS if isinstance(error, DependencyUnavailable) else error.status


def error_code(error: RegistrationError | DependencyUnavailable) -> str:
    return UNAVAILABLE_CODE if isinstance(error, DependencyUnavailable) else error.code


def error_body(error: RegistrationError | DependencyUnavailable) -> dict[str, Any]:
    if isinstance(error, DependencyUnavailable):
        return {"error": {"code": UNAVAILABLE_CODE, "message": str(error)}}
    detail: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field:
        detail["field"] = error.field
    return {"error": detail}


def error_headers(error: RegistrationError | DependencyUnavailable) -> dict[str, str]:
    if isinstance(error, TooManyRequests):
        return {"Retry-After": str(error.retry_after_seconds)}
    return {}
