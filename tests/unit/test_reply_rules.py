"""Replies (docs/lifecycle.md): leaving is always possible and confirmed once, START brings a
once-confirmed number back, texts that change nothing get at most one sign-up answer a day,
and HELP in any wording gets the help text (domain with in-memory ports)."""

from __future__ import annotations

import pytest

from optin.domain.errors import Dependency, DependencyUnavailable, SendThrottled
from optin.domain.language.keywords import Keyword
from optin.domain.model import EventType, Status
from optin.settings import Settings
from tests.support.fakes import BASE_ENV, drain
from tests.support.lifecycle import NUMBER, arrange, past_cooldown, register, reply

STRANGER = "+14255550199"
FORM_URL = "https://signup.example.com/sms"


def sms_during(ports, action) -> list[str]:
    before = len(ports.sender.sent)
    action()
    return [kind for _, _, kind, _ in ports.sender.sent[before:]]


def last_body(ports) -> str:
    return ports.sender.sent[-1][1]


def types(ports, number: str = NUMBER) -> list[EventType]:
    return [event.type for event in ports.store.events(number)]


# What an opt-out does -------------------------------------------------------------------


@pytest.mark.parametrize("start", ["PENDING", "CONFIRMED", "EXPIRED"])
@pytest.mark.parametrize("body", ["please stop", "Stop.", "I said STOP", "cancel", "Arrêt"])
def test_an_opt_out_in_any_wording_is_confirmed_once_and_listed(ports, start, body):
    arrange(ports, start)

    sent = sms_during(ports, lambda: reply(ports, body))

    assert ports.store.get(NUMBER).status is Status.OPTED_OUT
    assert sent == ["stop"]
    assert "Reply START to resubscribe" in last_body(ports)
    assert NUMBER in ports.sender.opted_out  # PutOptedOutNumber, after the confirmation
    assert types(ports)[-3:] == [
        EventType.INBOUND,
        EventType.OPTED_OUT,
        EventType.OPT_OUT_CONFIRMATION_SENT,
    ]


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop\n"])
def test_the_platform_stop_keyword_is_not_answered_twice(ports, body):
    arrange(ports, "CONFIRMED")

    sent = sms_during(ports, lambda: reply(ports, body))

    assert ports.store.get(NUMBER).status is Status.OPTED_OUT
    assert sent == []  # End User Messaging answered the exact keyword itself
    assert NUMBER in ports.sender.opted_out


@pytest.mark.parametrize("second", ["please stop", "STOP", "unsubscribe me", "END"])
def test_a_second_opt_out_sends_nothing(ports, second):
    arrange(ports, "CONFIRMED")
    reply(ports, "please stop")

    assert sms_during(ports, lambda: reply(ports, second)) == []
    assert ports.store.get(NUMBER).status is Status.OPTED_OUT
    assert types(ports).count(EventType.OPT_OUT_CONFIRMATION_SENT) == 1


def test_a_redelivered_opt_out_is_confirmed_once(ports):
    """The confirmation is throttled: it waits in the send queue (the inbound function only
    queues it), redeliveries of the reply queue nothing more, and it leaves once."""
    arrange(ports, "CONFIRMED")
    ports.sender.failures.append(SendThrottled("throttled"))
    reply(ports, "please stop", message_id="in-stop")
    assert ports.store.get(NUMBER).status is Status.OPTED_OUT  # at once, before any SMS
    assert NUMBER not in ports.sender.opted_out  # not yet: the confirmation could not go out

    reply(ports, "please stop", message_id="in-stop")  # Lambda's retry
    reply(ports, "please stop", message_id="in-stop")  # SNS delivers it once more
    drain(ports)

    assert ports.sender.kinds() == ["confirmation", "welcome", "stop"]
    assert NUMBER in ports.sender.opted_out
    assert types(ports).count(EventType.OPT_OUT_CONFIRMATION_SENT) == 1


def test_an_opt_out_list_failure_is_retried_without_a_second_confirmation(ports):
    """The sender lists the number once the confirmation has left; when that fails, the
    message comes back and only the listing is done again."""
    arrange(ports, "CONFIRMED")
    add = ports.sender.add_opt_out
    failures = [DependencyUnavailable(Dependency.SMS, "PutOptedOutNumber failed")]

    def flaky(number):
        if failures:
            raise failures.pop()
        return add(number)

    ports.sender.add_opt_out = flaky
    reply(ports, "please stop", message_id="in-stop")
    assert NUMBER not in ports.sender.opted_out

    drain(ports)  # the queue's next delivery

    assert NUMBER in ports.sender.opted_out
    assert ports.sender.kinds() == ["confirmation", "welcome", "stop"]
    assert types(ports).count(EventType.OPT_OUT_CONFIRMATION_SENT) == 1


def test_an_opt_out_from_an_unknown_number_is_listed_and_never_answered(ports):
    assert sms_during(ports, lambda: reply(ports, "please stop", number=STRANGER)) == []
    assert STRANGER in ports.sender.opted_out
    assert ports.store.get(STRANGER) is None


def test_a_confirmation_refused_because_the_platform_listed_the_number_first(ports):
    """On numbers where the platform answers more opt-out words than STOP itself, it has
    listed the number by the time the function answers: the refusal means "already told"."""
    arrange(ports, "CONFIRMED")
    ports.sender.opted_out.add(NUMBER)

    assert sms_during(ports, lambda: reply(ports, "cancel")) == []
    assert ports.store.get(NUMBER).status is Status.OPTED_OUT
    assert EventType.OPT_OUT_CONFIRMATION_SENT not in types(ports)


# Opting back in -------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["START", "unstop", "Start please"])
def test_start_resubscribes_a_number_that_was_confirmed(ports, body):
    arrange(ports, "OPTED_OUT")
    ports.sender.opted_out.add(NUMBER)

    sent = sms_during(ports, lambda: reply(ports, body, message_id="in-start"))

    subscriber = ports.store.get(NUMBER)
    assert (subscriber.status, subscriber.opt_out) == (Status.CONFIRMED, "NONE")
    assert sent == ["welcome"]
    assert NUMBER not in ports.sender.opted_out  # DeleteOptedOutNumber first
    confirmed = [e for e in ports.store.events(NUMBER) if e.type is EventType.CONFIRMED][-1]
    assert confirmed.details["fromStatus"] == "OPTED_OUT"
    assert confirmed.details["keyword"] == Keyword.OPT_IN.value
    assert confirmed.details["body"] == body  # the person's own words are the consent
    assert confirmed.details["inboundMessageId"] == "in-start"


def test_start_does_not_resubscribe_a_number_that_never_confirmed(ports):
    register(ports)
    reply(ports, "STOP")

    sent = sms_during(ports, lambda: reply(ports, "START"))

    assert ports.store.get(NUMBER).status is Status.OPTED_OUT
    assert sent == ["signup"]  # the form is the way in


def test_start_with_a_resubscription_request_still_confirms(ports):
    register(ports)
    reply(ports, "STOP")
    past_cooldown(ports)  # a repeated registration counts in every state
    register(ports)

    assert sms_during(ports, lambda: reply(ports, "START")) == ["welcome"]
    assert ports.store.get(NUMBER).status is Status.CONFIRMED


# Texts that change nothing ---------------------------------------------------------------


def test_a_yes_from_an_unknown_number_gets_one_signup_answer_a_day(ports, clock):
    ports.rules = Settings.from_env({**BASE_ENV, "FORM_URL": FORM_URL}).rules

    assert sms_during(ports, lambda: reply(ports, "YES", number=STRANGER)) == ["signup"]
    assert FORM_URL in last_body(ports)
    clock.advance(hours=23)
    assert sms_during(ports, lambda: reply(ports, "yes", number=STRANGER)) == []
    assert sms_during(ports, lambda: reply(ports, "START", number=STRANGER)) == []
    clock.advance(hours=1)
    assert sms_during(ports, lambda: reply(ports, "Start", number=STRANGER)) == ["signup"]

    assert ports.store.get(STRANGER) is None
    assert types(ports, STRANGER).count(EventType.INBOUND) == 4  # every text is recorded
    assert types(ports, STRANGER).count(EventType.SIGNUP_SENT) == 2


def test_the_signup_answer_is_counted_per_number(ports):
    assert sms_during(ports, lambda: reply(ports, "YES", number=STRANGER)) == ["signup"]
    assert sms_during(ports, lambda: reply(ports, "YES", number="+14255550198")) == ["signup"]


@pytest.mark.parametrize("body", ["hello", "who is this?", "", "👍"])
def test_other_texts_from_an_unknown_number_are_recorded_not_answered(ports, body):
    assert sms_during(ports, lambda: reply(ports, body, number=STRANGER)) == []
    assert types(ports, STRANGER) == [EventType.INBOUND]


@pytest.mark.parametrize("body", ["hello", "Help me", "info", "what?", "👍"])
def test_an_opted_out_number_gets_nothing_more(ports, body):
    arrange(ports, "CONFIRMED")
    reply(ports, "please stop")

    assert sms_during(ports, lambda: reply(ports, body)) == []
    assert ports.store.get(NUMBER).status is Status.OPTED_OUT


def test_start_from_a_number_that_never_confirmed_is_answered_once_a_day(ports, clock):
    register(ports)
    reply(ports, "please stop")
    assert NUMBER in ports.sender.opted_out

    assert sms_during(ports, lambda: reply(ports, "START")) == ["signup"]
    assert ports.sender.removed == [NUMBER]  # START asked to hear from us: off the list
    assert sms_during(ports, lambda: reply(ports, "unstop")) == []
    assert ports.sender.removed == [NUMBER]  # no answer, so nothing to take off
    assert ports.store.get(NUMBER).status is Status.OPTED_OUT


# HELP in other words ----------------------------------------------------------------------


@pytest.mark.parametrize("body", ["INFO", "aide", "Help me", "help?", "Info please"])
@pytest.mark.parametrize("start", ["none", "PENDING", "CONFIRMED"])
def test_help_in_other_words_gets_the_help_text(ports, start, body):
    arrange(ports, start)
    before = ports.store.get(NUMBER)

    assert sms_during(ports, lambda: reply(ports, body)) == ["help"]
    assert "help@example.com" in last_body(ports)
    assert ports.store.get(NUMBER) == before  # nothing changes
    assert types(ports)[-2:] == [EventType.INBOUND, EventType.HELP_SENT]


@pytest.mark.parametrize("body", ["HELP", "help", " Help\n"])
def test_the_platform_help_keyword_is_not_answered_twice(ports, body):
    arrange(ports, "CONFIRMED")
    assert sms_during(ports, lambda: reply(ports, body)) == []


def test_help_is_answered_at_most_once_a_day_against_reply_loops(ports, clock):
    arrange(ports, "CONFIRMED")
    assert sms_during(ports, lambda: reply(ports, "info")) == ["help"]
    clock.advance(hours=1)
    assert sms_during(ports, lambda: reply(ports, "Info: this is an automatic reply")) == []
    clock.advance(hours=23)
    assert sms_during(ports, lambda: reply(ports, "help me")) == ["help"]


def test_a_redelivered_help_question_is_answered_once(ports):
    arrange(ports, "CONFIRMED")
    ports.sender.failures.append(SendThrottled("throttled"))
    reply(ports, "info", message_id="in-help")  # queued; its first send is throttled
    reply(ports, "info", message_id="in-help")
    reply(ports, "info", message_id="in-help")
    drain(ports)
    assert ports.sender.kinds().count("help") == 1
