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


# The platform's API, answered to the functions' real client -----------------------------


def simulated(clock, **kwargs):
    """A simulator on the tests' clock, and the real adapter on a client it answers."""
    from optin.adapters.sms import EndUserMessagingSender, sms_client

    settings = Settings.from_env(BASE_ENV)
    simulator = PhoneSimulator(settings, printer=lambda line: None, clock=clock, **kwargs)
    client = simulator.attach(sms_client(retries=False))
    return simulator, EndUserMessagingSender(settings, client, send_client=client)


def test_beyond_its_rate_the_number_answers_throttling_as_the_platform_does(clock):
    from optin.domain.errors import SendThrottled

    simulator, sender = simulated(clock, mps=2)
    sender.send(PHONE, "one", kind="welcome", key="k-1")
    clock.advance(milliseconds=500)
    sender.send(PHONE, "two", kind="welcome", key="k-2")
    clock.advance(milliseconds=400)
    with pytest.raises(SendThrottled):  # a third part inside the same second
        sender.send(PHONE, "three", kind="welcome", key="k-3")
    clock.advance(milliseconds=101)
    sender.send(PHONE, "four", kind="welcome", key="k-4")  # the first left the window
    assert simulator.throttled == 1
    assert [m.body for m in simulator.messages(PHONE)] == ["one", "two", "four"]


def test_an_opted_out_number_is_refused_as_the_platform_refuses_it(clock):
    from optin.domain.errors import DestinationOptedOut

    simulator, sender = simulated(clock)
    simulator.receive(PHONE, "STOP")
    with pytest.raises(DestinationOptedOut):
        sender.send(PHONE, "hello", kind="welcome", key="k-1")


def test_the_failure_number_accepts_then_reports_an_undelivered_message(clock):
    from local.simulator import FAILURE_NUMBER

    events = []
    simulator, sender = simulated(clock, events=events.append)
    message_id = sender.send(FAILURE_NUMBER, "hello", kind="confirmation", key="k-1")
    sender.send(PHONE, "hello", kind="confirmation", key="k-2")
    assert [(e["eventType"], e["isFinal"]) for e in events] == [
        ("TEXT_UNREACHABLE", True),
        ("TEXT_DELIVERED", True),
    ]
    assert events[0]["messageId"] == message_id
    assert events[0]["context"] == {"key": "k-1", "kind": "confirmation"}
    assert "destinationPhoneNumber" in events[0]
    simulator.settle_delivery(message_id, "TEXT_UNREACHABLE")
    assert [m.status for m in simulator.messages(FAILURE_NUMBER)] == ["failed"]


def test_a_queued_message_shows_its_way_to_the_phone(clock):
    from optin.domain.language.messages import Template
    from optin.domain.sending.outbound import OutboundMessage

    now = clock()
    events = []
    simulator, sender = simulated(clock, events=events.append)
    message = OutboundMessage.decided(Template.WELCOME, PHONE, "hello", now, claim="in-1")
    simulator.queued(message)
    simulator.queued(message)  # a second enqueue of the same key
    assert [m.status for m in simulator.messages(PHONE)] == ["queued"]
    sender.send(PHONE, "hello", kind="welcome", key=message.key)
    assert [m.status for m in simulator.messages(PHONE)] == ["sent"]
    simulator.settle_delivery(events[0]["messageId"], "TEXT_DELIVERED")
    assert [m.status for m in simulator.messages(PHONE)] == ["delivered"]
    other = OutboundMessage.decided(Template.WELCOME, PHONE, "again", now, claim="in-2")
    simulator.queued(other)
    simulator.not_sent(other.key, "skipped")
    assert [m.status for m in simulator.messages(PHONE)] == ["delivered", "not sent"]
