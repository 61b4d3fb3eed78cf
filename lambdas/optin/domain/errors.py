"""Errors the domain raises; handlers map them to HTTP in one place."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ErrorCode(enum.StrEnum):
    """Every error code the registration API answers (docs/api.md): the functions, API
    Gateway's and WAF's own answers, local mode and the web form (config.json's
    ``errorCodes``) all name them from here."""

    INVALID_JSON = "INVALID_JSON"
    MISSING_FIELD = "MISSING_FIELD"
    INVALID_FIELD = "INVALID_FIELD"
    INVALID_PHONE_NUMBER = "INVALID_PHONE_NUMBER"
    CONSENT_REQUIRED = "CONSENT_REQUIRED"
    UNSUPPORTED_COUNTRY = "UNSUPPORTED_COUNTRY"
    NOT_A_MOBILE_NUMBER = "NOT_A_MOBILE_NUMBER"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    SMS_UNAVAILABLE = "SMS_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class AdminErrorCode(enum.StrEnum):
    """The error codes of the operator API (docs/operator.md), besides a broadcast text's."""

    BAD_REQUEST = "BAD_REQUEST"
    INVALID_JSON = "INVALID_JSON"
    INVALID_FIELD = "INVALID_FIELD"
    INVALID_PHONE_NUMBER = "INVALID_PHONE_NUMBER"
    INVALID_CURSOR = "INVALID_CURSOR"
    MISSING_REASON = "MISSING_REASON"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


@dataclass(frozen=True)
class GatewayAnswer:
    """An error answered in front of the functions (API Gateway, WAF; local mode's server
    in their place), in the API's error shape."""

    status: int
    code: ErrorCode
    message: str


# API Gateway's own answers (a body over its 4 KiB budget, not JSON, throttled) and WAF's.
BODY_NOT_JSON = GatewayAnswer(
    400, ErrorCode.INVALID_JSON, "The request body must be a JSON object of at most 4 KiB."
)
BODY_TOO_LARGE = GatewayAnswer(
    413, ErrorCode.PAYLOAD_TOO_LARGE, "The request body must be at most 4 KiB."
)
NOT_JSON_MEDIA_TYPE = GatewayAnswer(
    415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Send the request body as application/json."
)
THROTTLED = GatewayAnswer(429, ErrorCode.TOO_MANY_REQUESTS, "Too many requests; retry in a moment.")
WAF_BLOCKED = GatewayAnswer(
    429,
    ErrorCode.TOO_MANY_REQUESTS,
    "Too many requests from your network. Please try again later.",
)


class RegistrationError(Exception):
    """A registration refused with an API error code (docs/api.md)."""

    status = 400
    code: ErrorCode = ErrorCode.INVALID_FIELD

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidJson(RegistrationError):
    code = ErrorCode.INVALID_JSON


class MissingField(RegistrationError):
    code = ErrorCode.MISSING_FIELD


class InvalidField(RegistrationError):
    code = ErrorCode.INVALID_FIELD


class InvalidPhoneNumber(RegistrationError):
    code = ErrorCode.INVALID_PHONE_NUMBER


class ConsentRequired(RegistrationError):
    code = ErrorCode.CONSENT_REQUIRED


class UnsupportedCountry(RegistrationError):
    code = ErrorCode.UNSUPPORTED_COUNTRY


class NotAMobileNumber(RegistrationError):
    code = ErrorCode.NOT_A_MOBILE_NUMBER


class PayloadTooLarge(RegistrationError):
    status = 413
    code = ErrorCode.PAYLOAD_TOO_LARGE


class UnsupportedMediaType(RegistrationError):
    status = 415
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE


class TooManyRequests(RegistrationError):
    status = 429
    code = ErrorCode.TOO_MANY_REQUESTS

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = max(1, retry_after_seconds)


class PrefixLimitReached(TooManyRequests):
    """The number's prefix had its confirmations for this hour: answered exactly as any
    other 429; only the log tells it apart."""


class BudgetExhausted(TooManyRequests):
    """The day's confirmation budget is spent: answered exactly as any other 429; the log
    and a metric (ConfirmationBudgetExhausted, alarmed on) tell it apart."""


class Dependency(enum.StrEnum):
    """What the service depends on at run time, named in metrics and logs when it fails."""

    TABLE = "table"  # the subscribers table (DynamoDB)
    SMS = "sms"  # sending an SMS (End User Messaging SendTextMessage)
    NUMBER_LOOKUP = "number_lookup"  # the carrier lookup of a number's type
    QUEUE = "queue"  # the send queue (SQS) every SMS waits in
    ERASURE_KEY = "erasure_key"  # the key erased numbers are hashed with (Secrets Manager)


class DependencyUnavailable(Exception):
    """A dependency throttled or failed; nothing was lost, a retry is safe."""

    def __init__(self, dependency: Dependency, message: str) -> None:
        super().__init__(message)
        self.dependency = dependency


class DestinationOptedOut(Exception):
    """The platform refused to send: the number is on the opt-out list."""


class SendThrottled(DependencyUnavailable):
    """The origination identity is sending too fast (ThrottlingException): put the message
    back on the queue for a while."""

    def __init__(self, message: str) -> None:
        super().__init__(Dependency.SMS, message)


class SendQuotaExceeded(DependencyUnavailable):
    """A quota or the account's monthly spend limit refused the send
    (ServiceQuotaExceededException): retried much later, and alarmed."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(Dependency.SMS, message)
        self.reason = reason


class SendRefused(Exception):
    """The platform refused this message for good (an invalid number or text): never retried."""


class SendOutcomeUnknown(Exception):
    """The request may have reached the platform (no answer came back): the message may have
    been sent, so it is never sent again."""
