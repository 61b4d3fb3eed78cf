"""Use case: register a number and queue at most one confirmation SMS for it.

Reads and writes go through the ports; decisions come from ``lifecycle``. Every state
change is a conditional write, so concurrent requests for one number decide once. Whatever
the number's state, a registration reads the subscriber and writes its attempt with one
conditional write, so neither the answer nor the work tells the states apart. The
confirmation is claimed (PENDING with the time of the claim), then put on the send queue;
the sender sends it at the pace of the origination identity (``send``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from optin.domain.errors import DependencyUnavailable, TooManyRequests
from optin.domain.language.messages import Template
from optin.domain.model import ConsentEvent, EventSource, EventType, Subscriber
from optin.domain.ports import MAX_ATTEMPTS, ConcurrentUpdate, Ports
from optin.domain.sending.outbound import OutboundMessage
from optin.domain.subscribers import lifecycle, limits
from optin.domain.subscribers.erasure import erased_subscriber
from optin.domain.subscribers.lifecycle import Evidence, RegistrationOutcome
from optin.domain.subscribers.phone import NumberFacts, PhoneNumber, normalise
from optin.domain.subscribers.registration import RegistrationRequest


@dataclass(frozen=True)
class RegistrationResult:
    outcome: RegistrationOutcome
    phone_number: str
    message_key: str = ""  # the queued confirmation's key, when one was queued


def register(
    request: RegistrationRequest, ports: Ports, *, ip: str, user_agent: str, correlation_id: str
) -> RegistrationResult:
    """Record the registration and queue at most one confirmation SMS for it.
    Raises DependencyUnavailable when the table or the queue fails (the claim is given back).

    Past the number's own limits it takes one unit of each limit across numbers (its
    prefix's hour, the day's budget), and gives them back if it ends in an error.
    """
    units = limits.Units(ports.store, ports.rules.policy)
    try:
        return _register(
            request, ports, units, ip=ip, user_agent=user_agent, correlation_id=correlation_id
        )
    except Exception:
        units.give_back()
        raise


def _register(
    request: RegistrationRequest,
    ports: Ports,
    units: limits.Units,
    *,
    ip: str,
    user_agent: str,
    correlation_id: str,
) -> RegistrationResult:
    rules = ports.rules
    phone = normalise(request.phone_number, request.country, rules.allowed_countries)
    texts = rules.texts
    ports.store.keep_disclosure(texts.disclosure_version, texts.disclosure)
    evidence = Evidence(ip, user_agent, texts.disclosure_version, correlation_id)
    policy = rules.policy

    for _ in range(MAX_ATTEMPTS):
        now = ports.clock()
        existing = ports.store.get(phone.e164) or erased_subscriber(ports.store, phone, now)
        outcome = lifecycle.decide_registration(existing, now, policy)
        units.take(phone.e164, now)
        try:
            if outcome is not RegistrationOutcome.SEND_CONFIRMATION:
                assert existing is not None
                record = (
                    lifecycle.repeated_registration
                    if outcome is RegistrationOutcome.ALREADY_CONFIRMED
                    else lifecycle.request_resubscription
                )
                updated, events = record(existing, request, evidence, now)
                ports.store.save(updated, events, expected_version=existing.version)
                return RegistrationResult(outcome, phone.e164)
            facts = _number_facts(ports, phone, existing)
            lifecycle.check_mobile(facts, policy)
            claimed, events = lifecycle.claim_confirmation(
                existing, request, phone, facts, evidence, now
            )
            message = _confirmation(ports, claimed, correlation_id)
            registered = replace(
                events[0], details={**events[0].details, "messageKey": message.key}
            )
            claimed = ports.store.save(
                claimed,
                [registered, *events[1:]],
                expected_version=existing.version if existing else None,
            )
        except ConcurrentUpdate:
            continue
        return _queue(ports, message, claimed, existing)
    raise TooManyRequests(lifecycle.LIMIT_MESSAGE, 1)


def _number_facts(ports: Ports, phone: PhoneNumber, existing: Subscriber | None) -> NumberFacts:
    """A known number keeps its looked-up facts: the paid lookup runs once per number."""
    if existing is not None and existing.number_type:
        return NumberFacts(existing.number_type, existing.carrier, existing.timezone)
    return ports.lookup.lookup(phone.e164)


def _confirmation(ports: Ports, claimed: Subscriber, correlation_id: str) -> OutboundMessage:
    """The confirmation SMS of this claim, keyed by it; it waits from the claim's time."""
    assert claimed.confirmation_sent_at is not None
    return OutboundMessage.decided(
        Template.CONFIRMATION,
        claimed.phone_number,
        ports.rules.texts.render(Template.CONFIRMATION),
        claimed.confirmation_sent_at,
        claim=lifecycle.confirmation_claim(claimed),
        correlation_id=correlation_id,
    )


def _queue(
    ports: Ports, message: OutboundMessage, claimed: Subscriber, previous: Subscriber | None
) -> RegistrationResult:
    try:
        ports.queue.enqueue(message)
    except DependencyUnavailable as error:
        _release(ports, claimed, previous, str(error))
        raise
    return RegistrationResult(
        RegistrationOutcome.SEND_CONFIRMATION, message.phone_number, message.key
    )


def _release(ports: Ports, claimed: Subscriber, previous: Subscriber | None, reason: str) -> None:
    """The confirmation could not be queued: give back the claim, so that an immediate
    retry is not rate limited."""
    failed = ConsentEvent(
        type=EventType.SMS_FAILED,
        at=ports.clock(),
        source=EventSource.REGISTRATION,
        details={"template": Template.CONFIRMATION.value, "reason": reason[:200]},
    )
    released = lifecycle.release_confirmation(claimed, previous)
    try:
        ports.store.save(released, [failed], expected_version=claimed.version)
    except ConcurrentUpdate:
        ports.store.append(claimed.phone_number, [failed])
