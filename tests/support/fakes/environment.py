"""The environment the tests and benchmarks run in: fake AWS credentials, the stack's
settings, a clock they move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from optin.domain.broadcasts.quiet_hours import LEGAL
from optin.settings import Settings

# Never reach a real AWS endpoint from a test or a benchmark, whatever the machine's setup.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "sms-optin",
    "POWERTOOLS_METRICS_NAMESPACE": "SmsOptIn",
    "POWERTOOLS_TRACE_DISABLED": "true",
}

BASE_ENV = {
    "TABLE_NAME": "subscribers",
    "ORIGINATION_IDENTITY": "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-0123",
    "ORIGINATION_NUMBER": "+18005550100",
    "CONFIGURATION_SET_NAME": "optin-events",
    "PROTECT_CONFIGURATION_ID": "protect-0123456789abcdef",
    "OPT_OUT_LIST_NAME": "optin-opt-outs",
    "BRAND_NAME": "ExampleCorp",
    "PROGRAM_DESCRIPTION": "Order updates and offers",
    "MESSAGE_FREQUENCY": "Up to 4 msgs/month",
    "TERMS_URL": "https://example.com/terms-sms",
    "PRIVACY_URL": "https://example.com/privacy",
    "HELP_CONTACT": "help@example.com",
    "ALLOWED_ORIGINS": "https://form.example.com",
    "NUMBER_LOOKUP": "offline",
}

# The defaults docs/configuration.md gives the settings the stack and the functions share.
DOCUMENTED_DEFAULTS = {
    "confirm_keywords": ("YES",),
    "allowed_countries": ("US", "CA"),
    "default_country": "US",
    "confirmation_window_hours": 24,
    "resend_cooldown_seconds": 60,
    "max_confirmations_per_day": 3,
    "max_confirmations_per_prefix_per_hour": 10,
    "daily_confirmation_budget": 1_000,
    "max_broadcast_parts": 3,
    "broadcast_name_characters": 20,
    "broadcast_min_interval_hours": 12,
    "quiet_hours": LEGAL,
}

# Fictional numbers (555-01xx) share one prefix per area code: a test or a benchmark about
# something else that registers many of them lifts the limits across numbers.
NO_PREFIX_LIMITS = {
    "MAX_CONFIRMATIONS_PER_PREFIX_PER_HOUR": "1000000",
    "DAILY_CONFIRMATION_BUDGET": "1000000000",
}


def documented_settings(settings: Settings) -> dict[str, object]:
    """The values ``settings`` has for the settings DOCUMENTED_DEFAULTS names."""
    return {name: getattr(settings, name) for name in DOCUMENTED_DEFAULTS}


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def sleep(self, seconds: float) -> None:
        """What waiting does on this clock: time passes at once."""
        self.advance(seconds=seconds)
