"""Logger, Metrics and Tracer, shared by both handlers (SPEC section 10).

Log lines pass through a formatter that masks anything shaped like an E.164 number, as a
safety net behind the explicit ``mask`` calls; names are never logged at all.
"""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from optin.domain.phone import mask_in_text

NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "SmsOptIn")


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict) -> str:  # type: ignore[override]
        return mask_in_text(super().serialize(log))


logger = Logger(logger_formatter=MaskingFormatter(utc=True))
metrics = Metrics(namespace=NAMESPACE)
tracer = Tracer()


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_rejection(code: str) -> None:
    """RegistrationRejected, in total and split by error code."""
    count("RegistrationRejected")
    with single_metric(
        name="RegistrationRejected",
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions=metrics.default_dimensions,
    ) as metric:
        metric.add_dimension(name="code", value=code)


logging.getLogger("botocore").setLevel(logging.WARNING)
