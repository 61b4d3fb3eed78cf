"""POST /register: API Gateway REST proxy event in, JSON response out.

``handle_request`` runs the use case and returns what it came to (a result or the error);
``report`` turns that into metrics and one log line; ``respond`` into the HTTP answer.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from optin import runtime
from optin.domain.errors import Dependency, DependencyUnavailable, RegistrationError
from optin.domain.lifecycle import RegistrationOutcome
from optin.domain.messages import Texts
from optin.domain.phone import mask
from optin.domain.ports import Ports
from optin.domain.register import RegistrationResult, register
from optin.domain.registration import parse_registration
from optin.handlers.http import (
    error_body,
    error_code,
    error_headers,
    error_status,
    header,
    json_document,
    response,
)
from optin.observability import (
    Metric,
    count,
    count_rejection,
    count_unavailable,
    logger,
    metrics,
    traced,
)

Refusal = RegistrationError | DependencyUnavailable
# A result, a refusal (4xx, or 503 while a dependency is down), or a bug (500).
Outcome = RegistrationResult | Refusal | Exception

INTERNAL_ERROR = {"code": "INTERNAL_ERROR", "message": "Something went wrong on our side."}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    current = runtime.current()
    correlation_id = logger.get_correlation_id() or getattr(context, "aws_request_id", "")
    outcome = handle_request(event, current.ports, str(correlation_id))
    report(outcome)
    return respond(event, outcome, current.ports.rules.texts, current.settings.allowed_origins)


def handle_request(event: dict[str, Any], ports: Ports, correlation_id: str) -> Outcome:
    """Decode, check and register; never raises (a refusal or a bug is returned)."""
    rules = ports.rules
    identity = (event.get("requestContext") or {}).get("identity") or {}
    try:
        request = parse_registration(
            json_document(event),
            default_country=rules.default_country,
            allowed_countries=rules.allowed_countries,
            require_consent=rules.require_consent,
        )
        return register(
            request,
            ports,
            ip=str(identity.get("sourceIp") or ""),
            user_agent=str(identity.get("userAgent") or header(event, "user-agent") or "")[:512],
            correlation_id=correlation_id,
        )
    except (RegistrationError, DependencyUnavailable) as refusal:
        return refusal
    except Exception as bug:  # logged and alarmed on, answered in the API's error shape
        return bug


def report(outcome: Outcome) -> None:
    """The outcome's metrics and its one log line (numbers masked, names never)."""
    if isinstance(outcome, RegistrationResult):
        _report_accepted(outcome)
    elif isinstance(outcome, RegistrationError | DependencyUnavailable):
        _report_refused(outcome)
    else:
        count(Metric.REGISTRATION_FAILED)
        logger.error("registration failed unexpectedly", exc_info=outcome)


def _report_accepted(result: RegistrationResult) -> None:
    count(Metric.REGISTRATION_ACCEPTED)
    if result.outcome is RegistrationOutcome.SEND_CONFIRMATION and result.message_id:
        count(Metric.CONFIRMATION_SENT)
    fields = {
        "phoneNumber": mask(result.phone_number),
        "outcome": result.outcome.value,
        "messageId": result.message_id,
        "blockedByOptOut": result.blocked_by_opt_out,
    }
    if result.sent_not_recorded:
        count(Metric.LEDGER_WRITE_FAILED)
        logger.error("confirmation sent but its ledger event was not written", extra=fields)
    else:
        logger.info("registration accepted", extra=fields)


def _report_refused(refusal: Refusal) -> None:
    code = error_code(refusal)
    count_rejection(code)
    fields: dict[str, Any] = {"code": code, "status": error_status(refusal)}
    if isinstance(refusal, DependencyUnavailable):
        count_unavailable(refusal.dependency)
        if refusal.dependency is Dependency.SMS:
            count(Metric.SMS_SEND_FAILED)
        fields["dependency"] = refusal.dependency.value
    else:
        fields["field"] = refusal.field
    logger.info("registration rejected", extra=fields)


def respond(
    event: dict[str, Any], outcome: Outcome, texts: Texts, allowed_origins: tuple[str, ...]
) -> dict[str, Any]:
    if isinstance(outcome, RegistrationResult):
        body = {"status": "accepted", "message": texts.accepted_message()}
        return response(event, 202, body, allowed_origins)
    if isinstance(outcome, RegistrationError | DependencyUnavailable):
        return response(
            event,
            error_status(outcome),
            error_body(outcome),
            allowed_origins,
            error_headers(outcome),
        )
    return response(event, 500, {"error": INTERNAL_ERROR}, allowed_origins)
