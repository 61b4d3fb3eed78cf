"""Local mode's send queue over HTTP: every message with its state, the failure number, the
listing of every message, and a burst against a slow simulated number."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from optin.domain.sending.pacing import most_parts_in_a_window
from tests.support.fakes import NO_PREFIX_LIMITS
from tests.support.harness import fictional_numbers
from tests.support.local_mode import LocalMode, wait_until

NewNumber = Callable[[], str]
FAILURE_NUMBER = "+14254147167"
MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def event_types(local_mode: LocalMode, phone: str) -> list[str]:
    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    return [event["type"] for event in subscriber["consentEvents"]]


def test_a_confirmation_is_queued_sent_and_delivered(
    local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()
    assert local_mode.register(phone)[0] == 202
    [confirmation] = local_mode.messages(phone)
    assert (confirmation["status"], confirmation["parts"]) == ("delivered", 2)
    types = event_types(local_mode, phone)
    assert types[:2] == ["REGISTERED", "CONFIRMATION_SENT"]
    assert "DELIVERED" in types


def test_the_failure_number_is_accepted_then_fails_for_good(local_mode: LocalMode) -> None:
    """As AWS's simulator failure number: the send is accepted, the carrier reports the
    message undelivered, and the person may register again at once."""
    assert local_mode.register(FAILURE_NUMBER)[0] == 202
    [confirmation] = local_mode.messages(FAILURE_NUMBER)
    assert confirmation["status"] == "failed"
    subscriber = local_mode.subscriber(FAILURE_NUMBER)
    assert subscriber is not None
    failed = [e for e in subscriber["consentEvents"] if e["type"] == "FAILED"]
    assert [e["eventType"] for e in failed] == ["TEXT_UNREACHABLE"]
    assert local_mode.register(FAILURE_NUMBER)[0] == 202  # the cool-down was given back


def test_every_message_is_listed_without_a_number(
    local_mode: LocalMode, confirmed_number: str
) -> None:
    phone = confirmed_number
    status, document = local_mode.json("GET", "/simulator/api/messages")
    assert status == 200
    mine = [m for m in document["messages"] if m["phoneNumber"] == phone]
    assert [(m["direction"], m["kind"]) for m in mine] == [
        ("outbound", "confirmation"),
        ("inbound", "reply"),
        ("outbound", "welcome"),
    ]
    for message in mine:
        assert set(message) >= {"phoneNumber", "direction", "body", "at", "messageId", "parts"}
        assert MILLISECONDS.match(message["at"])
    times = [m["at"] for m in document["messages"]]
    assert times == sorted(times)  # oldest first


# A burst against a slow simulated number --------------------------------------------------

SLOW_MPS = 4


@pytest.fixture(scope="module")
def slow_number() -> Iterator[LocalMode]:
    """Local mode whose simulated number takes four parts a second, and is told so."""
    with LocalMode(
        env={
            "SIMULATOR_MPS": str(SLOW_MPS),
            "SEND_RATE_PER_SECOND": str(SLOW_MPS),
            **NO_PREFIX_LIMITS,  # twenty fictional numbers of one prefix
        }
    ) as mode:
        yield mode


def test_a_burst_waits_in_the_queue_and_leaves_at_the_numbers_pace(
    slow_number: LocalMode,
) -> None:
    numbers = list(fictional_numbers(offset=3900))[:12]
    statuses = [slow_number.json("POST", "/register", _form(n))[0] for n in numbers]
    assert statuses == [202] * 12  # accepted at once: nothing waits on the SMS
    queued = [m for n in numbers for m in slow_number.messages(n) if m["status"] == "queued"]
    assert queued  # 24 parts at 4 a second: most are still waiting

    def everything_delivered() -> bool:
        return all([m["status"] for m in slow_number.messages(n)] == ["delivered"] for n in numbers)

    wait_until(everything_delivered, timeout=30)
    _, document = slow_number.json("GET", "/simulator/api/messages")
    sent = [m for m in document["messages"] if m["phoneNumber"] in numbers]
    assert Counter(m["phoneNumber"] for m in sent) == dict.fromkeys(numbers, 1)  # no duplicate
    times = [(datetime.fromisoformat(m["at"].replace("Z", "+00:00")), m["parts"]) for m in sent]
    assert most_parts_in_a_window(times, timedelta(seconds=1)) <= SLOW_MPS
    assert "throttled" not in "".join(slow_number.log)  # the pace held: never refused


def test_a_number_that_opts_out_while_its_confirmation_waits_gets_nothing(
    slow_number: LocalMode,
) -> None:
    numbers = list(fictional_numbers(offset=3920))[:8]
    for number in numbers:
        assert slow_number.json("POST", "/register", _form(number))[0] == 202
    last = numbers[-1]
    slow_number.reply(last, "STOP")  # before its confirmation's turn (16 parts at 4 a second)
    confirmation = next(m for m in slow_number.messages(last) if m["kind"] == "confirmation")
    assert confirmation["status"] == "not sent"
    subscriber = slow_number.subscriber(last)
    assert subscriber is not None
    skipped = [e for e in subscriber["consentEvents"] if e["type"] == "SMS_SKIPPED"]
    assert [e["reason"] for e in skipped] == ["opted_out"]


def _form(number: str) -> dict[str, object]:
    return {"firstName": "Ada", "lastName": "Lovelace", "phoneNumber": number, "consent": True}
