"""The phone simulator answers only what the platform answers: its exact STOP and HELP."""

import pytest

from local.simulator import PhoneSimulator
from optin.settings import Settings
from tests.support.fakes import BASE_ENV

PHONE = "+12065550142"


@pytest.fixture
def simulator():
    return PhoneSimulator(Settings.from_env(BASE_ENV), printer=lambda line: None)


def kinds(simulator):
    return [(message.direction, message.kind) for message in simulator.messages(PHONE)]


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop\n"])
def test_exact_stop_gets_the_platform_reply_and_the_opt_out_list(simulator, body):
    simulator.receive(PHONE, body)

    assert kinds(simulator) == [("inbound", "reply"), ("outbound", "stop")]
    assert simulator.is_opted_out(PHONE)


@pytest.mark.parametrize(
    "body", ["please stop", "STOP 🛑", "stop.", "opt out", "Arrêt", "unsubscribe", "yes stop"]
)
def test_opt_out_phrases_are_left_to_the_function(simulator, body):
    simulator.receive(PHONE, body)

    assert kinds(simulator) == [("inbound", "reply")]
    assert not simulator.is_opted_out(PHONE)


def test_exact_help_gets_the_platform_reply(simulator):
    simulator.receive(PHONE, "help")

    assert kinds(simulator) == [("inbound", "reply"), ("outbound", "help")]
    assert not simulator.is_opted_out(PHONE)


@pytest.mark.parametrize("body", ["Help me", "info", "HELP?"])
def test_other_help_words_are_left_to_the_function(simulator, body):
    simulator.receive(PHONE, body)

    assert kinds(simulator) == [("inbound", "reply")]


def test_the_function_can_put_a_number_on_the_opt_out_list(simulator):
    simulator.receive(PHONE, "please stop")

    assert simulator.add_opt_out(PHONE) is True
    assert simulator.add_opt_out(PHONE) is True  # idempotent, like PutOptedOutNumber

    assert simulator.is_opted_out(PHONE)
    assert kinds(simulator) == [("inbound", "reply")]  # listing a number sends nothing
