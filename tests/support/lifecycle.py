"""Drive the real use cases to put a number in a given state."""

from __future__ import annotations

import uuid
from datetime import datetime

from optin.domain.language.keywords import classify
from optin.domain.language.messages import Template
from optin.domain.model import Status, Subscriber
from optin.domain.ports import Ports, SubscriberStore
from optin.domain.sending.outbound import OutboundMessage
from optin.domain.subscribers import lifecycle
from optin.domain.subscribers import register as registering
from optin.domain.subscribers import reply as replying
from optin.domain.subscribers.lifecycle import Reply
from optin.domain.subscribers.registration import RegistrationRequest
from tests.support.fakes import Clock

NUMBER = "+12065550142"


def clock_of(ports: Ports) -> Clock:
    assert isinstance(ports.clock, Clock), "the ports run on the tests' Clock"
    return ports.clock


def cooldown_seconds(ports: Ports) -> int:
    """The resend cool-down of the rules the ports carry (the test settings' setting)."""
    return int(ports.rules.policy.cooldown.total_seconds())


def past_cooldown(ports: Ports) -> None:
    """Move the clock just past the resend cool-down, so a registration may send again."""
    clock_of(ports).advance(seconds=cooldown_seconds(ports) + 1)


def register(ports: Ports, number: str = NUMBER, **fields: str) -> registering.RegistrationResult:
    request = RegistrationRequest(
        phone_number=fields.get("phone_number", number),
        country=fields.get("country", "US"),
        first_name=fields.get("first_name", "Carlos"),
        last_name=fields.get("last_name", "Salazar"),
        source=fields.get("source", "Registration form test"),
        consent=True,
    )
    return registering.register(
        request, ports, ip="203.0.113.9", user_agent="pytest", correlation_id="corr-1"
    )


def reply(
    ports: Ports, body: str, number: str = NUMBER, message_id: str | None = None
) -> replying.ReplyResult:
    message = Reply(
        phone_number=number,
        body=body,
        message_id=message_id or str(uuid.uuid4()),
        keyword=classify(body, ports.rules.confirm_keywords),
        details={},
    )
    return replying.receive_reply(message, ports)


def arrange(ports: Ports, state: str) -> None:
    """Bring NUMBER into ``state`` through the real flows, then let the cool-down pass."""
    if state == "none":
        return
    register(ports)
    if state == "CONFIRMED":
        reply(ports, "YES")
    elif state == "OPTED_OUT":
        reply(ports, "YES")
        reply(ports, "STOP")
    elif state == "OPTED_OUT_REQUESTED":
        reply(ports, "STOP")
        past_cooldown(ports)
        register(ports)
    elif state == "EXPIRED":
        clock_of(ports).advance(hours=25)
        reply(ports, "YES")
    elif state != "PENDING":
        raise ValueError(state)
    past_cooldown(ports)


def claimed(store: SubscriberStore, number: str, now: datetime) -> Subscriber:
    """A pending subscriber whose confirmation was just claimed, stored."""
    at_now = dict.fromkeys(("requested_at", "confirmation_sent_at", "last_attempt_at"), now)
    days = dict.fromkeys(("confirmations_day", "attempts_day"), now.date().isoformat())
    counts = dict.fromkeys(("confirmations_that_day", "attempts_that_day"), 1)
    subscriber = Subscriber(number, Status.PENDING, now, now, **at_now, **days, **counts)  # type: ignore[arg-type]
    return store.save(subscriber, expected_version=None)


def confirmation_of(
    subscriber: Subscriber, body: str, now: datetime, *, correlation_id: str = ""
) -> OutboundMessage:
    """The queued confirmation of the subscriber's current claim."""
    decided = (Template.CONFIRMATION, subscriber.phone_number, body, now)
    claim = lifecycle.confirmation_claim(subscriber)
    return OutboundMessage.decided(*decided, claim=claim, correlation_id=correlation_id)
