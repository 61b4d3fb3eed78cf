import json
import re

import pytest

from optin.settings import SettingError, Settings
from tests.support.fakes import BASE_ENV


def test_confirmation_carries_every_compliance_element():
    text = Settings.from_env(BASE_ENV).texts.render("confirmation")
    for part in (
        "ExampleCorp",
        "Order updates and offers",
        "Up to 4 msgs/month",
        "Msg & data rates may apply",
        "Reply YES to confirm",
        "Reply HELP for help, STOP to cancel",
        "https://example.com/terms-sms",
    ):
        assert part in text


def test_confirmation_uses_the_first_configured_keyword():
    settings = Settings.from_env({**BASE_ENV, "CONFIRM_KEYWORDS": "OUI,YES"})
    assert "Reply OUI to confirm" in settings.texts.render("confirmation")


def test_disclosure_has_program_frequency_rates_stop_help_terms_privacy():
    texts = Settings.from_env(BASE_ENV).texts
    for part in ("Order updates", "Up to 4 msgs/month", "rates may apply", "STOP", "HELP",
                 "https://example.com/terms-sms", "https://example.com/privacy"):  # fmt: skip
        assert part in texts.disclosure
    assert re.fullmatch(r"d-[0-9a-f]{12}", texts.disclosure_version)


def test_disclosure_version_follows_the_text():
    one = Settings.from_env(BASE_ENV).texts.disclosure_version
    other = Settings.from_env({**BASE_ENV, "MESSAGE_FREQUENCY": "1 msg/week"})
    assert other.texts.disclosure_version != one


def test_accepted_message_names_the_keyword_and_our_number():
    message = Settings.from_env(BASE_ENV).texts.accepted_message()
    assert "check your phone" in message.lower()
    assert "text YES to +18005550100" in message


def test_the_stop_text_tells_how_to_come_back():
    text = Settings.from_env(BASE_ENV).texts.render("stop")
    assert text.startswith("ExampleCorp:")
    assert "Reply START to resubscribe" in text


def test_the_signup_text_names_the_form():
    settings = Settings.from_env({**BASE_ENV, "FORM_URL": "https://signup.example.com/"})
    text = settings.texts.render("signup")
    assert text.startswith("ExampleCorp:")
    assert "sign up at https://signup.example.com/" in text
    assert len(text) <= 160  # one SMS part


@pytest.mark.parametrize(
    ("name", "template"),
    [
        ("stop", "{brand}: you're unsubscribed."),
        ("signup", "{brand}: sign up on our website."),
    ],
)
def test_overrides_keep_the_way_back(name, template):
    with pytest.raises(SettingError, match=name):
        Settings.from_env({**BASE_ENV, "MESSAGE_TEMPLATES": json.dumps({name: template})})
