"""One reader for both sides: the functions' environment (strings) and CDK context (JSON
values), with one error type naming the context key and the variable."""

from __future__ import annotations

import dataclasses

import pytest

from optin.configuration import (
    REQUIRED,
    XRAY_SDK_TRACING,
    Reader,
    Setting,
    SettingError,
    one_of,
)
from optin.settings import SETTINGS, Settings


def from_environment(setting: Setting, value: str):
    return Reader.environment({setting.variable: value}).read(setting)


def from_context(setting: Setting, value):
    return Reader.context({setting.key: value}.get).read(setting)


@pytest.mark.parametrize(
    ("field", "environment", "context", "expected"),
    [
        ("confirmation_window_hours", "48", 48, 48),
        ("require_consent_checkbox", "FALSE", False, False),
        ("allowed_countries", "us, ca", ["US", "CA"], ("US", "CA")),
        ("allowed_countries", '["mx"]', "MX", ("MX",)),
        ("confirm_keywords", "yes,oui", ["yes", "oui"], ("YES", "OUI")),
        ("message_templates", '{"help": "x"}', {"help": "x"}, {"help": "x"}),
    ],
)
def test_a_value_reads_the_same_from_either_source(field, environment, context, expected):
    setting = SETTINGS[field]
    assert from_environment(setting, environment) == expected
    assert from_context(setting, context) == expected


@pytest.mark.parametrize(
    ("field", "environment", "context"),
    [
        ("confirmation_window_hours", "0", 0),
        ("confirmation_window_hours", "1.5", 1.5),
        ("require_consent_checkbox", "maybe", "maybe"),
        ("allowed_countries", "USA", ["USA"]),
        ("allowed_countries", "[1]", [1]),
        ("terms_url", "http://example.com", "http://example.com"),
        ("brand_name", "   ", None),
    ],
)
def test_an_error_names_the_key_and_the_variable_from_either_source(field, environment, context):
    setting = SETTINGS[field]
    prefix = f"setting {setting.key} ({setting.variable}) "
    with pytest.raises(SettingError) as raised:
        from_environment(setting, environment)
    assert str(raised.value).startswith(prefix)
    with pytest.raises(SettingError) as raised:
        from_context(setting, context)
    assert str(raised.value).startswith(prefix)


def test_a_setting_without_a_variable_names_its_key_alone():
    level = Setting("logLevel", one_of(("INFO", "DEBUG"), upper=True), "INFO")
    assert Reader.context({"logLevel": "debug"}.get).read(level) == "DEBUG"
    assert Reader.context({}.get).read(level) == "INFO"
    with pytest.raises(SettingError, match=r"^setting logLevel 'LOUD' must be one of INFO, DEBUG$"):
        Reader.context({"logLevel": "LOUD"}.get).read(level)


def test_each_default_is_written_once_in_the_table():
    blank = Reader.environment({})
    for setting in SETTINGS.values():
        if setting.default is REQUIRED:
            with pytest.raises(SettingError, match="is required"):
                blank.read(setting)
        else:
            assert blank.read(setting) == setting.default
    assert all(field.default is dataclasses.MISSING for field in dataclasses.fields(Settings))


def test_xray_sdk_tracing_is_one_setting_read_where_it_is_used():
    assert XRAY_SDK_TRACING.variable == "XRAY_SDK_TRACING"
    assert from_environment(XRAY_SDK_TRACING, "TRUE") is True
    assert Reader.environment({}).read(XRAY_SDK_TRACING) is False
    with pytest.raises(SettingError, match=r"setting xraySdkTracing \(XRAY_SDK_TRACING\)"):
        from_context(XRAY_SDK_TRACING, "sometimes")
