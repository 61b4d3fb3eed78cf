"""API Gateway proxy responses: JSON, CORS for the configured origins, errors in one shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from optin.domain.errors import RegistrationError, TooManyRequests


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header, whatever its case."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value) if value is not None else None
    return None


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


def error_body(error: RegistrationError) -> dict[str, Any]:
    detail: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field:
        detail["field"] = error.field
    return {"error": detail}


def error_headers(error: RegistrationError) -> dict[str, str]:
    if isinstance(error, TooManyRequests):
        return {"Retry-After": str(error.retry_after_seconds)}
    return {}
