"""Invalid configuration fails synthesis with a message that names the setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from infra import names
from infra.config import STACK_VARIABLES, NewPhoneNumber, load
from optin.configuration import SettingError
from tests.infra.conftest import ADOPTED_NUMBER_ID, context_with
from tests.support.fakes import DOCUMENTED_DEFAULTS, documented_settings


def load_context(context: dict[str, Any]):
    return load(context.get)


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"confirmationWindowHours": 0}, "confirmationWindowHours"),
        ({"maxConfirmationsPerPrefixPerHour": 0}, "maxConfirmationsPerPrefixPerHour"),
        ({"dailyConfirmationBudget": "a thousand"}, "dailyConfirmationBudget"),
        ({"allowedCountries": ["US", "USA"]}, "allowedCountries"),
        ({"allowedCountries": ["US", "ZZ"]}, "allowedCountries"),
        ({"defaultCountry": "FR"}, "defaultCountry"),
        ({"numberLookup": "hlr"}, "numberLookup"),
        ({"termsUrl": "http://example.com/terms"}, "termsUrl"),
        ({"brandName": None}, "brandName"),
        ({"confirmKeywords": ["YES PLEASE"]}, "confirmKeywords"),
        ({"requireConsentCheckbox": "maybe"}, "requireConsentCheckbox"),
        ({"allowedOrigins": ["https://example.com/"]}, "allowedOrigins"),
        ({"messageTemplates": {"confirmation": "Hi {brand}"}}, "messageTemplates"),
        ({"phoneNumberType": "VANITY"}, "phoneNumberType"),
        ({"phoneNumberCountry": "USA"}, "phoneNumberCountry"),
        ({"originationIdentity": "+12065550142"}, "originationIdentity"),
        ({"originationNumber": "+12065550142"}, "originationNumber"),
        ({"optOutListName": "Default"}, "optOutListName"),
        ({"apiThrottlingRateLimit": 0}, "apiThrottlingRateLimit"),
        ({"apiThrottlingBurstLimit": "lots"}, "apiThrottlingBurstLimit"),
        ({"logRetentionDays": 10}, "logRetentionDays"),
        ({"logLevel": "LOUD"}, "logLevel"),
        ({"alarmEmail": "ops"}, "alarmEmail"),
        ({"stackName": "9lives"}, "stackName"),
        ({"formUrl": "http://shop.example/sms"}, "formUrl"),
        ({"quietHours": "22:00-07:00"}, "quietHours"),  # shorter than the law's
        ({"quietHours": "9pm-8am"}, "quietHours"),
        ({"broadcastNameCharacters": 0}, "broadcastNameCharacters"),
    ],
)
def test_an_invalid_value_names_its_setting(changes: dict[str, Any], setting: str) -> None:
    with pytest.raises(SettingError) as raised:
        load_context(context_with(**changes))
    assert f"setting {setting} " in str(raised.value)


def test_adopting_refuses_the_new_number_settings() -> None:
    context = context_with(originationIdentity=ADOPTED_NUMBER_ID, phoneNumberType="TOLL_FREE")
    with pytest.raises(SettingError, match="setting phoneNumberType "):
        load_context(context)


def test_defaults_are_the_documented_ones() -> None:
    config = load_context(context_with(**{key: None for key in _DOCUMENTED_DEFAULTS}))
    assert documented_settings(config.checked) == DOCUMENTED_DEFAULTS
    assert config.origination == NewPhoneNumber(country="US", number_type="SIMULATOR")
    assert config.stack_name == names.DEFAULT_STACK_NAME


_DOCUMENTED_DEFAULTS = (
    "confirmKeywords",
    "allowedCountries",
    "defaultCountry",
    "confirmationWindowHours",
    "resendCooldownSeconds",
    "maxConfirmationsPerDay",
    "maxConfirmationsPerPrefixPerHour",
    "dailyConfirmationBudget",
    "maxBroadcastParts",
    "broadcastNameCharacters",
    "broadcastMinIntervalHours",
    "quietHours",
    "phoneNumberCountry",
    "phoneNumberType",
)


def test_longer_quiet_hours_reach_the_functions() -> None:
    config = load_context(context_with(quietHours="20:00-09:30"))
    assert config.settings_environment["QUIET_HOURS"] == "20:00-09:30"
    assert str(config.checked.rules.policy.quiet_hours) == "20:00-09:30"


def test_operators_raise_the_limits_across_numbers_with_context() -> None:
    """``-c dailyConfirmationBudget=5000``: the functions get it as their variable."""
    config = load_context(
        context_with(dailyConfirmationBudget="5000", maxConfirmationsPerPrefixPerHour=25)
    )
    assert config.settings_environment["DAILY_CONFIRMATION_BUDGET"] == "5000"
    assert config.settings_environment["MAX_CONFIRMATIONS_PER_PREFIX_PER_HOUR"] == "25"
    policy = config.checked.rules.policy
    assert (policy.daily_confirmation_budget, policy.confirmations_per_prefix_per_hour) == (
        5000,
        25,
    )


def test_context_from_the_command_line_is_parsed_like_cdk_json() -> None:
    """`-c key=value` gives strings; cdk.json gives JSON types. Both must work."""
    config = load_context(
        context_with(
            allowedCountries="US,CA,MX",
            confirmationWindowHours="48",
            requireConsentCheckbox="false",
            apiThrottlingRateLimit="25",
        )
    )
    assert config.checked.allowed_countries == ("US", "CA", "MX")
    assert config.checked.confirmation_window_hours == 48
    assert config.checked.require_consent_checkbox is False
    assert config.throttling_rate_limit == 25


def test_cdk_synth_stops_with_the_setting_named() -> None:
    """The app as the CDK CLI runs it: context arrives in CDK_CONTEXT_JSON."""
    environment = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context_with(confirmationWindowHours=0)),
        "CDK_OUTDIR": str(names.REPO_ROOT / "cdk.out" / "tests" / "invalid"),
        "PYTHONPATH": f"{names.LAMBDAS_DIR}{os.pathsep}{names.REPO_ROOT}",
    }
    result = subprocess.run(
        [sys.executable, str(names.REPO_ROOT / "app.py")],
        capture_output=True,
        text=True,
        env=environment,
        cwd=names.REPO_ROOT,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "setting confirmationWindowHours (CONFIRMATION_WINDOW_HOURS)" in result.stderr
    assert "Traceback" not in result.stderr


def test_xray_sdk_tracing_is_checked_at_synth() -> None:
    """The functions read it at import; a bad value must stop ``cdk synth`` instead."""
    with pytest.raises(SettingError, match=r"setting xraySdkTracing \(XRAY_SDK_TRACING\) "):
        load_context(context_with(xraySdkTracing="sometimes"))
    assert (
        load_context(context_with(xraySdkTracing=True)).settings_environment["XRAY_SDK_TRACING"]
        == "true"
    )


def test_a_form_hosted_elsewhere_is_the_one_the_signup_answer_names() -> None:
    stack_values = {variable: "value" for variable in STACK_VARIABLES}
    site = "https://d111111abcdef8.cloudfront.net"
    shipped = load_context(context_with()).function_environment(stack_values, site)
    assert shipped["FORM_URL"] == f"{site}/"
    hosted = load_context(context_with(formUrl="https://shop.example/sms"))
    assert hosted.function_environment(stack_values, site)["FORM_URL"] == (
        "https://shop.example/sms"
    )
