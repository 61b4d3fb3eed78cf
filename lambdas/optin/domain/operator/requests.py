"""What the operator API accepts: each route's parameters and bodies read into plain values,
or refused with a status, a code and a message, as ``subscribers/registration.py`` does for
the form. The handler only takes the raw strings out of the event and hands them here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from optin.domain.broadcasts.model import Segment
from optin.domain.errors import AdminErrorCode
from optin.domain.model import Dimension, Status, SubscriberFilter
from optin.domain.operator.views import MAX_REASON_CHARACTERS

MAX_BODY_BYTES = 4096
MAX_BROADCAST_BODY_BYTES = 16_384  # a broadcast's text: 1,600 characters of up to 4 bytes
# A broadcast may be asked for this far in the past (a clock behind, a slow request).
SEND_AT_GRACE = timedelta(minutes=5)
EXPORT_FORMATS = ("jsonl", "csv")

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_BROADCAST_ID = re.compile(r"^b-[0-9a-f]{24}$")
_SEGMENT_FIELDS = frozenset(("source", "country", "confirmedAfter", "confirmedBefore"))
_BROADCAST_FIELDS = frozenset(("text", "segment", "sendAt", "dryRun"))


class RequestRefused(Exception):
    """A request the operator API refuses: its status, code and message."""

    def __init__(self, status: int, code: AdminErrorCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(message: str = "No subscriber with this number.") -> RequestRefused:
    return RequestRefused(404, AdminErrorCode.NOT_FOUND, message)


def bad_request(message: str, code: AdminErrorCode = AdminErrorCode.BAD_REQUEST) -> RequestRefused:
    return RequestRefused(400, code, message)


# Path parameters -------------------------------------------------------------------------


def decoded_number(text: str) -> str:
    """A phone number as a path carries it: percent-decoded, a "+" sent as a space mended."""
    value = unquote(text).strip()
    if value and value[0] != "+" and value.isdigit():
        value = "+" + value
    return value


def phone_number(raw: str) -> str:
    number = decoded_number(raw)
    if not _E164.match(number):
        raise bad_request(
            "The path must end with an E.164 number, like +12065550142.",
            AdminErrorCode.INVALID_PHONE_NUMBER,
        )
    return number


def broadcast_id(raw: str) -> str:
    if not _BROADCAST_ID.match(raw):
        raise not_found("No broadcast with this id.")
    return raw


# Query parameters ------------------------------------------------------------------------


def subscriber_filter(
    status: str | None, source: str | None, country: str | None
) -> SubscriberFilter:
    if status is not None and status not in Status.__members__:
        raise bad_request(f"status must be one of {', '.join(Status)}.")
    if country is not None and not _COUNTRY.match(country.upper()):
        raise bad_request("country must be an ISO 3166-1 alpha-2 code, like US.")
    return SubscriberFilter(
        status=Status(status) if status else None,
        source=source,
        country=country.upper() if country else None,
    )


def dimension(by: str | None) -> Dimension:
    by = by or Dimension.STATUS.value
    if by not in {dimension.value for dimension in Dimension}:
        raise bad_request(f"by must be one of {', '.join(Dimension)}.")
    return Dimension(by)


def export_format(raw: str | None) -> str:
    form = raw or EXPORT_FORMATS[0]
    if form not in EXPORT_FORMATS:
        raise bad_request(f"format must be {' or '.join(EXPORT_FORMATS)}.")
    return form


def whole_number(name: str, raw: str | None, default: int, highest: int) -> int:
    if raw is None:
        return default
    # ASCII digits only: "¹" is a digit to isdigit() and not a number to int().
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= highest:
        raise bad_request(f"{name} must be a whole number from 1 to {highest}.")
    return int(raw)


def moment(name: str, raw: str | None) -> datetime | None:
    """An ISO 8601 date or date-time of a query; without a zone it is UTC."""
    if raw is None:
        return None
    return _parse_moment(raw, name)


# Bodies ----------------------------------------------------------------------------------


def json_object(raw: str, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    if len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise RequestRefused(
            413, AdminErrorCode.PAYLOAD_TOO_LARGE, f"The body is at most {max_bytes} bytes."
        )
    try:
        document = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise bad_request("The body is not valid JSON.", AdminErrorCode.INVALID_JSON) from None
    if not isinstance(document, dict):
        raise bad_request("The body must be a JSON object.", AdminErrorCode.INVALID_JSON)
    return document


def removal_reason(body: dict[str, Any]) -> str:
    """The reason an operator gives for removing a subscriber, trimmed."""
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise bad_request(
            'Give a reason: {"reason": "asked by e-mail"}.', AdminErrorCode.MISSING_REASON
        )
    if len(reason) > MAX_REASON_CHARACTERS:
        raise bad_request(f"reason is at most {MAX_REASON_CHARACTERS} characters.")
    return reason.strip()


@dataclass(frozen=True)
class BroadcastRequest:
    """A broadcast as asked for; its text is checked when it is drafted."""

    text: Any
    segment: Segment
    send_at: datetime | None
    dry_run: bool


def broadcast_request(body: dict[str, Any], now: datetime) -> BroadcastRequest:
    unknown = sorted(set(body) - _BROADCAST_FIELDS)
    if unknown:
        raise bad_request(f"Unknown field {unknown[0]!r}.", AdminErrorCode.INVALID_FIELD)
    dry_run = body.get("dryRun", False)
    if not isinstance(dry_run, bool):
        raise bad_request("dryRun must be true or false.", AdminErrorCode.INVALID_FIELD)
    send_at = instant(body.get("sendAt"), "sendAt")
    if send_at is not None and send_at < now - SEND_AT_GRACE:
        raise bad_request("sendAt is in the past.", AdminErrorCode.INVALID_FIELD)
    return BroadcastRequest(
        text=body.get("text"),
        segment=segment(body.get("segment")),
        send_at=send_at,
        dry_run=dry_run,
    )


def segment(raw: Any) -> Segment:
    if raw is None:
        return Segment()
    if not isinstance(raw, dict):
        raise bad_request("segment must be a JSON object.", AdminErrorCode.INVALID_FIELD)
    unknown = sorted(set(raw) - _SEGMENT_FIELDS)
    if unknown:
        raise bad_request(
            f"Unknown segment field {unknown[0]!r}: use {', '.join(sorted(_SEGMENT_FIELDS))}.",
            AdminErrorCode.INVALID_FIELD,
        )
    source, country = raw.get("source"), raw.get("country")
    if source is not None and (not isinstance(source, str) or not source):
        raise bad_request(
            "segment.source must be a non-empty string.", AdminErrorCode.INVALID_FIELD
        )
    if country is not None and (
        not isinstance(country, str) or not _COUNTRY.match(country.upper())
    ):
        raise bad_request(
            "segment.country must be an ISO 3166-1 alpha-2 code.", AdminErrorCode.INVALID_FIELD
        )
    after = instant(raw.get("confirmedAfter"), "segment.confirmedAfter")
    before = instant(raw.get("confirmedBefore"), "segment.confirmedBefore")
    if after is not None and before is not None and after >= before:
        raise bad_request(
            "confirmedAfter must be before confirmedBefore.", AdminErrorCode.INVALID_FIELD
        )
    return Segment(
        source=source,
        country=country.upper() if isinstance(country, str) else None,
        confirmed_after=after,
        confirmed_before=before,
    )


def instant(raw: Any, name: str) -> datetime | None:
    """An ISO 8601 date-time of a request body (UTC without a zone), or None."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise bad_request(f"{name} must be an ISO 8601 date-time.", AdminErrorCode.INVALID_FIELD)
    try:
        return _parse_moment(raw, name)
    except (RequestRefused, OverflowError):
        raise bad_request(
            f"{name} must be an ISO 8601 date-time.", AdminErrorCode.INVALID_FIELD
        ) from None


def _parse_moment(raw: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise bad_request(f"{name} must be an ISO 8601 date or date-time.") from None
        parsed = datetime(day.year, day.month, day.day)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
