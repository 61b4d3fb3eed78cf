"""Logger, Metrics and Tracer, shared by both handlers (README: Operating it).

Log lines pass through a formatter that masks anything shaped like an E.164 number, as a
safety net behind the explicit ``mask`` calls; names are never logged at all.
"""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from optin.configuration import XRAY_SDK_TRACING, Reader
from optin.domain.errors import DependencyUnavailable
from optin.domain.subscribers.phone import mask_in_text

NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "SmsOptIn")


class Metric(enum.StrEnum):
    """Every metric the functions emit: the handlers, the stack's alarms and dashboard, and
    the tests all use these names, so none can drift from another."""

    REGISTRATION_ACCEPTED = "RegistrationAccepted"
    REGISTRATION_REJECTED = "RegistrationRejected"  # also split by dimension ``code``
    REGISTRATION_FAILED = "RegistrationFailed"  # an unexpected error: a bug, answered 500
    # A registration refused (429) because the day's confirmation budget is spent.
    CONFIRMATION_BUDGET_EXHAUSTED = "ConfirmationBudgetExhausted"
    CONFIRMATION_SENT = "ConfirmationSent"
    SMS_SEND_FAILED = "SmsSendFailed"  # the SMS provider refused or failed a send
    DEPENDENCY_UNAVAILABLE = "DependencyUnavailable"  # also split by dimension ``dependency``
    LEDGER_WRITE_FAILED = "LedgerWriteFailed"  # an SMS left but its evidence was not written
    INBOUND_MESSAGES = "InboundMessages"
    MALFORMED_INBOUND = "MalformedInbound"
    INBOUND_FAILED = "InboundFailed"
    CONFIRMED = "Confirmed"
    OPTED_OUT = "OptedOut"
    EXPIRED = "Expired"
    HELP_REQUESTED = "HelpRequested"
    UNMATCHED_REPLY = "UnmatchedReply"
    # The send queue and the sender.
    MESSAGES_QUEUED = "MessagesQueued"
    MESSAGES_SENT = "MessagesSent"
    SEND_THROTTLED = "SendThrottled"  # a ThrottlingException put a message back
    SEND_DEFERRED = "SendDeferred"  # pacing delayed a message
    SEND_QUOTA_EXCEEDED = "SendQuotaExceeded"  # a quota or the spend limit refused a send
    DUPLICATE_SEND_SKIPPED = "DuplicateSendSkipped"
    SEND_SKIPPED_OPTED_OUT = "SendSkippedOptedOut"
    CONFIRMATION_DROPPED = "ConfirmationDropped"  # not sent within the maximum delay
    # Delivery events of the configuration set.
    DELIVERED = "Delivered"
    DELIVERY_FAILED = "DeliveryFailed"
    OPERATOR_REQUESTS = "OperatorRequests"  # requests to the operator API
    ERASED = "Erased"  # numbers whose personal data was erased (on request or housekeeping)


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict) -> str:  # type: ignore[override]
        return mask_in_text(super().serialize(log))


logger = Logger(logger_formatter=MaskingFormatter(utc=True))
metrics = Metrics(namespace=NAMESPACE)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def traced(handler: Handler) -> Handler:
    """Powertools Tracer around the handler, only when ``XRAY_SDK_TRACING=true``.

    The Tracer brings the X-Ray SDK, which builds its own botocore session and clients on
    import: about 185 ms of every cold start (docs/performance.md), whether tracing is on or
    not. Lambda's active tracing records each invocation without it; the SDK adds one
    subsegment per AWS call, for when an operator wants them (context ``xraySdkTracing``).
    """
    if not Reader.environment(os.environ).read(XRAY_SDK_TRACING):
        return handler
    from aws_lambda_powertools import Tracer

    wrapped: Handler = Tracer().capture_lambda_handler(capture_response=False)(handler)
    return wrapped


def entry_point(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """What every function's handler is wrapped in: the Lambda context (and the request's
    correlation id, at ``correlation_id_path``) on each log line, the metrics flushed after
    each invocation, and the tracer when it is on."""

    def wrap(handler: Handler) -> Handler:
        logged = logger.inject_lambda_context(
            metrics.log_metrics(traced(handler)), correlation_id_path=correlation_id_path
        )
        return logged  # type: ignore[return-value]

    return wrap


def count(metric: Metric | None, value: int = 1) -> None:
    """Add ``value`` to the metric (None: an outcome no metric counts)."""
    if metric is not None:
        metrics.add_metric(name=metric.value, unit=MetricUnit.Count, value=value)


def count_split(metric: Metric, dimension: str, value: str) -> None:
    """One count of ``metric`` in total, and one in the series of ``dimension=value``.

    ``single_metric`` prints at once and ignores POWERTOOLS_METRICS_DISABLED, so the split
    is skipped here by the rule ``Metrics`` itself follows (quiet local mode)."""
    count(metric)
    if is_metrics_disabled():
        return
    with single_metric(
        name=metric.value,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions=metrics.default_dimensions,
    ) as split:
        split.add_dimension(name=dimension, value=value)


def count_rejection(code: str) -> None:
    """RegistrationRejected, in total and split by error code."""
    count_split(Metric.REGISTRATION_REJECTED, "code", code)


def count_unavailable(dependency: str) -> None:
    """DependencyUnavailable, in total and split by the dependency that failed."""
    count_split(Metric.DEPENDENCY_UNAVAILABLE, "dependency", dependency)


def log_failure(message: str, error: Exception, fields: dict[str, Any]) -> None:
    """A record that failed: one error line with its trace; the failed dependency (if
    that is what failed) is counted and named."""
    if isinstance(error, DependencyUnavailable):
        count_unavailable(error.dependency)
        fields = {**fields, "dependency": error.dependency.value}
    logger.error(message, exc_info=error, extra=fields)


logging.getLogger("botocore").setLevel(logging.WARNING)
