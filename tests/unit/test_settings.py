import dataclasses
import json

import pytest

from optin.domain.rules import Policy
from optin.settings import SETTINGS, SettingError, Settings
from tests.support.fakes import BASE_ENV, DOCUMENTED_DEFAULTS, documented_settings


def test_defaults_are_the_documented_ones():
    settings = Settings.from_env(BASE_ENV)
    assert documented_settings(settings) == DOCUMENTED_DEFAULTS
    assert (
        Settings.from_env({k: v for k, v in BASE_ENV.items() if k != "NUMBER_LOOKUP"}).number_lookup
        == "carrier"
    )
    assert settings.require_consent_checkbox is True


def test_lists_as_json_or_comma_separated():
    settings = Settings.from_env(
        {**BASE_ENV, "CONFIRM_KEYWORDS": '["yes", "Confirm"]', "ALLOWED_COUNTRIES": "us, ca ,GB"}
    )
    assert settings.confirm_keywords == ("YES", "CONFIRM")
    assert settings.allowed_countries == ("US", "CA", "GB")


@pytest.mark.parametrize(
    ("variable", "value", "setting"),
    [
        ("TABLE_NAME", "", "(stack: the subscribers table)"),
        ("BRAND_NAME", "  ", "brandName"),
        ("TERMS_URL", "http://example.com/terms", "termsUrl"),
        ("CONFIRM_KEYWORDS", "yes please", "confirmKeywords"),
        ("CONFIRM_KEYWORDS", "[1, 2]", "confirmKeywords"),
        ("ALLOWED_COUNTRIES", "USA", "allowedCountries"),
        ("DEFAULT_COUNTRY", "GB", "defaultCountry"),
        ("CONFIRMATION_WINDOW_HOURS", "0", "confirmationWindowHours"),
        ("RESEND_COOLDOWN_SECONDS", "soon", "resendCooldownSeconds"),
        ("MAX_CONFIRMATIONS_PER_DAY", "1000", "maxConfirmationsPerDay"),
        ("NUMBER_LOOKUP", "psychic", "numberLookup"),
        ("REQUIRE_CONSENT_CHECKBOX", "yes", "requireConsentCheckbox"),
        ("ALLOWED_ORIGINS", "https://example.com/", "allowedOrigins"),
        ("MESSAGE_TEMPLATES", "{not json", "messageTemplates"),
        ("MESSAGE_TEMPLATES", json.dumps({"confirmation": "{brand}: hi"}), "messageTemplates"),
        (
            "MESSAGE_TEMPLATES",
            json.dumps({"welcome": "{brand} {name} HELP STOP"}),
            "messageTemplates",
        ),
        ("MESSAGE_TEMPLATES", json.dumps({"bogus": "x"}), "messageTemplates"),
    ],
)
def test_invalid_setting_names_itself(variable, value, setting):
    with pytest.raises(SettingError) as error:
        Settings.from_env({**BASE_ENV, variable: value})
    assert error.value.variable == variable
    assert setting in str(error.value)


def test_template_override_is_used():
    template = "{brand}: welcome aboard. Reply HELP for help, STOP to cancel."
    settings = Settings.from_env(
        {**BASE_ENV, "MESSAGE_TEMPLATES": json.dumps({"welcome": template})}
    )
    assert settings.texts.render("welcome") == (
        "ExampleCorp: welcome aboard. Reply HELP for help, STOP to cancel."
    )


@pytest.mark.parametrize(
    "url", ["https://signup.example.com/", "http://127.0.0.1:8000/", "http://localhost:8123/"]
)
def test_the_form_url_is_an_https_or_loopback_address(url):
    assert Settings.from_env({**BASE_ENV, "FORM_URL": url}).form_url == url


@pytest.mark.parametrize("url", ["http://signup.example.com/", "signup.example.com", "ftp://x"])
def test_a_form_url_people_could_not_trust_is_refused(url):
    with pytest.raises(SettingError, match="formUrl"):
        Settings.from_env({**BASE_ENV, "FORM_URL": url})


def test_the_policy_takes_every_default_from_the_settings():
    fields = dataclasses.fields(Policy)
    assert fields
    for field in fields:
        assert field.default is dataclasses.MISSING, field.name
        assert field.default_factory is dataclasses.MISSING, field.name
    policy = Settings.from_env(BASE_ENV).rules.policy
    assert policy.send_rate == SETTINGS["send_rate_per_second"].default
    assert policy.max_broadcast_parts == SETTINGS["max_broadcast_parts"].default
    assert policy.broadcast_name_characters == SETTINGS["broadcast_name_characters"].default
    assert policy.quiet_hours == SETTINGS["quiet_hours"].default
