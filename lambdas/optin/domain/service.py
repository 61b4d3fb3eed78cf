"""Use cases: register a number, receive a reply, describe a subscriber.

Reads and writes go through the ports; decisions come from ``lifecycle``. Every state
change is a conditional write, so concurrent requests for one number decide once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from optin.domain import lifecycle
from optin.domain.errors import DependencyUnavailable, DestinationOptedOut, TooManyRequests
from optin.domain.lifecycle import Evidence, RegistrationOutcome, Reply, ReplyOutcome
from optin.domain.messages import Template
from optin.domain.model import ConsentEvent, EventType, Subscriber
from optin.domain.phone import NumberFacts, PhoneNumber, normalise
from optin.domain.ports import (
    AlreadyProcessed,
    ConcurrentUpdate,
    InboundMarker,
    Ports,
    SubscriberStore,
    utc_now,
)
from optin.domain.registration import RegistrationRequest

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class RegistrationResult:
    outcome: RegistrationOutcome
    phone_number: str
    message_id: str = ""
    blocked_by_opt_out: bool = False
    sent_not_recorded: bool = False  # the SMS went out but its ledger event could not be written


def register(
    request: RegistrationRequest, ports: Ports, *, ip: str, user_agent: str, correlation_id: str
) -> RegistrationResult:
    """Record the registration and send at most one confirmation SMS for it."""
    rules = ports.rules
    phone = normalise(request.phone_number, request.country, rules.allowed_countries)
    texts = rules.texts
    ports.store.keep_disclosure(texts.disclosure_version, texts.disclosure)
    evidence = Evidence(ip, user_agent, texts.disclosure_version, correlation_id)
    policy = rules.policy

    for _ in range(MAX_ATTEMPTS):
        now = ports.clock()
        existing = ports.store.get(phone.e164)
        outcome = lifecycle.decide_registration(existing, now, policy)
        try:
            if outcome is RegistrationOutcome.ALREADY_CONFIRMED:
                event = lifecycle.repeated_registration(request, evidence, now)
                ports.store.append(phone.e164, [event])
                return RegistrationResult(outcome, phone.e164)
            if outcome is RegistrationOutcome.RESUBSCRIBE_REQUESTED:
                assert existing is not None
                updated, events = lifecycle.request_resubscription(existing, request, evidence, now)
                ports.store.save(updated, events, expected_version=existing.version)
                return RegistrationResult(outcome, phone.e164)
            facts = _number_facts(ports, phone, existing)
            lifecycle.check_mobile(facts, policy)
            claimed, events = lifecycle.claim_confirmation(
                existing, request, phone, facts, evidence, now
            )
            claimed = ports.store.save(
                claimed, events, expected_version=existing.version if existing else None
            )
        except ConcurrentUpdate:
            continue
        return _send_confirmation(ports, claimed, existing, correlation_id)
    raise TooManyRequests("This number is being registered right now. Please retry.", 1)


def _number_facts(ports: Ports, phone: PhoneNumber, existing: Subscriber | None) -> NumberFacts:
    """A known number keeps its looked-up facts: the paid lookup runs once per number."""
    if existing is not None and existing.number_type:
        return NumberFacts(existing.number_type, existing.carrier, existing.timezone)
    return ports.lookup.lookup(phone.e164)


def _send_confirmation(
    ports: Ports, claimed: Subscriber, previous: Subscriber | None, correlation_id: str
) -> RegistrationResult:
    e164 = claimed.phone_number
    body = ports.rules.texts.render(Template.CONFIRMATION)
    try:
        message_id = ports.sender.send(
            e164, body, kind=Template.CONFIRMATION, correlation_id=correlation_id
        )
    except DependencyUnavailable as error:
        _release(ports, claimed, previous, str(error))
        raise
    except DestinationOptedOut:
        _mark_platform_opted_out(ports, e164, via="registration")
        return RegistrationResult(
            RegistrationOutcome.SEND_CONFIRMATION, e164, blocked_by_opt_out=True
        )
    sent = ConsentEvent(
        type=EventType.CONFIRMATION_SENT,
        at=ports.clock(),
        source="registration",
        details={"messageId": message_id, "correlationId": correlation_id},
    )
    try:
        ports.store.append(e164, [sent])
    except DependencyUnavailable:  # the SMS is out: answer 202, and let the caller log the gap
        return RegistrationResult(
            RegistrationOutcome.SEND_CONFIRMATION, e164, message_id, sent_not_recorded=True
        )
    return RegistrationResult(RegistrationOutcome.SEND_CONFIRMATION, e164, message_id)


def _release(ports: Ports, claimed: Subscriber, previous: Subscriber | None, reason: str) -> None:
    """Give back the reserved send so that an immediate retry is not rate limited."""
    failed = ConsentEvent(
        type=EventType.SMS_FAILED,
        at=ports.clock(),
        source="registration",
        details={"template": Template.CONFIRMATION.value, "reason": reason[:200]},
    )
    released = lifecycle.release_confirmation(claimed, previous)
    try:
        ports.store.save(released, [failed], expected_version=claimed.version)
    except ConcurrentUpdate:
        ports.store.append(claimed.phone_number, [failed])


def _mark_platform_opted_out(ports: Ports, e164: str, *, via: str) -> None:
    """The platform refused a send: its opt-out list is never overruled."""
    try:
        _opt_out(
            ports.store,
            e164,
            ports.clock,
            lambda existing, now: lifecycle.platform_opted_out(existing, now, via),
            EventType.SMS_BLOCKED_OPTED_OUT,
            source="platform",
            details={},
        )
    except ConcurrentUpdate:
        return  # it kept changing: the next send will meet the opt-out list again


def _opt_out(
    store: SubscriberStore,
    phone_number: str,
    clock: Callable[[], datetime],
    change: Callable[[Subscriber, datetime], Subscriber],
    kind: EventType,
    *,
    source: str,
    details: dict[str, Any],
) -> bool:
    """Apply an opt-out to the current subscriber, reading again after a lost race.
    False when there is no subscriber; ConcurrentUpdate when it kept changing."""
    for _ in range(MAX_ATTEMPTS):
        existing = store.get(phone_number)
        if existing is None:
            return False
        now = clock()
        updated = change(existing, now)
        event = ConsentEvent(
            type=kind,
            at=now,
            source=source,
            details={
                **details,
                "fromStatus": existing.status.value,
                "toStatus": updated.status.value,
            },
        )
        try:
            store.save(updated, [event], expected_version=existing.version)
        except ConcurrentUpdate:
            continue
        return True
    raise ConcurrentUpdate(f"subscriber kept changing while opting out {kind.value}")


# Replies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyResult:
    outcome: ReplyOutcome | None  # None: a redelivery, already processed
    message_id: str = ""
    sms_message_id: str = ""
    registration_correlation_id: str = ""
    sent_not_recorded: bool = False  # the SMS went out but its ledger event could not be written


# How long one invocation owns the SMS an inbound message owes while it sends it. A
# redelivery arriving meanwhile leaves it alone; one arriving after a crash sends it.
SEND_LEASE = timedelta(minutes=2)


def receive_reply(reply: Reply, ports: Ports) -> ReplyResult:
    """Apply one inbound message exactly once, then send the SMS it calls for.

    The decision, its ledger events and the inbound marker are written in one transaction;
    the marker remembers an SMS still owed, and who is sending it, so a redelivery after a
    failed send sends it, and a redelivery during the send does not send it twice.
    Raises DependencyUnavailable when the provider fails: the caller lets the platform retry.
    """
    marker = ports.store.inbound_marker(reply.message_id)
    if marker is not None:
        now = ports.clock()
        if marker.owed_sms and ports.store.claim_owed_sms(marker.message_id, now, now + SEND_LEASE):
            sms_id, recorded = _deliver_owed(ports, marker)
            return ReplyResult(None, reply.message_id, sms_id, sent_not_recorded=not recorded)
        return ReplyResult(None, reply.message_id)
    policy = ports.rules.policy
    for _ in range(MAX_ATTEMPTS):
        now = ports.clock()
        existing = ports.store.get(reply.phone_number)
        decision = lifecycle.decide_reply(existing, reply, now, policy)
        marker = InboundMarker(
            message_id=reply.message_id,
            phone_number=reply.phone_number,
            received_at=now,
            owed_sms=decision.sms,
            claimed_until=now + SEND_LEASE if decision.sms else None,
            remove_opt_out=decision.remove_opt_out,
        )
        try:
            if decision.subscriber is not None and existing is not None:
                ports.store.save(
                    decision.subscriber,
                    decision.events,
                    expected_version=existing.version,
                    inbound=marker,
                )
            else:
                ports.store.append(reply.phone_number, decision.events, inbound=marker)
        except ConcurrentUpdate:
            continue
        except AlreadyProcessed:
            return ReplyResult(None, reply.message_id)
        sms_id, recorded = _deliver_owed(ports, marker) if decision.sms else ("", True)
        return ReplyResult(
            decision.outcome,
            reply.message_id,
            sms_id,
            existing.correlation_id if existing else "",
            sent_not_recorded=not recorded,
        )
    raise ConcurrentUpdate(f"inbound message {reply.message_id} kept conflicting")


_SENT_EVENTS = {
    Template.WELCOME: EventType.WELCOME_SENT,
    Template.EXPIRED: EventType.EXPIRED_NOTICE_SENT,
}


def _deliver_owed(ports: Ports, marker: InboundMarker) -> tuple[str, bool]:
    """Send the SMS the marker owes (its claim is ours); returns the message id and whether
    the send was recorded. Once the SMS is out, nothing raises: a retry would send it again."""
    e164, template = marker.phone_number, marker.owed_sms
    assert template is not None
    if marker.remove_opt_out:
        ports.sender.remove_opt_out(e164)
    body = ports.rules.texts.render(template)
    try:
        message_id = ports.sender.send(e164, body, kind=template, correlation_id=marker.message_id)
    except DependencyUnavailable:
        ports.store.release_owed_sms(marker.message_id)
        raise
    except DestinationOptedOut:
        _mark_platform_opted_out(ports, e164, via="reply")
        ports.store.settle_inbound(marker.message_id, e164, [])
        return "", True
    sent = ConsentEvent(
        type=_SENT_EVENTS[template],
        at=ports.clock(),
        source="sms",
        details={"messageId": message_id, "inboundMessageId": marker.message_id},
    )
    try:
        ports.store.settle_inbound(marker.message_id, e164, [sent])
    except DependencyUnavailable:
        return message_id, False
    return message_id, True


# Operator actions ------------------------------------------------------------------------


def remove_subscriber(
    store: SubscriberStore,
    phone_number: str,
    *,
    operator: str,
    reason: str,
    clock: Callable[[], datetime] = utc_now,
) -> bool:
    """An operator opts a number out (SPEC section 3). False when there is no subscriber."""
    return _opt_out(
        store,
        phone_number,
        clock,
        lifecycle.removed_by_operator,
        EventType.REMOVED_BY_OPERATOR,
        source="operator",
        details={"operator": operator, "reason": reason},
    )


# Operator view ---------------------------------------------------------------------------


def describe_subscriber(store: SubscriberStore, phone_number: str) -> dict[str, Any] | None:
    """The subscriber representation of SPEC section 9, or None for an unknown number."""
    subscriber = store.get(phone_number)
    if subscriber is None:
        return None
    return {
        "phoneNumber": subscriber.phone_number,
        "status": subscriber.status.value,
        "optOut": subscriber.opt_out,
        "firstName": subscriber.first_name,
        "lastName": subscriber.last_name,
        "source": subscriber.source,
        "country": subscriber.country,
        "timezone": subscriber.timezone,
        "carrier": subscriber.carrier,
        "numberType": subscriber.number_type,
        "createdAt": iso(subscriber.created_at),
        "confirmedAt": iso(subscriber.confirmed_at),
        "optedOutAt": iso(subscriber.opted_out_at),
        "consentEvents": [
            {"type": event.type.value, "at": iso(event.at), "source": event.source, **event.details}
            for event in store.events(phone_number)
        ],
    }


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a Z, or None."""
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
