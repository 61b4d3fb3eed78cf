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
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from optin import runtime
from optin.domain.broadcasts import broadcast
from optin.domain.broadcasts.model import BroadcastPolicy
from optin.domain.broadcasts.text import BroadcastTextError
from optin.domain.errors import AdminErrorCode, DependencyUnavailable
from optin.domain.model import EventSource, Status
from optin.domain.operator import requests
from optin.domain.operator import views as operator
from optin.domain.ports import ConcurrentUpdate, InvalidCursor, Store
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
CSV_COLUMNS = ("phoneNumber", "numberHash", "type", "at", "source", "details")
NEXT_CURSOR_HEADER = "X-Next-Cursor"
PROGRESS_HEADER = "X-Export-Progress"

app = APIGatewayRestResolver()
# The resolver's DEBUG lines show the route's arguments, the phone number among them, raw:
# with logLevel DEBUG they would reach the function's logs unmasked.
logging.getLogger("aws_lambda_powertools.event_handler").setLevel(logging.INFO)


# Routes ----------------------------------------------------------------------------------


@app.get("/admin/subscribers/<phone_number>")
def show_subscriber(phone_number: str) -> Response[str]:
    proof = operator.proof_of_consent(_store(), requests.phone_number(phone_number))
    if proof is None:
        raise requests.not_found()
    return _json(200, proof)


@app.get("/admin/subscribers")
def list_subscribers() -> Response[str]:
    where = requests.subscriber_filter(_query("status"), _query("source"), _query("country"))
    limit = _integer("limit", operator.DEFAULT_PAGE_SIZE, operator.MAX_PAGE_SIZE)
    page = operator.list_subscribers(_store(), where, limit=limit, cursor=_query("cursor"))
    return _json(200, page)


@app.get("/admin/segments")
def segments() -> Response[str]:
    return _json(200, operator.segments(_store(), requests.dimension(_query("by"))))


@app.get("/admin/export")
def export() -> Response[str]:
    form = requests.export_format(_query("format"))
    limit = _integer("limit", operator.DEFAULT_EXPORT_PAGE, operator.MAX_EXPORT_PAGE)
    cursor = _query("cursor")
    page = _store().ledger_entries(
        since=requests.moment("since", _query("since")),
        until=requests.moment("until", _query("until")),
        limit=limit,
        cursor=cursor,
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
    number = requests.phone_number(phone_number)
    reason = requests.removal_reason(_body())
    current = runtime.current()
    removed = operator.remove_subscriber(
        _store(),
        number,
        operator=_caller(),
        reason=reason,
        clock=current.ports.clock,
        opt_out_list=current.opt_out_list,
    )
    if not removed:
        raise requests.not_found()
    return _json(200, {"phoneNumber": number, "status": Status.OPTED_OUT.value})


@app.delete("/admin/subscribers/<phone_number>")
def erase(phone_number: str) -> Response[str]:
    number = requests.phone_number(phone_number)
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
        raise requests.not_found("Nothing is stored for this number.")
    count(Metric.ERASED)
    kept = erasure.kept_status.value if erasure.kept_status else None
    return _json(200, {"phoneNumber": number, "erased": True, "keptStatus": kept})


@app.post("/admin/broadcasts")
def create_broadcast() -> Response[str]:
    current = runtime.current()
    now = current.ports.clock()
    request = requests.broadcast_request(_body(requests.MAX_BROADCAST_BODY_BYTES), now)
    made = broadcast.draft(
        _store(),
        text=request.text,
        segment=request.segment,
        send_at=request.send_at,
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
    if request.dry_run:
        return _json(200, {**answer, "dryRun": True})
    created = broadcast.create(current.ports, _store(), made)
    answer["broadcastId"] = created.broadcast_id
    answer["status"] = created.status(now).value
    return _json(201, answer)


@app.get("/admin/broadcasts/<broadcast_id>")
def show_broadcast(broadcast_id: str) -> Response[str]:
    found = _store().broadcast(requests.broadcast_id(broadcast_id))
    if found is None:
        raise requests.not_found("No broadcast with this id.")
    return _json(200, broadcast.document(found, runtime.current().ports.clock()))


@app.delete("/admin/broadcasts/<broadcast_id>")
def cancel_broadcast(broadcast_id: str) -> Response[str]:
    clock = runtime.current().ports.clock
    cancelled = broadcast.cancel(_store(), requests.broadcast_id(broadcast_id), clock())
    if cancelled is None:
        raise requests.not_found("No broadcast with this id.")
    return _json(200, broadcast.document(cancelled, clock()))


# Errors, in one shape --------------------------------------------------------------------


@app.exception_handler(requests.RequestRefused)
def _refused(error: requests.RequestRefused) -> Response[str]:
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
            "phoneNumber": mask(requests.decoded_number(path_number)) if path_number else None,
            "caller": _identity(event),
            "status": answer.get("statusCode"),
        },
    )
    return answer


# Request pieces --------------------------------------------------------------------------


def _store() -> Store:
    return runtime.current().ports.store


def _identity(event: dict[str, Any]) -> str:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return str(identity.get("userArn") or "")


def _caller() -> str:
    """Who acts: the IAM caller (the method is IAM-authorised), "local" in local mode."""
    caller = _identity(app.current_event.raw_event)
    if not caller:
        raise requests.RequestRefused(
            403, AdminErrorCode.FORBIDDEN, "The request carries no caller identity."
        )
    return caller


def _query(name: str) -> str | None:
    value = app.current_event.get_query_string_value(name)
    return value if value else None


def _body(max_bytes: int = requests.MAX_BODY_BYTES) -> dict[str, Any]:
    return requests.json_object(app.current_event.decoded_body or "", max_bytes)


def _integer(name: str, default: int, highest: int) -> int:
    return requests.whole_number(name, _query(name), default, highest)


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
