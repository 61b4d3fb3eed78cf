"""POST /register: API Gateway REST proxy event in, JSON response out (SPEC section 4)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from optin import runtime
from optin.domain.errors import Dependency, DependencyUnavailable, RegistrationError
from optin.domain.lifecycle import RegistrationOutcome
from optin.domain.phone import mask
from optin.domain.registration import parse_registration
from optin.domain.service import register
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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    current = runtime.current()
    settings, ports = current.settings, current.ports
    rules = ports.rules
    identity = (event.get("requestContext") or {}).get("identity") or {}
    correlation_id = logger.get_correlation_id() or getattr(context, "aws_request_id", "")
    try:
        request = parse_registration(
            json_document(event),
            default_country=rules.default_country,
            allowed_countries=rules.allowed_countries,
            require_consent=rules.require_consent,
        )
        result = register(
            request,
            ports,
            ip=str(identity.get("sourceIp") or ""),
            user_agent=str(identity.get("userAgent") or header(event, "user-agent") or "")[:512],
            correlation_id=str(correlation_id),
        )
    except (RegistrationError, DependencyUnavailable) as error:
        return _refused(event, error, settings.allowed_origins)
    except Exception:  # a bug: logged and alarmed on, answered in the API's error shape
        logger.exception("registration failed unexpectedly")
        count(Metric.REGISTRATION_FAILED)
        failure = {"code": "INTERNAL_ERROR", "message": "Something went wrong on our side."}
        return response(event, 500, {"error": failure}, settings.allowed_origins)
    count(Metric.REGISTRATION_ACCEPTED)
    if result.outcome is RegistrationOutcome.SEND_CONFIRMATION and result.message_id:
        count(Metric.CONFIRMATION_SENT)
    if result.sent_not_recorded:
        count(Metric.LEDGER_WRITE_FAILED)
        logger.error(
            "confirmation sent but its ledger event was not written",
            extra={"phoneNumber": mask(result.phone_number), "messageId": result.message_id},
        )
    logger.info(
        "registration accepted",
        extra={
            "phoneNumber": mask(result.phone_number),
            "outcome": result.outcome.value,
            "messageId": result.message_id,
            "blockedByOptOut": result.blocked_by_opt_out,
        },
    )
    body = {"status": "accepted", "message": rules.texts.accepted_message()}
    return response(event, 202, body, settings.allowed_origins)


def _refused(
    event: dict[str, Any],
    error: RegistrationError | DependencyUnavailable,
    allowed_origins: tuple[str, ...],
) -> dict[str, Any]:
    code, status = error_code(error), error_status(error)
    count_rejection(code)
    extra: dict[str, Any] = {"code": code, "status": status}
    if isinstance(error, DependencyUnavailable):
        count_unavailable(error.dependency)
        if error.dependency is Dependency.SMS:
            count(Metric.SMS_SEND_FAILED)
        extra["dependency"] = error.dependency.value
    else:
        extra["field"] = error.field
    logger.info("registration rejected", extra=extra)
    return response(event, status, error_body(error), allowed_origins, error_headers(error))
