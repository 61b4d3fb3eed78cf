"""Deployment configuration, read once from CDK context (docs/configuration.md).

Two kinds of setting live here. Those the functions read are passed through to
``optin.settings.Settings.from_env``, the same parser the functions run, so a value the
functions would refuse fails ``cdk synth`` first. The rest shape the infrastructure
(which phone number, throttling, alarms, log retention): each is declared once below
and read with the same reader (``optin.configuration``). Every error is a SettingError
naming the context key to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import phonenumbers

from infra import names
from optin.configuration import (
    XRAY_SDK_TRACING,
    Reader,
    Setting,
    boolean,
    country,
    integer,
    matching,
    one_of,
    one_of_numbers,
)
from optin.settings import ENVIRONMENT_SETTINGS, SETTINGS, Settings

# Settings the stack fills in itself, never from context.
STACK_VARIABLES = (
    "TABLE_NAME",
    "ORIGINATION_IDENTITY",
    "ORIGINATION_NUMBER",
    "CONFIGURATION_SET_NAME",
    "PROTECT_CONFIGURATION_ID",
    "OPT_OUT_LIST_NAME",
    "SEND_QUEUE_URL",
    "BROADCAST_QUEUE_URL",
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


# The infrastructure's own settings (CDK context only): key, parser, default.
STACK_NAME = Setting("stackName", matching(_STACK_NAME), names.DEFAULT_STACK_NAME)
# The origination identity and the opt-out list are the functions' settings (optin.settings,
# their one declaration), read here from context: the stack fills the functions' variables.
# In context an empty originationIdentity asks for a new number, an empty optOutListName for
# a new opt-out list, and a list named there must be a valid End User Messaging name.
ORIGINATION_IDENTITY = replace(SETTINGS["origination_identity"], default="")
ORIGINATION_NUMBER = SETTINGS["origination_number"]
OPT_OUT_LIST_NAME = replace(SETTINGS["opt_out_list_name"], parse=matching(_NAME))
PHONE_NUMBER_COUNTRY = Setting("phoneNumberCountry", country, "US")
PHONE_NUMBER_TYPE = Setting("phoneNumberType", one_of(names.NUMBER_TYPES, upper=True), "SIMULATOR")
ALARM_EMAIL = Setting("alarmEmail", matching(_EMAIL), "")
API_THROTTLING_RATE_LIMIT = Setting("apiThrottlingRateLimit", integer(1, 10_000), 10)
API_THROTTLING_BURST_LIMIT = Setting("apiThrottlingBurstLimit", integer(1, 5_000), 20)
LOG_RETENTION_DAYS = Setting("logRetentionDays", one_of_numbers(RETENTION_DAYS), 90)
LOG_LEVEL = Setting("logLevel", one_of(LOG_LEVELS, upper=True), "INFO")
ALARM_CONFIRMATIONS_PER_HOUR = Setting("alarmConfirmationsPerHour", integer(1, 10**9), 200)
ALARM_WAF_BLOCKS_PER_5_MINUTES = Setting("alarmWafBlocksPer5Minutes", integer(1, 10**9), 100)
# WAF's rate-based rules count from 10 requests per window upwards.
REGISTRATIONS_PER_IP_PER_5_MINUTES = Setting(
    "registrationsPerIpPer5Minutes", integer(10, 2_000_000_000), 10
)
PROTECT_MODE = Setting("protectMode", one_of(PROTECT_MODES, upper=True), "ALLOW")
BOT_CHALLENGE = Setting("botChallenge", one_of(BOT_CHALLENGES), "none")
# Sender instances per send queue: 2 is the least SQS event sources accept.
SENDER_MAX_CONCURRENCY = Setting("senderMaxConcurrency", integer(2, 1000), 2)
# Alarm when the oldest transactional message has waited this long (up to SQS's 14 days).
ALARM_SEND_QUEUE_AGE_SECONDS = Setting("alarmSendQueueAgeSeconds", integer(60, 1_209_600), 300)
# Registration, inbound and sender restored from a snapshot of a primed container.
SNAP_START = Setting("snapStart", boolean, True)


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
    alarm_send_queue_age_seconds: int
    sender_max_concurrency: int
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
    snap_start: bool = True

    def function_environment(
        self, stack_values: Mapping[str, str], site_origin: str
    ) -> dict[str, str]:
        """Every variable the functions read, with the stack's own values filled in."""
        missing = set(STACK_VARIABLES) - set(stack_values)
        if missing:
            raise ValueError(f"stack values missing: {sorted(missing)}")
        return {
            "FORM_URL": f"{site_origin}/",  # the form this stack serves, unless formUrl says
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
    reader = Reader.context(context)
    origination = _origination(reader)
    settings_environment = _settings_environment(reader)
    reader.read(XRAY_SDK_TRACING)  # the functions read it at import: checked here first
    number = origination.number if isinstance(origination, AdoptedIdentity) else ""
    # The functions' own parser checks the values they will read (names the setting).
    checked = Settings.from_env(
        {**settings_environment, **_PLACEHOLDERS, "ORIGINATION_NUMBER": number}
    )
    unknown = sorted(set(checked.allowed_countries) - set(phonenumbers.SUPPORTED_REGIONS))
    if unknown:
        raise SETTINGS["allowed_countries"].error(
            f"{unknown[0]!r} is not a country with phone numbers"
        )
    return DeployConfig(
        stack_name=reader.read(STACK_NAME),
        origination=origination,
        existing_opt_out_list=_opt_out_list(reader, origination),
        alarm_email=reader.read(ALARM_EMAIL),
        throttling_rate_limit=reader.read(API_THROTTLING_RATE_LIMIT),
        throttling_burst_limit=reader.read(API_THROTTLING_BURST_LIMIT),
        alarm_confirmations_per_hour=reader.read(ALARM_CONFIRMATIONS_PER_HOUR),
        alarm_waf_blocks_per_5_minutes=reader.read(ALARM_WAF_BLOCKS_PER_5_MINUTES),
        alarm_send_queue_age_seconds=reader.read(ALARM_SEND_QUEUE_AGE_SECONDS),
        sender_max_concurrency=reader.read(SENDER_MAX_CONCURRENCY),
        registrations_per_ip_per_5_minutes=reader.read(REGISTRATIONS_PER_IP_PER_5_MINUTES),
        protect_mode=reader.read(PROTECT_MODE),
        bot_challenge=reader.read(BOT_CHALLENGE),
        log_retention_days=reader.read(LOG_RETENTION_DAYS),
        log_level=reader.read(LOG_LEVEL),
        powertools_version=reader.read(
            Setting("powertoolsVersion", matching(_VERSION), _pinned_powertools())
        ),
        allowed_origins=checked.allowed_origins,
        checked=checked,
        settings_environment=settings_environment,
        snap_start=reader.read(SNAP_START),
    )


def _settings_environment(reader: Reader) -> dict[str, str]:
    environment = {}
    for setting in ENVIRONMENT_SETTINGS:
        if setting.variable in STACK_VARIABLES:
            continue
        value = reader.raw(setting)
        if value is not None:
            environment[setting.variable] = _as_environment_value(value)
    return environment


def _as_environment_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _origination(reader: Reader) -> AdoptedIdentity | NewPhoneNumber:
    identity = reader.read(ORIGINATION_IDENTITY)
    number = reader.read(ORIGINATION_NUMBER)
    if number and not _E164.match(number):
        raise ORIGINATION_NUMBER.error(f"{number!r} must be E.164, like +12065550142")
    if not identity:
        if number:
            raise ORIGINATION_NUMBER.error(
                "is only for an adopted number (originationIdentity); "
                "a requested number's E.164 comes from the stack"
            )
        return NewPhoneNumber(
            country=reader.read(PHONE_NUMBER_COUNTRY), number_type=reader.read(PHONE_NUMBER_TYPE)
        )
    for setting in (PHONE_NUMBER_COUNTRY, PHONE_NUMBER_TYPE):
        if reader.raw(setting) is not None:
            raise setting.error("is only for requesting a new number; remove originationIdentity")
    arn = _ARN.match(identity)
    if arn:
        return AdoptedIdentity(arn["kind"], arn["id"], identity, number)
    plain = _ID.match(identity)
    if plain:
        kind = "phone-number" if plain["prefix"] == "phone" else "pool"
        return AdoptedIdentity(kind, identity, "", number)
    raise ORIGINATION_IDENTITY.error(
        f"{identity!r} must be a phone number or pool id (phone-..., pool-...) or its ARN; "
        "put the E.164 number in originationNumber"
    )


def _opt_out_list(reader: Reader, origination: AdoptedIdentity | NewPhoneNumber) -> str:
    name = reader.read(OPT_OUT_LIST_NAME)
    if name and isinstance(origination, NewPhoneNumber):
        raise OPT_OUT_LIST_NAME.error("is only for an adopted number (originationIdentity)")
    return name


def _pinned_powertools() -> str:
    """The Powertools version the tests run with: the layer must match it."""
    try:
        text = names.DEV_REQUIREMENTS.read_text()
    except OSError:
        return "latest"
    match = re.search(r"^aws-lambda-powertools(?:\[[^\]]*\])?==(\S+)", text, re.MULTILINE)
    return match[1] if match else "latest"
