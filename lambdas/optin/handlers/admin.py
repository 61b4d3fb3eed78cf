"""The operator API (docs/operator.md): API Gateway REST proxy events under ``/admin``.

Deployed, every method is authorised by IAM (SigV4) before this function runs, and the
caller's ARN (``requestContext.identity.userArn``) is who acted; local mode serves the
same routes with the caller ``local``. Routing is Powertools' ``APIGatewayRestResolver``
(docs/decisions.md); each route calls one operator use case, errors share one shape.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from optin import runtime
from optin.domain.broadcasts import broadcast
from optin.domain.broadcasts.model import BroadcastPolicy, Segment
from optin.domain.broadcasts.text import BroadcastTextError
from optin.domain.errors import AdminErrorCode, DependencyUnavailable
from optin.domain.model import Dimension, EventSource, Status, SubscriberFilter
from optin.domain.operator import views as operator
from optin.domain.ports import ConcurrentUpdate, InvalidCursor, OperatorStore
from optin.domain.subscribers.erasure import erase_subscriber
from optin.domain.subscribers.phone import mask
from optin.observability import (
    Metric,
    count,
    count_unavailable,
    entry_point,
    logger,
)

# A page of the export stops before this many bytes (Lambda answers at most 6 MB).
MAX_EXPORT_BYTES = 1_000_000
MAX_BODY_BYTES = 4096
MAX_BROADCAST_BODY_BYTES = 16_384  # a broadcast's text: 1,600 characters of up to 4 bytes
CSV_COLUMNS = ("phoneNumber", "numberHash", "type", "at", "source", "details")
NEXT_CURSOR_HEADER = "X-Next-Cursor"
PROGRESS_HEADER = "X-Export-Progress"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_BROADCAST_ID = re.compile(r"^b-[0-9a-f]{24}$")
_SEGMENT_FIELDS = frozenset(("source", "country", "confirmedAfter", "confirmedBefore"))
_BROADCAST_FIELDS = frozenset(("text", "segment", "sendAt", "dryRun"))

app = APIGatewayRestResolver()
# The resolver's DEBUG lines show the route's arguments, the phone number among them, raw:
# with logLevel DEBUG they would reach the function's logs unmasked.
logging.getLogger("aws_lambda_powertools.event_handler").setLevel(logging.INFO)


class AdminError(Exception):
    """A request the operator API refuses: its status, code and message."""

    def __init__(self, status: int, code: AdminErrorCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(message: str = "No subscriber with this number.") -> AdminError:
    return AdminError(404, AdminErrorCode.NOT_FOUND, message)


def bad_request(message: str, code: AdminErrorCode = AdminErrorCode.BAD_REQUEST) -> AdminError:
    return AdminError(400, code, message)


# Routes ----------------------------------------------------------------------------------


@app.get("/admin/subscribers/<phone_number>")
def show_subscriber(phone_number: str) -> Response[str]:
    proof = operator.proof_of_consent(_store(), _phone(phone_number))
    if proof is None:
        raise not_found()
    return _json(200, proof)


@app.get("/admin/subscribers")
def list_subscribers() -> Response[str]:
    status = _query("status")
    country = _query("country")
    if status is not None and status not in Status.__members__:
        raise bad_request(f"status must be one of {', '.join(Status)}.")
    if country is not None and not _COUNTRY.match(country.upper()):
        raise bad_request("country must be an ISO 3166-1 alpha-2 code, like US.")
    where = SubscriberFilter(
        status=Status(status) if status else None,
        source=_query("source"),
        country=country.upper() if country else None,
    )
    limit = _integer("limit", operator.DEFAULT_PAGE_SIZE, operator.MAX_PAGE_SIZE)
    page = operator.list_subscribers(_store(), where, limit=limit, cursor=_query("cursor"))
    return _json(200, page)


@app.get("/admin/segments")
def segments() -> Response[str]:
    by = _query("by") or Dimension.STATUS.value
    if by not in {dimension.value for dimension in Dimension}:
        raise bad_request(f"by must be one of {', '.join(Dimension)}.")
    return _json(200, operator.segments(_store(), Dimension(by)))


@app.get("/admin/export")
def export() -> Response[str]:
    form = _query("format") or "jsonl"
    if form not in ("jsonl", "csv"):
        raise bad_request("format must be jsonl or csv.")
    limit = _integer("limit", operator.DEFAULT_EXPORT_PAGE, operator.MAX_EXPORT_PAGE)
    cursor = _query("cursor")
    page = _store().ledger_entries(
        since=_moment("since"), until=_moment("until"), limit=limit, cursor=cursor
    )
    rows = [operator.ledger_row(entry) for entry in page.items]
    body, taken = (_csv if form == "csv" else _jsonl)(rows, header=cursor is None)
    next_cursor = page.cursor if taken == len(rows) else page.items[taken - 1].cursor
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if next_cursor:
        headers[NEXT_CURSOR_HEADER] = next_cursor
    if page.progress is not None:
        progress = min(page.progress, 0.999) if next_cursor else 1.0
        headers[PROGRESS_HEADER] = f"{progress:.3f}"
    content_type = "text/csv; charset=utf-8" if form == "csv" else "application/x-ndjson"
    return Response(status_code=200, content_type=content_type, body=body, headers=headers)


@app.post("/admin/subscribers/<phone_number>/opt-out")
def opt_out(phone_number: str) -> Response[str]:
    number = _phone(phone_number)
    reason = _body().get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise bad_request(
            'Give a reason: {"reason": "asked by e-mail"}.', AdminErrorCode.MISSING_REASON
        )
    if len(reason) > operator.MAX_REASON_CHARACTERS:
        raise bad_request(f"reason is at most {operator.MAX_REASON_CHARACTERS} characters.")
    current = runtime.current()
    removed = operator.remove_subscriber(
        _store(),
        number,
        operator=_caller(),
        reason=reason.strip(),
        clock=current.ports.clock,
        opt_out_list=current.opt_out_list,
    )
    if not removed:
        raise not_found()
    return _json(200, {"phoneNumber": number, "status": Status.OPTED_OUT.value})


@app.delete("/admin/subscribers/<phone_number>")
def erase(phone_number: str) -> Response[str]:
    number = _phone(phone_number)
    current = runtime.current()
    erasure = erase_subscriber(
        _store(),
        number,
        requested_by=_caller(),
        source=EventSource.OPERATOR,
        clock=current.ports.clock,
        opt_out_list=current.opt_out_list,
    )
    if erasure is None:
        raise not_found("Nothing is stored for this number.")
    count(Metric.ERASED)
    kept = erasure.kept_status.value if erasure.kept_status else None
    return _json(200, {"phoneNumber": number, "erased": True, "keptStatus": kept})


@app.post("/admin/broadcasts")
def create_broadcast() -> Response[str]:
    request = _body(MAX_BROADCAST_BODY_BYTES)
    unknown = sorted(set(request) - _BROADCAST_FIELDS)
    if unknown:
        raise bad_request(f"Unknown field {unknown[0]!r}.", AdminErrorCode.INVALID_FIELD)
    dry_run = request.get("dryRun", False)
    if not isinstance(dry_run, bool):
        raise bad_request("dryRun must be true or false.", AdminErrorCode.INVALID_FIELD)
    current = runtime.current()
    now = current.ports.clock()
    send_at = _instant(request.get("sendAt"), "sendAt")
    if send_at is not None and send_at < now - timedelta(minutes=5):
        raise bad_request("sendAt is in the past.", AdminErrorCode.INVALID_FIELD)
    made = broadcast.draft(
        _store(),
        text=request.get("text"),
        segment=_segment(request.get("segment")),
        send_at=send_at,
        now=now,
        policy=BroadcastPolicy.of(current.ports.rules),
        created_by=_caller(),
    )
    answer = {
        "broadcastId": None,
        "status": None,
        "recipients": made.recipients,
        "recipientsExact": made.exact,
        "parts": made.broadcast.parts,
        "encoding": made.broadcast.encoding,
        "preview": made.preview,
        "sendAt": operator.iso(made.broadcast.send_at),
    }
    if dry_run:
        return _json(200, {**answer, "dryRun": True})
    created = broadcast.create(current.ports, _store(), made)
    answer["broadcastId"] = created.broadcast_id
    answer["status"] = created.status(now).value
    return _json(201, answer)


@app.get("/admin/broadcasts/<broadcast_id>")
def show_broadcast(broadcast_id: str) -> Response[str]:
    found = _store().broadcast(_broadcast_id(broadcast_id))
    if found is None:
        raise not_found("No broadcast with this id.")
    return _json(200, broadcast.document(found, runtime.current().ports.clock()))


@app.delete("/admin/broadcasts/<broadcast_id>")
def cancel_broadcast(broadcast_id: str) -> Response[str]:
    clock = runtime.current().ports.clock
    cancelled = broadcast.cancel(_store(), _broadcast_id(broadcast_id), clock())
    if cancelled is None:
        raise not_found("No broadcast with this id.")
    return _json(200, broadcast.document(cancelled, clock()))


# Errors, in one shape --------------------------------------------------------------------


@app.exception_handler(AdminError)
def _refused(error: AdminError) -> Response[str]:
    return _error(error.status, error.code, error.message)


@app.exception_handler(BroadcastTextError)  # and BroadcastRequestError, its subclass
def _bad_broadcast(error: BroadcastTextError) -> Response[str]:
    return _error(400, error.code, error.message)


@app.exception_handler(InvalidCursor)
def _bad_cursor(error: InvalidCursor) -> Response[str]:
    return _error(400, AdminErrorCode.INVALID_CURSOR, "cursor is not one this API handed out.")


@app.exception_handler(DependencyUnavailable)
def _unavailable(error: DependencyUnavailable) -> Response[str]:
    count_unavailable(error.dependency)
    logger.warning(
        "operator request: dependency unavailable", extra={"dependency": error.dependency.value}
    )
    return _error(503, AdminErrorCode.UNAVAILABLE, f"{error} Nothing was changed by halves: retry.")


@app.exception_handler(ConcurrentUpdate)
def _conflict(error: ConcurrentUpdate) -> Response[str]:
    return _error(409, AdminErrorCode.CONFLICT, "The subscriber kept changing meanwhile: retry.")


@app.not_found
def _no_route(error: Exception) -> Response[str]:
    return _error(404, AdminErrorCode.NOT_FOUND, "No such route.")


@app.exception_handler(Exception)
def _bug(error: Exception) -> Response[str]:
    logger.error("operator request failed unexpectedly", exc_info=error)
    return _error(500, AdminErrorCode.INTERNAL_ERROR, "Something went wrong on our side.")


@entry_point(correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    count(Metric.OPERATOR_REQUESTS)
    answer = app.resolve(event, context)
    path_number = ((event.get("pathParameters") or {}).get("phoneNumber")) or ""
    logger.info(
        "operator request",
        extra={
            "method": event.get("httpMethod"),
            "resource": event.get("resource"),
            "phoneNumber": mask(_decoded(path_number)) if path_number else None,
            "caller": _identity(event),
            "status": answer.get("statusCode"),
        },
    )
    return answer


# Request pieces --------------------------------------------------------------------------


def _store() -> OperatorStore:
    return cast("OperatorStore", runtime.current().ports.store)


def _identity(event: dict[str, Any]) -> str:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return str(identity.get("userArn") or "")


def _caller() -> str:
    """Who acts: the IAM caller (the method is IAM-authorised), "local" in local mode."""
    caller = _identity(app.current_event.raw_event)
    if not caller:
        raise AdminError(403, AdminErrorCode.FORBIDDEN, "The request carries no caller identity.")
    return caller


def _decoded(text: str) -> str:
    value = unquote(text).strip()
    if value and value[0] != "+" and value.isdigit():
        value = "+" + value  # a "+" a client sent as a space
    return value


def _phone(raw: str) -> str:
    number = _decoded(raw)
    if not _E164.match(number):
        raise bad_request(
            "The path must end with an E.164 number, like +12065550142.",
            AdminErrorCode.INVALID_PHONE_NUMBER,
        )
    return number


def _query(name: str) -> str | None:
    value = app.current_event.get_query_string_value(name)
    return value if value else None


def _integer(name: str, default: int, highest: int) -> int:
    raw = _query(name)
    if raw is None:
        return default
    # ASCII digits only: "¹" is a digit to isdigit() and not a number to int().
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= highest:
        raise bad_request(f"{name} must be a whole number from 1 to {highest}.")
    return int(raw)


def _broadcast_id(raw: str) -> str:
    if not _BROADCAST_ID.match(raw):
        raise not_found("No broadcast with this id.")
    return raw


def _segment(raw: Any) -> Segment:
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
    after = _instant(raw.get("confirmedAfter"), "segment.confirmedAfter")
    before = _instant(raw.get("confirmedBefore"), "segment.confirmedBefore")
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


def _instant(raw: Any, name: str) -> datetime | None:
    """An ISO 8601 date-time of a request body (UTC without a zone), or None."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise bad_request(f"{name} must be an ISO 8601 date-time.", AdminErrorCode.INVALID_FIELD)
    try:
        return _parse_moment(raw, name)
    except (AdminError, OverflowError):
        raise bad_request(
            f"{name} must be an ISO 8601 date-time.", AdminErrorCode.INVALID_FIELD
        ) from None


def _moment(name: str) -> datetime | None:
    """An ISO 8601 date or date-time; without a zone it is UTC."""
    raw = _query(name)
    if raw is None:
        return None
    return _parse_moment(raw, name)


def _parse_moment(raw: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise bad_request(f"{name} must be an ISO 8601 date or date-time.") from None
        moment = datetime(day.year, day.month, day.day)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _body(max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    raw = app.current_event.decoded_body or ""
    if len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise AdminError(
            413, AdminErrorCode.PAYLOAD_TOO_LARGE, f"The body is at most {max_bytes} bytes."
        )
    try:
        document = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise bad_request("The body is not valid JSON.", AdminErrorCode.INVALID_JSON) from None
    if not isinstance(document, dict):
        raise bad_request("The body must be a JSON object.", AdminErrorCode.INVALID_JSON)
    return document


# Responses -------------------------------------------------------------------------------


def plain_json(value: Any) -> Any:
    """What DynamoDB hands back as Decimal, as the JSON number it was."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def _dumps(document: Any) -> str:
    return json.dumps(document, default=plain_json, ensure_ascii=False)


def _json(status: int, document: Any) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=_dumps(document),
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def _error(status: int, code: str, message: str) -> Response[str]:
    return _json(status, {"error": {"code": code, "message": message}})


def _jsonl(rows: list[dict[str, Any]], *, header: bool) -> tuple[str, int]:
    """One JSON document a line, as many rows as fit the page's bytes (at least one)."""
    lines: list[str] = []
    size = 0
    for row in rows:
        line = _dumps(row) + "\n"
        size += len(line.encode())
        if lines and size > MAX_EXPORT_BYTES:
            break
        lines.append(line)
    return "".join(lines), len(lines)


class _Lines:
    """What the csv writer writes, kept as pieces with their size in bytes."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.pieces.append(text)
        self.size += len(text.encode())


def _csv(rows: list[dict[str, Any]], *, header: bool) -> tuple[str, int]:
    """RFC 4180 through the csv module; the header on the first page only; ``details`` as
    a JSON document in its cell. As many rows as fit the page's bytes (at least one)."""
    out = _Lines()
    writer = csv.writer(out)
    if header:
        writer.writerow(CSV_COLUMNS)
    taken = 0
    for row in rows:
        pieces, size = len(out.pieces), out.size
        writer.writerow(
            [
                row["phoneNumber"] or "",
                row["numberHash"] or "",
                row["type"],
                row["at"],
                row["source"],
                _dumps(row["details"]),
            ]
        )
        if taken and out.size > MAX_EXPORT_BYTES:
            del out.pieces[pieces:]
            out.size = size
            break
        taken += 1
    return "".join(out.pieces), taken
