"""Deployment configuration, read once from CDK context (SPEC section 6).

Two kinds of setting live here. Those the functions read are passed through to
``optin.settings.Settings.from_env``, the same parser the functions run, so a value the
functions would refuse fails ``cdk synth`` first. The rest shape the infrastructure
(which phone number, throttling, alarms, log retention) and are checked here. Every
error names the context key to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from infra import names
from optin.settings import ENVIRONMENT, Settings

# Settings the stack fills in itself, never from context.
STACK_VARIABLES = (
    "TABLE_NAME",
    "ORIGINATION_IDENTITY",
    "ORIGINATION_NUMBER",
    "CONFIGURATION_SET_NAME",
    "PROTECT_CONFIGURATION_ID",
    "OPT_OUT_LIST_NAME",
)
# Stand-ins for the stack's values while checking the context alone.
_PLACEHOLDERS = {variable: f"placeholder-{variable.lower()}" for variable in STACK_VARIABLES}

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# What the protect configuration does for the allowed countries: ALLOW sends, FILTER has
# AWS's artificially inflated traffic filtering block suspect sends, MONITOR only reports.
PROTECT_MODES = ("ALLOW", "FILTER", "MONITOR")
# A bot check in front of POST /register: none, WAF's silent challenge, or a CAPTCHA.
BOT_CHALLENGES = ("none", "challenge", "captcha")
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)

_ARN = re.compile(
    r"^arn:aws[a-z-]*:sms-voice:[a-z0-9-]+:\d{12}:(?P<kind>phone-number|pool)/"
    r"(?P<id>(?:phone|pool)-[0-9A-Za-z]+)$"
)
_ID = re.compile(r"^(?P<prefix>phone|pool)-[0-9A-Za-z]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_VERSION = re.compile(r"^(latest|\d+\.\d+\.\d+)$")


class ConfigError(ValueError):
    """An invalid deployment setting; the message names the CDK context key."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"setting {setting} {problem}")
        self.setting = setting
        self.problem = problem


@dataclass(frozen=True)
class AdoptedIdentity:
    """An existing phone number or pool, registered outside CloudFormation."""

    kind: str  # "phone-number" or "pool"
    resource_id: str  # phone-... or pool-...
    arn: str  # "" when given by id: the stack builds it from its account and region
    number: str  # E.164 of the number when the operator told us ("" otherwise)


@dataclass(frozen=True)
class NewPhoneNumber:
    """A phone number the stack requests (CfnPhoneNumber)."""

    country: str
    number_type: str


@dataclass(frozen=True)
class DeployConfig:
    stack_name: str
    origination: AdoptedIdentity | NewPhoneNumber
    existing_opt_out_list: str  # "" : the stack creates its own opt-out list
    alarm_email: str
    alarm_confirmations_per_hour: int
    alarm_waf_blocks_per_5_minutes: int
    throttling_rate_limit: int
    throttling_burst_limit: int
    registrations_per_ip_per_5_minutes: int
    protect_mode: str
    bot_challenge: str
    log_retention_days: int
    log_level: str
    powertools_version: str
    allowed_origins: tuple[str, ...]
    # The functions' settings as checked from context (stack values are placeholders).
    checked: Settings
    # Function environment from context; the stack adds STACK_VARIABLES and ALLOWED_ORIGINS.
    settings_environment: Mapping[str, str] = field(default_factory=dict)

    def function_environment(
        self, stack_values: Mapping[str, str], site_origin: str
    ) -> dict[str, str]:
        """Every variable the functions read, with the stack's own values filled in."""
        missing = set(STACK_VARIABLES) - set(stack_values)
        if missing:
            raise ValueError(f"stack values missing: {sorted(missing)}")
        return {
            **self.settings_environment,
            **stack_values,
            "ALLOWED_ORIGINS": ",".join((site_origin, *self.allowed_origins)),
            "POWERTOOLS_SERVICE_NAME": names.SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": names.METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": self.log_level,
        }

    def settings(self, stack_values: Mapping[str, str]) -> Settings:
        """The functions' settings as they will see them (stack values may be tokens)."""
        return Settings.from_env(
            {
                **self.settings_environment,
                **stack_values,
                "ALLOWED_ORIGINS": ",".join(self.allowed_origins),
            }
        )


def load(context: Callable[[str], Any]) -> DeployConfig:
    """Read and check every setting; ``context`` is ``node.try_get_context``."""
    reader = _ContextReader(context)
    origination = _origination(reader)
    settings_environment = _settings_environment(reader)
    number = origination.number if isinstance(origination, AdoptedIdentity) else ""
    # The functions' own parser checks the values they will read (names the setting).
    checked = Settings.from_env(
        {**settings_environment, **_PLACEHOLDERS, "ORIGINATION_NUMBER": number}
    )
    unknown = sorted(set(checked.allowed_countries) - set(phonenumbers.SUPPORTED_REGIONS))
    if unknown:
        raise ConfigError("allowedCountries", f"{unknown[0]!r} is not a country with phone numbers")
    return DeployConfig(
        stack_name=reader.text("stackName", names.DEFAULT_STACK_NAME, _STACK_NAME),
        origination=origination,
        existing_opt_out_list=_opt_out_list(reader, origination),
        alarm_email=reader.text("alarmEmail", "", _EMAIL),
        alarm_confirmations_per_hour=reader.integer("alarmConfirmationsPerHour", 200, 1, 10**9),
        alarm_waf_blocks_per_5_minutes=reader.integer("alarmWafBlocksPer5Minutes", 100, 1, 10**9),
        throttling_rate_limit=reader.integer("apiThrottlingRateLimit", 10, 1, 10_000),
        throttling_burst_limit=reader.integer("apiThrottlingBurstLimit", 20, 1, 5_000),
        # WAF's rate-based rules count from 10 requests per window upwards.
        registrations_per_ip_per_5_minutes=reader.integer(
            "registrationsPerIpPer5Minutes", 10, 10, 2_000_000_000
        ),
        protect_mode=reader.choice("protectMode", "ALLOW", PROTECT_MODES),
        bot_challenge=reader.choice(
            "botChallenge", "none", tuple(c.upper() for c in BOT_CHALLENGES)
        ).lower(),
        log_retention_days=reader.choice_int("logRetentionDays", 90, RETENTION_DAYS),
        log_level=reader.choice("logLevel", "INFO", LOG_LEVELS),
        powertools_version=reader.text("powertoolsVersion", _pinned_powertools(), _VERSION),
        allowed_origins=checked.allowed_origins,
        checked=checked,
        settings_environment=settings_environment,
    )


def _settings_environment(reader: _ContextReader) -> dict[str, str]:
    environment = {}
    for variable, key in ENVIRONMENT.items():
        if variable in STACK_VARIABLES:
            continue
        value = reader.raw(key)
        if value is not None:
            environment[variable] = _as_environment_value(value)
    return environment


def _as_environment_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _origination(reader: _ContextReader) -> AdoptedIdentity | NewPhoneNumber:
    identity = reader.text("originationIdentity", "")
    number = reader.text("originationNumber", "")
    if number and not _E164.match(number):
        raise ConfigError("originationNumber", f"{number!r} must be E.164, like +12065550142")
    if not identity:
        if number:
            raise ConfigError(
                "originationNumber",
                "is only for an adopted number (originationIdentity); "
                "a requested number's E.164 comes from the stack",
            )
        country = reader.text("phoneNumberCountry", "US").upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise ConfigError(
                "phoneNumberCountry", f"{country!r} is not an ISO 3166-1 alpha-2 code"
            )
        number_type = reader.choice("phoneNumberType", "SIMULATOR", names.NUMBER_TYPES)
        return NewPhoneNumber(country=country, number_type=number_type)
    for key in ("phoneNumberCountry", "phoneNumberType"):
        if reader.raw(key) is not None:
            raise ConfigError(
                key, "is only for requesting a new number; remove originationIdentity"
            )
    arn = _ARN.match(identity)
    if arn:
        return AdoptedIdentity(arn["kind"], arn["id"], identity, number)
    plain = _ID.match(identity)
    if plain:
        kind = "phone-number" if plain["prefix"] == "phone" else "pool"
        return AdoptedIdentity(kind, identity, "", number)
    raise ConfigError(
        "originationIdentity",
        f"{identity!r} must be a phone number or pool id (phone-..., pool-...) or its ARN; "
        "put the E.164 number in originationNumber",
    )


def _opt_out_list(reader: _ContextReader, origination: AdoptedIdentity | NewPhoneNumber) -> str:
    name = reader.text("optOutListName", "", _NAME)
    if name and isinstance(origination, NewPhoneNumber):
        raise ConfigError("optOutListName", "is only for an adopted number (originationIdentity)")
    return name


def _pinned_powertools() -> str:
    """The Powertools version the tests run with: the layer must match it."""
    try:
        text = names.DEV_REQUIREMENTS.read_text()
    except OSError:
        return "latest"
    match = re.search(r"^aws-lambda-powertools(?:\[[^\]]*\])?==(\S+)", text, re.MULTILINE)
    return match[1] if match else "latest"


class _ContextReader:
    def __init__(self, context: Callable[[str], Any]) -> None:
        self._context = context

    def raw(self, key: str) -> Any:
        value = self._context(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value.strip() if isinstance(value, str) else value

    def text(self, key: str, default: str, pattern: re.Pattern[str] | None = None) -> str:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, got {value!r}")
        if pattern is not None and not pattern.match(value):
            raise ConfigError(key, f"{value!r} is not valid")
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(key, f"{value!r} is not a whole number") from None
        if isinstance(value, float | bool) or not low <= number <= high:
            raise ConfigError(key, f"{value!r} must be a whole number in {low}..{high}")
        return number

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(key, default)
        normalised = value.upper()
        if normalised not in choices:
            raise ConfigError(key, f"{value!r} must be one of {', '.join(choices)}")
        return normalised

    def choice_int(self, key: str, default: int, choices: tuple[int, ...]) -> int:
        number = self.integer(key, default, min(choices), max(choices))
        if number not in choices:
            raise ConfigError(key, f"{number} must be one of {', '.join(map(str, choices))}")
        return number
