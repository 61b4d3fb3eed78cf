"""Use case: register a number and send at most one confirmation SMS for it.

Reads and writes go through the ports; decisions come from ``lifecycle``. Every state
change is a conditional write, so concurrent requests for one number decide once. Whatever
the number's state, a registration reads the subscriber and writes its attempt with one
conditional write, so neither the answer nor the work tells the states apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from optin.domain import lifecycle, limits
from optin.domain.erasure import erased_subscriber
from optin.domain.errors import DependencyUnavailable, DestinationOptedOut, TooManyRequests
from optin.domain.lifecycle import Evidence, RegistrationOutcome
from optin.domain.messages import Template
from optin.domain.model import ConsentEvent, EventSource, EventType, Subscriber
from optin.domain.opt_out import mark_platform_opted_out
from optin.domain.phone import NumberFacts, PhoneNumber, normalise
from optin.domain.ports import MAX_ATTEMPTS, ConcurrentUpdate, Ports
from optin.domain.registration import RegistrationRequest


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
    """Record the registration and send at most one confirmation SMS for it.

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
            claimed = ports.store.save(
                claimed, events, expected_version=existing.version if existing else None
            )
        except ConcurrentUpdate:
            continue
        return _send_confirmation(ports, claimed, existing, correlation_id)
    raise TooManyRequests(lifecycle.LIMIT_MESSAGE, 1)


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
        mark_platform_opted_out(ports, e164, via="registration")
        return RegistrationResult(
            RegistrationOutcome.SEND_CONFIRMATION, e164, blocked_by_opt_out=True
        )
    sent = ConsentEvent(
        type=EventType.CONFIRMATION_SENT,
        at=ports.clock(),
        source=EventSource.REGISTRATION,
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
        source=EventSource.REGISTRATION,
        details={"template": Template.CONFIRMATION.value, "reason": reason[:200]},
    )
    released = lifecycle.release_confirmation(claimed, previous)
    try:
        ports.store.save(released, [failed], expected_version=claimed.version)
    except ConcurrentUpdate:
        ports.store.append(claimed.phone_number, [failed])
