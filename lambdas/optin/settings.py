"""Typed settings, parsed once from the environment the stack hands each function.

Every variable maps to one CDK context setting (SPEC section 6); an error names both,
so an operator knows what to fix whichever side they look from.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from optin.domain.keywords import normalise_keyword
from optin.domain.messages import Branding, TemplateError, Texts, check_templates
from optin.domain.rules import Policy, Rules


class SettingError(ValueError):
    """A missing or invalid setting. Names the environment variable and the CDK context key."""

    def __init__(self, variable: str, setting: str, problem: str) -> None:
        super().__init__(f"setting {setting} ({variable}) {problem}")
        self.variable = variable
        self.setting = setting
        self.problem = problem


# Environment variable -> CDK context setting it comes from.
ENVIRONMENT = {
    "TABLE_NAME": "(stack: the subscribers table)",
    "ORIGINATION_IDENTITY": "originationIdentity",
    "ORIGINATION_NUMBER": "originationNumber",
    "CONFIGURATION_SET_NAME": "(stack: the configuration set)",
    "PROTECT_CONFIGURATION_ID": "(stack: the protect configuration)",
    "OPT_OUT_LIST_NAME": "(stack: the opt-out list)",
    "BRAND_NAME": "brandName",
    "PROGRAM_DESCRIPTION": "programDescription",
    "MESSAGE_FREQUENCY": "messageFrequency",
    "TERMS_URL": "termsUrl",
    "PRIVACY_URL": "privacyUrl",
    "HELP_CONTACT": "helpContact",
    "CONFIRM_KEYWORDS": "confirmKeywords",
    "ALLOWED_COUNTRIES": "allowedCountries",
    "DEFAULT_COUNTRY": "defaultCountry",
    "CONFIRMATION_WINDOW_HOURS": "confirmationWindowHours",
    "RESEND_COOLDOWN_SECONDS": "resendCooldownSeconds",
    "MAX_CONFIRMATIONS_PER_DAY": "maxConfirmationsPerDay",
    "NUMBER_LOOKUP": "numberLookup",
    "ALLOW_VOIP": "allowVoip",
    "REQUIRE_CONSENT_CHECKBOX": "requireConsentCheckbox",
    "ALLOWED_ORIGINS": "allowedOrigins",
    "MESSAGE_TEMPLATES": "messageTemplates",
    "XRAY_SDK_TRACING": "xraySdkTracing",
}

NUMBER_LOOKUPS = ("carrier", "offline")


@dataclass(frozen=True)
class Settings:
    table_name: str
    origination_identity: str
    brand_name: str
    program_description: str
    message_frequency: str
    terms_url: str
    privacy_url: str
    help_contact: str
    origination_number: str = ""
    configuration_set_name: str = ""
    protect_configuration_id: str = ""
    opt_out_list_name: str = ""
    confirm_keywords: tuple[str, ...] = ("YES",)
    allowed_countries: tuple[str, ...] = ("US", "CA")
    default_country: str = "US"
    confirmation_window_hours: int = 24
    resend_cooldown_seconds: int = 60
    max_confirmations_per_day: int = 3
    number_lookup: str = "carrier"
    allow_voip: bool = False
    require_consent_checkbox: bool = True
    allowed_origins: tuple[str, ...] = ()
    message_templates: Mapping[str, str] = field(default_factory=dict)
    xray_sdk_tracing: bool = False  # read at import by observability.traced; checked here

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Parse and check every setting; the first problem raises SettingError naming it."""
        source = os.environ if env is None else env
        reader = _Reader(source)
        settings = cls(
            table_name=reader.text("TABLE_NAME"),
            origination_identity=reader.text("ORIGINATION_IDENTITY"),
            origination_number=reader.text("ORIGINATION_NUMBER", ""),
            configuration_set_name=reader.text("CONFIGURATION_SET_NAME", ""),
            protect_configuration_id=reader.text("PROTECT_CONFIGURATION_ID", ""),
            opt_out_list_name=reader.text("OPT_OUT_LIST_NAME", ""),
            brand_name=reader.text("BRAND_NAME"),
            program_description=reader.text("PROGRAM_DESCRIPTION"),
            message_frequency=reader.text("MESSAGE_FREQUENCY"),
            terms_url=reader.url("TERMS_URL"),
            privacy_url=reader.url("PRIVACY_URL"),
            help_contact=reader.text("HELP_CONTACT"),
            confirm_keywords=reader.keywords("CONFIRM_KEYWORDS", ("YES",)),
            allowed_countries=reader.countries("ALLOWED_COUNTRIES", ("US", "CA")),
            default_country=reader.country("DEFAULT_COUNTRY", "US"),
            confirmation_window_hours=reader.integer("CONFIRMATION_WINDOW_HOURS", 24, 1, 24 * 30),
            resend_cooldown_seconds=reader.integer("RESEND_COOLDOWN_SECONDS", 60, 0, 86_400),
            max_confirmations_per_day=reader.integer("MAX_CONFIRMATIONS_PER_DAY", 3, 1, 100),
            number_lookup=reader.choice("NUMBER_LOOKUP", NUMBER_LOOKUPS, "carrier"),
            allow_voip=reader.boolean("ALLOW_VOIP", False),
            require_consent_checkbox=reader.boolean("REQUIRE_CONSENT_CHECKBOX", True),
            allowed_origins=reader.origins("ALLOWED_ORIGINS"),
            message_templates=reader.templates("MESSAGE_TEMPLATES"),
            xray_sdk_tracing=reader.boolean("XRAY_SDK_TRACING", False),
        )
        try:
            check_templates(settings.message_templates)
        except TemplateError as error:
            raise SettingError(
                "MESSAGE_TEMPLATES", ENVIRONMENT["MESSAGE_TEMPLATES"], str(error)
            ) from None
        if settings.default_country not in settings.allowed_countries:
            raise SettingError(
                "DEFAULT_COUNTRY",
                ENVIRONMENT["DEFAULT_COUNTRY"],
                f"{settings.default_country} is not one of allowedCountries",
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
                allow_voip=self.allow_voip,
            ),
            texts=self.texts,
            confirm_keywords=self.confirm_keywords,
            allowed_countries=self.allowed_countries,
            default_country=self.default_country,
            require_consent=self.require_consent_checkbox,
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
            ),
            self.message_templates,
        )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def _fail(self, name: str, problem: str) -> SettingError:
        return SettingError(name, ENVIRONMENT.get(name, name), problem)

    def _raw(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def text(self, name: str, default: str | None = None) -> str:
        value = self._raw(name)
        if value is None:
            if default is None:
                raise self._fail(name, "is required")
            return default
        return value

    def url(self, name: str) -> str:
        value = self.text(name)
        if not value.startswith("https://"):
            raise self._fail(name, f"must be an https:// URL, got {value!r}")
        return value

    def _list(self, name: str) -> list[str] | None:
        value = self._raw(name)
        if value is None:
            return None
        if value.startswith("["):
            try:
                items = json.loads(value)
            except json.JSONDecodeError as error:
                raise self._fail(name, f"is not a JSON list: {error.msg}") from None
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise self._fail(name, "must be a list of strings")
        else:
            items = value.split(",")
        return [item.strip() for item in items if item.strip()]

    def keywords(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        items = self._list(name)
        if items is None:
            return default
        words = []
        for item in items:
            word = normalise_keyword(item)
            if not word or word != item.strip().casefold() or " " in item.strip():
                raise self._fail(name, f"{item!r} must be a single word of letters or digits")
            words.append(item.strip().upper())
        if not words:
            raise self._fail(name, "must name at least one keyword")
        return tuple(words)

    def country(self, name: str, default: str) -> str:
        value = (self._raw(name) or default).upper()
        if len(value) != 2 or not value.isalpha() or not value.isascii():
            raise self._fail(name, f"{value!r} is not an ISO 3166-1 alpha-2 code")
        return value

    def countries(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        items = self._list(name)
        if items is None:
            return default
        codes = tuple(item.upper() for item in items)
        for code in codes:
            if len(code) != 2 or not code.isalpha() or not code.isascii():
                raise self._fail(name, f"{code!r} is not an ISO 3166-1 alpha-2 code")
        if not codes:
            raise self._fail(name, "must name at least one country")
        return codes

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise self._fail(name, f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise self._fail(name, f"{number} is outside {low}..{high}")
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise self._fail(name, f"{value!r} must be true or false")
        return lowered == "true"

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self._raw(name) or default
        if value not in choices:
            raise self._fail(name, f"{value!r} must be one of {', '.join(choices)}")
        return value

    def origins(self, name: str) -> tuple[str, ...]:
        items = self._list(name) or []
        for origin in items:
            local = origin.startswith(("http://127.0.0.1", "http://localhost"))
            if not (origin.startswith("https://") or local) or origin.endswith("/"):
                raise self._fail(name, f"{origin!r} must be an origin like https://example.com")
        return tuple(items)

    def templates(self, name: str) -> dict[str, str]:
        value = self._raw(name)
        if value is None:
            return {}
        try:
            templates = json.loads(value)
        except json.JSONDecodeError as error:
            raise self._fail(name, f"is not a JSON object: {error.msg}") from None
        if not isinstance(templates, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in templates.items()
        ):
            raise self._fail(name, "must map message names to strings")
        return templates
