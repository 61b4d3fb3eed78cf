"""Typed settings, parsed once from the environment the stack hands each function.

Every setting is declared once in ``SETTINGS`` (its CDK context key, environment variable,
default and parser) and read with ``optin.configuration``'s reader, the one the stack
uses on CDK context too; an error names the key and the variable, so an operator knows
what to fix whichever side they look from.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from optin.configuration import (
    XRAY_SDK_TRACING,
    Reader,
    Setting,
    SettingError,
    boolean,
    countries,
    country,
    https_url,
    integer,
    one_of,
    origins,
    strings,
    text,
    text_map,
)
from optin.domain.broadcasts.quiet_hours import LEGAL, Window, parse_quiet_hours
from optin.domain.broadcasts.text import NAME_CHARACTERS
from optin.domain.language.keywords import normalise_keyword
from optin.domain.language.messages import Branding, TemplateError, Texts, check_templates
from optin.domain.rules import Policy, Rules
from optin.domain.subscribers.housekeeping import HousekeepingPolicy

__all__ = ["ENVIRONMENT", "ENVIRONMENT_SETTINGS", "SETTINGS", "SettingError", "Settings"]

NUMBER_LOOKUPS = ("carrier", "offline")


def keywords(value: Any) -> tuple[str, ...]:
    words = []
    for item in strings(value):
        word = normalise_keyword(item)
        if not word or word != item.casefold() or " " in item:
            raise ValueError(f"{item!r} must be a single word of letters or digits")
        words.append(item.upper())
    if not words:
        raise ValueError("must name at least one keyword")
    return tuple(words)


def form_url(value: Any) -> str:
    """Where people sign up: an https:// URL, or this machine's own address (local mode)."""
    url = text(value)
    local = url.startswith(("http://127.0.0.1:", "http://localhost:"))
    if not (url.startswith("https://") or local) or any(c.isspace() for c in url):
        raise ValueError(f"must be an https:// URL, got {value!r}")
    return url


def _stack(what: str) -> str:
    """The "key" of a variable the stack fills in itself (no context key to name)."""
    return f"(stack: {what})"


# Settings field -> the setting it is read from. The one place each default is written.
SETTINGS: Mapping[str, Setting[Any]] = {
    "table_name": Setting(_stack("the subscribers table"), text, variable="TABLE_NAME"),
    "origination_identity": Setting("originationIdentity", text, variable="ORIGINATION_IDENTITY"),
    "origination_number": Setting("originationNumber", text, "", "ORIGINATION_NUMBER"),
    "configuration_set_name": Setting(
        _stack("the configuration set"), text, "", "CONFIGURATION_SET_NAME"
    ),
    "protect_configuration_id": Setting(
        _stack("the protect configuration"), text, "", "PROTECT_CONFIGURATION_ID"
    ),
    "opt_out_list_name": Setting("optOutListName", text, "", "OPT_OUT_LIST_NAME"),
    # Empty where nothing sets them (tests, local mode until it fills them in).
    "send_queue_url": Setting(_stack("the transactional send queue"), text, "", "SEND_QUEUE_URL"),
    "broadcast_queue_url": Setting(
        _stack("the broadcast send queue"), text, "", "BROADCAST_QUEUE_URL"
    ),
    "erasure_key_secret": Setting(
        _stack("the erasure key secret"), text, "", "ERASURE_KEY_SECRET_ARN"
    ),
    "brand_name": Setting("brandName", text, variable="BRAND_NAME"),
    "program_description": Setting("programDescription", text, variable="PROGRAM_DESCRIPTION"),
    "message_frequency": Setting("messageFrequency", text, variable="MESSAGE_FREQUENCY"),
    "terms_url": Setting("termsUrl", https_url, variable="TERMS_URL"),
    "privacy_url": Setting("privacyUrl", https_url, variable="PRIVACY_URL"),
    "help_contact": Setting("helpContact", text, variable="HELP_CONTACT"),
    "form_url": Setting("formUrl", form_url, "", "FORM_URL"),
    "confirm_keywords": Setting("confirmKeywords", keywords, ("YES",), "CONFIRM_KEYWORDS"),
    "allowed_countries": Setting("allowedCountries", countries, ("US", "CA"), "ALLOWED_COUNTRIES"),
    "default_country": Setting("defaultCountry", country, "US", "DEFAULT_COUNTRY"),
    "confirmation_window_hours": Setting(
        "confirmationWindowHours", integer(1, 24 * 30), 24, "CONFIRMATION_WINDOW_HOURS"
    ),
    "resend_cooldown_seconds": Setting(
        "resendCooldownSeconds", integer(0, 86_400), 60, "RESEND_COOLDOWN_SECONDS"
    ),
    "max_confirmations_per_day": Setting(
        "maxConfirmationsPerDay", integer(1, 100), 3, "MAX_CONFIRMATIONS_PER_DAY"
    ),
    # Against SMS pumping (optin.domain.subscribers.limits): registrations per number prefix per UTC
    # hour, and per UTC day across every number; operators raise them on purpose.
    "max_confirmations_per_prefix_per_hour": Setting(
        "maxConfirmationsPerPrefixPerHour",
        integer(1, 1_000_000),
        10,
        "MAX_CONFIRMATIONS_PER_PREFIX_PER_HOUR",
    ),
    "daily_confirmation_budget": Setting(
        "dailyConfirmationBudget", integer(1, 1_000_000_000), 1_000, "DAILY_CONFIRMATION_BUDGET"
    ),
    "number_lookup": Setting("numberLookup", one_of(NUMBER_LOOKUPS), "carrier", "NUMBER_LOOKUP"),
    "allow_voip": Setting("allowVoip", boolean, False, "ALLOW_VOIP"),
    "require_consent_checkbox": Setting(
        "requireConsentCheckbox", boolean, True, "REQUIRE_CONSENT_CHECKBOX"
    ),
    "allowed_origins": Setting("allowedOrigins", origins, (), "ALLOWED_ORIGINS"),
    "unconfirmed_retention_days": Setting(
        "unconfirmedRetentionDays", integer(1, 3650), 30, "UNCONFIRMED_RETENTION_DAYS"
    ),
    "message_templates": Setting(
        "messageTemplates", text_map, MappingProxyType({}), "MESSAGE_TEMPLATES"
    ),
    # Message parts per second the origination identity may send (a new US 10DLC number: 1).
    "send_rate_per_second": Setting(
        "sendRatePerSecond", integer(1, 1000), 1, "SEND_RATE_PER_SECOND"
    ),
    "confirmation_max_delay_seconds": Setting(
        "confirmationMaxDelaySeconds", integer(60, 86_400), 900, "CONFIRMATION_MAX_DELAY_SECONDS"
    ),
    # Broadcasts (optin.domain.broadcasts.broadcast): the most parts a text may take, the characters
    # a name is cut to in one, the least time between two broadcasts to one subscriber.
    "max_broadcast_parts": Setting("maxBroadcastParts", integer(1, 10), 3, "MAX_BROADCAST_PARTS"),
    "broadcast_name_characters": Setting(
        "broadcastNameCharacters", integer(1, 100), NAME_CHARACTERS, "BROADCAST_NAME_CHARACTERS"
    ),
    "broadcast_min_interval_hours": Setting(
        "broadcastMinIntervalHours", integer(0, 24 * 30), 12, "BROADCAST_MIN_INTERVAL_HOURS"
    ),
    "quiet_hours": Setting("quietHours", parse_quiet_hours, LEGAL, "QUIET_HOURS"),
}

# Environment variable -> CDK context setting it comes from: every variable the functions
# read. XRAY_SDK_TRACING is read by ``observability`` itself, cheaply, at import.
ENVIRONMENT_SETTINGS: tuple[Setting[Any], ...] = (*SETTINGS.values(), XRAY_SDK_TRACING)
ENVIRONMENT: Mapping[str, str] = {setting.variable: setting.key for setting in ENVIRONMENT_SETTINGS}


@dataclass(frozen=True)
class Settings:
    table_name: str
    origination_identity: str
    origination_number: str
    configuration_set_name: str
    protect_configuration_id: str
    opt_out_list_name: str
    send_queue_url: str
    broadcast_queue_url: str
    erasure_key_secret: str
    brand_name: str
    program_description: str
    message_frequency: str
    terms_url: str
    privacy_url: str
    help_contact: str
    form_url: str
    confirm_keywords: tuple[str, ...]
    allowed_countries: tuple[str, ...]
    default_country: str
    confirmation_window_hours: int
    resend_cooldown_seconds: int
    max_confirmations_per_day: int
    max_confirmations_per_prefix_per_hour: int
    daily_confirmation_budget: int
    number_lookup: str
    allow_voip: bool
    require_consent_checkbox: bool
    allowed_origins: tuple[str, ...]
    unconfirmed_retention_days: int
    message_templates: Mapping[str, str]
    send_rate_per_second: int
    confirmation_max_delay_seconds: int
    max_broadcast_parts: int
    broadcast_name_characters: int
    broadcast_min_interval_hours: int
    quiet_hours: Window

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Parse and check every setting; the first problem raises SettingError naming it."""
        reader = Reader.environment(os.environ if env is None else env)
        settings = cls(**{name: reader.read(setting) for name, setting in SETTINGS.items()})
        try:
            check_templates(settings.message_templates)
        except TemplateError as error:
            raise SETTINGS["message_templates"].error(str(error)) from None
        if settings.default_country not in settings.allowed_countries:
            raise SETTINGS["default_country"].error(
                f"{settings.default_country} is not one of allowedCountries"
            )
        return settings

    @property
    def primary_confirm_keyword(self) -> str:
        return self.confirm_keywords[0]

    @functools.cached_property
    def rules(self) -> Rules:
        """What the domain receives: plain values, no settings."""
        return Rules(
            policy=Policy(
                window=timedelta(hours=self.confirmation_window_hours),
                cooldown=timedelta(seconds=self.resend_cooldown_seconds),
                daily_cap=self.max_confirmations_per_day,
                confirmations_per_prefix_per_hour=self.max_confirmations_per_prefix_per_hour,
                daily_confirmation_budget=self.daily_confirmation_budget,
                allow_voip=self.allow_voip,
                send_rate=self.send_rate_per_second,
                confirmation_max_delay=timedelta(seconds=self.confirmation_max_delay_seconds),
                max_broadcast_parts=self.max_broadcast_parts,
                broadcast_name_characters=self.broadcast_name_characters,
                broadcast_min_interval=timedelta(hours=self.broadcast_min_interval_hours),
                quiet_hours=self.quiet_hours,
            ),
            texts=self.texts,
            confirm_keywords=self.confirm_keywords,
            allowed_countries=self.allowed_countries,
            default_country=self.default_country,
            require_consent=self.require_consent_checkbox,
        )

    @functools.cached_property
    def housekeeping(self) -> HousekeepingPolicy:
        return HousekeepingPolicy(
            window=timedelta(hours=self.confirmation_window_hours),
            unconfirmed_retention=timedelta(days=self.unconfirmed_retention_days),
        )

    @functools.cached_property
    def texts(self) -> Texts:
        return Texts(
            Branding(
                brand=self.brand_name,
                program=self.program_description,
                frequency=self.message_frequency,
                terms=self.terms_url,
                privacy=self.privacy_url,
                help=self.help_contact,
                keyword=self.primary_confirm_keyword,
                number=self.origination_number,
                form=self.form_url,
            ),
            self.message_templates,
        )
