"""POST /register: an HTTP request event in (API Gateway, function URL or load balancer),
JSON response out.

``handle_request`` runs the use case and returns what it came to (a result or the error);
``report`` turns that into metrics and one log line; ``respond`` into the HTTP answer.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from optin import runtime, snapstart
from optin.domain.errors import (
    BudgetExhausted,
    Dependency,
    DependencyUnavailable,
    ErrorCode,
    PrefixLimitReached,
    RegistrationError,
)
from optin.domain.language.messages import Texts
from optin.domain.ports import Ports
from optin.domain.subscribers.lifecycle import RegistrationOutcome
from optin.domain.subscribers.phone import mask, mask_in_text
from optin.domain.subscribers.register import RegistrationResult, register
from optin.domain.subscribers.registration import parse_registration
from optin.handlers.http import (
    HttpRequest,
    decode_request,
    error_body,
    error_code,
    error_headers,
    error_status,
    json_document,
    response,
)
from optin.observability import (
    Metric,
    count,
    count_rejection,
    count_unavailable,
    entry_point,
    logger,
)

Refusal = RegistrationError | DependencyUnavailable
# A result, a refusal (4xx, or 503 while a dependency is down), or a bug (500).
Outcome = RegistrationResult | Refusal | Exception

INTERNAL_ERROR = {"code": ErrorCode.INTERNAL_ERROR, "message": "Something went wrong on our side."}

snapstart.register()  # SnapStart: prime before the snapshot, refresh after a restore


@entry_point(correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    current = runtime.current()
    correlation_id = logger.get_correlation_id() or getattr(context, "aws_request_id", "")
    request = decode_request(event)
    outcome = handle_request(request, current.ports, str(correlation_id))
    report(outcome)
    return respond(request, outcome, current.ports.rules.texts, current.settings.allowed_origins)


def handle_request(request: HttpRequest, ports: Ports, correlation_id: str) -> Outcome:
    """Check the body and register; never raises (a refusal or a bug is returned)."""
    rules = ports.rules
    try:
        registration = parse_registration(
            json_document(request),
            default_country=rules.default_country,
            allowed_countries=rules.allowed_countries,
            require_consent=rules.require_consent,
        )
        return register(
            registration,
            ports,
            ip=request.source_ip,
            user_agent=request.user_agent,
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
    if result.outcome is RegistrationOutcome.SEND_CONFIRMATION and result.message_key:
        count(Metric.MESSAGES_QUEUED)
    fields = {
        "phoneNumber": mask(result.phone_number),
        "outcome": result.outcome.value,
        "messageKey": result.message_key,
    }
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
        fields["detail"] = mask_in_text(str(refusal))  # never in the response body
    else:
        fields["field"] = refusal.field
    if isinstance(refusal, PrefixLimitReached):  # answered as any 429: only the log tells
        fields["limit"] = "maxConfirmationsPerPrefixPerHour"
    elif isinstance(refusal, BudgetExhausted):
        count(Metric.CONFIRMATION_BUDGET_EXHAUSTED)
        fields["limit"] = "dailyConfirmationBudget"
    logger.info("registration rejected", extra=fields)


def respond(
    request: HttpRequest, outcome: Outcome, texts: Texts, allowed_origins: tuple[str, ...]
) -> dict[str, Any]:
    if isinstance(outcome, RegistrationResult):
        body = {"status": "accepted", "message": texts.accepted_message()}
        return response(request, 202, body, allowed_origins)
    if isinstance(outcome, RegistrationError | DependencyUnavailable):
        return response(
            request,
            error_status(outcome),
            error_body(outcome),
            allowed_origins,
            error_headers(outcome),
        )
    return response(request, 500, {"error": INTERNAL_ERROR}, allowed_origins)
