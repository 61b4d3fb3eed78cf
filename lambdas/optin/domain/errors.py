"""Errors the domain raises; handlers map them to HTTP in one place."""

from __future__ import annotations

import enum


class RegistrationError(Exception):
    """A registration refused with an API error code (docs/api.md)."""

    status = 400
    code = "INVALID_FIELD"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidJson(RegistrationError):
    code = "INVALID_JSON"


class MissingField(RegistrationError):
    code = "MISSING_FIELD"


class InvalidField(RegistrationError):
    code = "INVALID_FIELD"


class InvalidPhoneNumber(RegistrationError):
    code = "INVALID_PHONE_NUMBER"


class ConsentRequired(RegistrationError):
    code = "CONSENT_REQUIRED"


class UnsupportedCountry(RegistrationError):
    code = "UNSUPPORTED_COUNTRY"


class NotAMobileNumber(RegistrationError):
    code = "NOT_A_MOBILE_NUMBER"


class PayloadTooLarge(RegistrationError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(RegistrationError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class TooManyRequests(RegistrationError):
    status = 429
    code = "TOO_MANY_REQUESTS"

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
