"""Errors the domain raises; handlers map them to HTTP in one place."""

from __future__ import annotations


class RegistrationError(Exception):
    """A registration refused with an API error code (SPEC section 4)."""

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


class SmsUnavailable(RegistrationError):
    """The SMS provider (or number lookup) throttled or failed; nothing was lost, retry is safe."""

    status = 503
    code = "SMS_UNAVAILABLE"


class DestinationOptedOut(Exception):
    """The platform refused to send: the number is on the opt-out list."""
