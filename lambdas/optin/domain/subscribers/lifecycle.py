"""The subscriber lifecycle (docs/lifecycle.md) as pure functions: state in, decision out.

Nothing here does I/O; the use cases (``register``, ``reply``, ``operator``) read and write
through the ports and call these.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from optin.domain.errors import NotAMobileNumber, TooManyRequests
from optin.domain.language.keywords import (
    PLATFORM_HELP_KEYWORDS,
    PLATFORM_OPT_OUT_KEYWORDS,
    Keyword,
    is_exact_keyword,
)
from optin.domain.language.messages import Template
from optin.domain.model import ConsentEvent, EventSource, EventType, Status, Subscriber
from optin.domain.rules import Policy
from optin.domain.sending.outbound import BROADCAST_KIND
from optin.domain.subscribers.fields import FIELDS
from optin.domain.subscribers.phone import INVALID, LANDLINE, VOIP, NumberFacts, PhoneNumber
from optin.domain.subscribers.registration import RegistrationRequest

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Evidence:
    """Where a registration came from, for the ledger. Never logged."""

    ip: str
    user_agent: str
    disclosure_version: str
    correlation_id: str


class RegistrationOutcome(enum.StrEnum):
    SEND_CONFIRMATION = "confirmation"
    ALREADY_CONFIRMED = "already_confirmed"
    RESUBSCRIBE_REQUESTED = "resubscribe_requested"


def decide_registration(
    existing: Subscriber | None, now: datetime, policy: Policy
) -> RegistrationOutcome:
    """What a registration does to this number; raises TooManyRequests inside the limits.

    The cool-down and the daily cap count attempts in every state, with the same
    ``Retry-After`` rule and the same message, so a refusal never tells the state apart.
    """
    if existing is None:
        return RegistrationOutcome.SEND_CONFIRMATION
    _check_attempt_limits(existing, now, policy)
    if existing.status is Status.CONFIRMED:
        return RegistrationOutcome.ALREADY_CONFIRMED
    if existing.status is Status.OPTED_OUT:
        return RegistrationOutcome.RESUBSCRIBE_REQUESTED
    return RegistrationOutcome.SEND_CONFIRMATION


# The message of every 429 a registration gets: a number's cool-down or daily cap, a race
# for it, and the limits across numbers (``limits``). One text, so that no refusal tells
# which limit refused it, nor anything about the number.
LIMIT_MESSAGE = "Too many sign-up requests right now. Please wait before trying again."


def _check_attempt_limits(existing: Subscriber, now: datetime, policy: Policy) -> None:
    last = _last_attempt(existing)
    if last is not None and now - last < policy.cooldown:
        raise TooManyRequests(LIMIT_MESSAGE, seconds_up(policy.cooldown - (now - last)))
    if _attempts_today(existing, now) >= policy.daily_cap:
        tomorrow = datetime.combine(now.date() + ONE_DAY, datetime.min.time(), now.tzinfo)
        raise TooManyRequests(LIMIT_MESSAGE, seconds_up(tomorrow - now))


def seconds_up(delta: timedelta) -> int:
    """The ``Retry-After`` of every 429: the time until the limit that refused lets a
    registration through, in whole seconds rounded up, at least one."""
    seconds = delta.total_seconds()
    return max(1, int(seconds) + (0 if seconds == int(seconds) else 1))


def _last_attempt(subscriber: Subscriber) -> datetime | None:
    """The latest attempt; an item written before attempts were counted has only its
    confirmation's time."""
    moments = [m for m in (subscriber.last_attempt_at, subscriber.confirmation_sent_at) if m]
    return max(moments, default=None)


def _attempts_today(subscriber: Subscriber, now: datetime) -> int:
    attempts = subscriber.attempts_that_day if subscriber.attempts_day == _day(now) else 0
    return max(attempts, _sent_today(subscriber, now))


def _sent_today(subscriber: Subscriber, now: datetime) -> int:
    return subscriber.confirmations_that_day if subscriber.confirmations_day == _day(now) else 0


def _day(now: datetime) -> str:
    return now.date().isoformat()


def _attempt(subscriber: Subscriber | None, now: datetime) -> dict[str, Any]:
    """The fields that count one more attempt."""
    return {
        "last_attempt_at": now,
        "attempts_day": _day(now),
        "attempts_that_day": (_attempts_today(subscriber, now) if subscriber else 0) + 1,
    }


def check_mobile(facts: NumberFacts, policy: Policy) -> None:
    """Only numbers that can receive SMS: no landline, no invalid, VoIP only if allowed."""
    refused = {LANDLINE, INVALID} | (set() if policy.allow_voip else {VOIP})
    if facts.number_type in refused:
        raise NotAMobileNumber(
            "This number can't receive text messages. Please use a mobile number.", "phoneNumber"
        )


def _registration_details(request: RegistrationRequest, evidence: Evidence) -> dict[str, Any]:
    details: dict[str, Any] = {
        "ip": evidence.ip,
        "userAgent": evidence.user_agent,
        "disclosureVersion": evidence.disclosure_version,
        "correlationId": evidence.correlation_id,
        **{field.evidence_key: getattr(request, field.attribute) for field in FIELDS},
        "consentCheckbox": request.consent,
    }
    if request.form_disclosure_version:
        details["formDisclosureVersion"] = request.form_disclosure_version
    return details


def claim_confirmation(
    existing: Subscriber | None,
    request: RegistrationRequest,
    phone: PhoneNumber,
    facts: NumberFacts,
    evidence: Evidence,
    now: datetime,
) -> tuple[Subscriber, list[ConsentEvent]]:
    """The PENDING state that reserves one confirmation SMS (written before it is sent)."""
    base = existing or Subscriber(
        phone_number=phone.e164, status=Status.PENDING, created_at=now, updated_at=now
    )
    pending = replace(
        base,
        status=Status.PENDING,
        updated_at=now,
        **{field.attribute: getattr(request, field.attribute) for field in FIELDS},
        country=phone.country,
        timezone=facts.timezone or base.timezone,
        carrier=facts.carrier or base.carrier,
        number_type=facts.number_type,
        requested_at=now,
        confirmation_sent_at=now,
        confirmations_day=_day(now),
        confirmations_that_day=_sent_today(base, now) + 1,
        **_attempt(existing, now),
        expired_at=None,
        correlation_id=evidence.correlation_id,
    )
    event = ConsentEvent(
        type=EventType.REGISTERED,
        at=now,
        source=EventSource.FORM,
        details={
            **_registration_details(request, evidence),
            "fromStatus": existing.status.value if existing else "",
            "toStatus": Status.PENDING.value,
        },
    )
    return pending, [event]


def release_confirmation(claimed: Subscriber, previous: Subscriber | None) -> Subscriber:
    """Undo a claim whose SMS could not be sent, so that an immediate retry sends it."""
    return replace(
        claimed,
        confirmation_sent_at=previous.confirmation_sent_at if previous else None,
        confirmations_day=previous.confirmations_day if previous else "",
        confirmations_that_day=previous.confirmations_that_day if previous else 0,
        last_attempt_at=previous.last_attempt_at if previous else None,
        attempts_day=previous.attempts_day if previous else "",
        attempts_that_day=previous.attempts_that_day if previous else 0,
    )


def request_resubscription(
    existing: Subscriber, request: RegistrationRequest, evidence: Evidence, now: datetime
) -> tuple[Subscriber, list[ConsentEvent]]:
    updated = replace(
        existing,
        resubscribe_requested_at=now,
        updated_at=now,
        correlation_id=evidence.correlation_id,
        **_attempt(existing, now),
    )
    event = ConsentEvent(
        type=EventType.RESUBSCRIBE_REQUESTED,
        at=now,
        source=EventSource.FORM,
        details=_registration_details(request, evidence),
    )
    return updated, [event]


def repeated_registration(
    existing: Subscriber, request: RegistrationRequest, evidence: Evidence, now: datetime
) -> tuple[Subscriber, list[ConsentEvent]]:
    """A confirmed number registered again: nothing changes but the attempt, which is
    written like any other state's (a conditional write of the subscriber with its event)."""
    updated = replace(existing, updated_at=now, **_attempt(existing, now))
    event = ConsentEvent(
        type=EventType.REGISTRATION_REPEATED,
        at=now,
        source=EventSource.FORM,
        details=_registration_details(request, evidence),
    )
    return updated, [event]


def platform_opted_out(existing: Subscriber, now: datetime, source: str) -> Subscriber:
    """The platform refused to send because the number is on its opt-out list."""
    return replace(
        existing,
        status=Status.OPTED_OUT,
        opted_out_at=existing.opted_out_at or now,
        updated_at=now,
        resubscribe_requested_at=now if source == "registration" else None,
    )


def removed_by_operator(existing: Subscriber, now: datetime) -> Subscriber:
    return replace(
        existing,
        status=Status.OPTED_OUT,
        opted_out_at=existing.opted_out_at or now,
        resubscribe_requested_at=None,
        updated_at=now,
    )


# Inbound replies -------------------------------------------------------------------------


class ReplyOutcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    OPTED_OUT = "opted_out"
    EXPIRED = "expired"
    HELP = "help"
    UNMATCHED = "unmatched"
    IGNORED = "ignored"  # a keyword that changes nothing in this state
    UNKNOWN_SENDER = "unknown_sender"


# Answers to texts that change nothing: each at most once a day per number, known or not,
# so that no conversation with an automatic responder can loop.
DAILY_ANSWERS = frozenset((Template.SIGNUP, Template.HELP))


@dataclass(frozen=True)
class Reply:
    phone_number: str
    body: str
    message_id: str
    keyword: Keyword
    details: dict[str, Any]


@dataclass(frozen=True)
class ReplyDecision:
    outcome: ReplyOutcome
    subscriber: Subscriber | None  # the new state, or None when it does not change
    events: list[ConsentEvent]
    sms: Template | None = None  # the SMS to send, if any (DAILY_ANSWERS at most once a day)
    remove_opt_out: bool = False  # take the number off the opt-out list before the SMS
    add_opt_out: bool = False  # put the number on the opt-out list (after the SMS)


def decide_reply(
    existing: Subscriber | None, reply: Reply, now: datetime, policy: Policy
) -> ReplyDecision:
    inbound = ConsentEvent(
        type=EventType.INBOUND,
        at=now,
        source=EventSource.SMS,
        details={
            "body": reply.body,
            "keyword": reply.keyword.value,
            "inboundMessageId": reply.message_id,
            **reply.details,
        },
    )
    keyword = reply.keyword
    if keyword is Keyword.OPT_OUT:
        return _decide_opt_out(existing, reply, inbound, now)
    if keyword is Keyword.HELP:
        return _decide_help(existing, reply, inbound)
    if existing is None:
        # Nobody is created by a text; a keyword asking to join is told where the form is.
        joining = keyword in (Keyword.CONFIRM, Keyword.OPT_IN)
        return ReplyDecision(
            ReplyOutcome.UNKNOWN_SENDER, None, [inbound], sms=Template.SIGNUP if joining else None
        )
    if keyword is Keyword.UNMATCHED:
        return ReplyDecision(ReplyOutcome.UNMATCHED, None, [inbound])
    return _decide_confirmation(existing, reply, inbound, now, policy)


def _decide_opt_out(
    existing: Subscriber | None, reply: Reply, inbound: ConsentEvent, now: datetime
) -> ReplyDecision:
    """OPTED_OUT at once, on the opt-out list, and one confirmation unless the platform's
    own keyword already answered. Nothing more for a number that had already opted out."""
    if existing is None or existing.status is Status.OPTED_OUT:
        outcome = ReplyOutcome.UNKNOWN_SENDER if existing is None else ReplyOutcome.IGNORED
        return ReplyDecision(outcome, None, [inbound], add_opt_out=True)
    opted_out = replace(
        existing,
        status=Status.OPTED_OUT,
        opted_out_at=now,
        resubscribe_requested_at=None,
        updated_at=now,
    )
    answered = is_exact_keyword(reply.body, PLATFORM_OPT_OUT_KEYWORDS)
    return ReplyDecision(
        ReplyOutcome.OPTED_OUT,
        opted_out,
        [inbound, _transition(EventType.OPTED_OUT, existing, opted_out, reply, now)],
        sms=None if answered else Template.STOP,
        add_opt_out=True,
    )


def _decide_help(existing: Subscriber | None, reply: Reply, inbound: ConsentEvent) -> ReplyDecision:
    """The help text for HELP in other words (the platform answers only its exact keyword);
    nothing for a number that opted out."""
    outcome = ReplyOutcome.UNKNOWN_SENDER if existing is None else ReplyOutcome.HELP
    opted_out = existing is not None and existing.status is Status.OPTED_OUT
    answered = is_exact_keyword(reply.body, PLATFORM_HELP_KEYWORDS)
    sms = None if opted_out or answered else Template.HELP
    return ReplyDecision(outcome, None, [inbound], sms=sms)


def _decide_confirmation(
    existing: Subscriber, reply: Reply, inbound: ConsentEvent, now: datetime, policy: Policy
) -> ReplyDecision:
    """A confirm keyword (or START/UNSTOP) from a known number."""
    if existing.status is Status.PENDING:
        started = existing.requested_at or existing.created_at
        if now - started <= policy.window:
            return _confirm(existing, reply, inbound, now, remove_opt_out=False)
        expired = replace(existing, status=Status.EXPIRED, expired_at=now, updated_at=now)
        return _expire(existing, expired, reply, inbound, now)
    if existing.status is Status.EXPIRED:
        return _expire(existing, existing, reply, inbound, now)
    if existing.status is Status.OPTED_OUT:
        requested = existing.resubscribe_requested_at
        if requested is not None and now - requested <= policy.window:
            return _confirm(existing, reply, inbound, now, remove_opt_out=True)
        if reply.keyword is Keyword.OPT_IN:
            if existing.confirmed_at is not None:
                # START / UNSTOP from a number that was subscribed: the person's own keyword
                # is their renewed consent, kept in the ledger with their words.
                return _confirm(existing, reply, inbound, now, remove_opt_out=True, by_keyword=True)
            # Never confirmed: the form's consent is still needed. START asks to hear from
            # us again, so the number leaves the opt-out list for where to sign up.
            return ReplyDecision(
                ReplyOutcome.IGNORED, None, [inbound], sms=Template.SIGNUP, remove_opt_out=True
            )
        # A confirm keyword without a request: nothing (it may be a late copy of the YES
        # that came before the opt-out; the platform delivers out of order).
    return ReplyDecision(ReplyOutcome.IGNORED, None, [inbound])


def _confirm(
    existing: Subscriber,
    reply: Reply,
    inbound: ConsentEvent,
    now: datetime,
    *,
    remove_opt_out: bool,
    by_keyword: bool = False,
) -> ReplyDecision:
    confirmed = replace(
        existing,
        status=Status.CONFIRMED,
        confirmed_at=now,
        opted_out_at=None,
        resubscribe_requested_at=None,
        updated_at=now,
    )
    event = _transition(EventType.CONFIRMED, existing, confirmed, reply, now)
    if by_keyword:  # the person's own text is the consent: kept beside the transition
        event = replace(event, details={**event.details, "consent": "keyword", "body": reply.body})
    return ReplyDecision(
        ReplyOutcome.CONFIRMED,
        confirmed,
        [inbound, event],
        sms=Template.WELCOME,
        remove_opt_out=remove_opt_out,
    )


def _expire(
    existing: Subscriber, expired: Subscriber, reply: Reply, inbound: ConsentEvent, now: datetime
) -> ReplyDecision:
    """Past the window: EXPIRED, and the "register again" notice at most once a day."""
    notice_due = expired.expired_notice_at is None or now - expired.expired_notice_at >= ONE_DAY
    events = [inbound]
    if existing.status is not Status.EXPIRED:
        events.append(_transition(EventType.EXPIRED, existing, expired, reply, now))
    if notice_due:
        expired = replace(expired, expired_notice_at=now, updated_at=now)
    changed = expired if expired != existing else None
    return ReplyDecision(
        ReplyOutcome.EXPIRED, changed, events, sms=Template.EXPIRED if notice_due else None
    )


def _transition(
    kind: EventType, before: Subscriber, after: Subscriber, reply: Reply, now: datetime
) -> ConsentEvent:
    return ConsentEvent(
        type=kind,
        at=now,
        source=EventSource.SMS,
        details={
            "fromStatus": before.status.value,
            "toStatus": after.status.value,
            "keyword": reply.keyword.value,
            "inboundMessageId": reply.message_id,
        },
    )


# Queued SMS ------------------------------------------------------------------------------


def confirmation_claim(subscriber: Subscriber) -> str:
    """Which claim a queued confirmation belongs to: the moment its registration reserved
    it. A newer registration makes a newer claim, and the older confirmation is superseded."""
    sent_at = subscriber.confirmation_sent_at
    return sent_at.isoformat(timespec="microseconds") if sent_at else ""


class SendBlocker(enum.StrEnum):
    """Why a queued SMS must not leave after all."""

    OPTED_OUT = "opted_out"  # the number opted out meanwhile
    SUPERSEDED = "superseded"  # a confirmation whose claim is gone (newer, released, answered)


def send_blocker(
    kind: str, claim: str, queued_at: datetime, subscriber: Subscriber | None
) -> SendBlocker | None:
    """Checked just before a queued SMS is sent: nothing goes to a number that opted out
    after the SMS was decided, except the opt-out confirmation itself (an SMS decided for
    a number already opted out, such as the sign-up answer to its START, still goes), and
    a confirmation goes only while its claim is the subscriber's current one, and a
    broadcast only to a subscriber still CONFIRMED."""
    if kind == BROADCAST_KIND and (subscriber is None or subscriber.status is not Status.CONFIRMED):
        return SendBlocker.OPTED_OUT
    if subscriber is not None and subscriber.status is Status.OPTED_OUT and kind != Template.STOP:
        opted_out_at = subscriber.opted_out_at
        if opted_out_at is None or opted_out_at > queued_at:
            return SendBlocker.OPTED_OUT
    if kind == Template.CONFIRMATION and (
        subscriber is None
        or subscriber.status is not Status.PENDING
        or confirmation_claim(subscriber) != claim
    ):
        return SendBlocker.SUPERSEDED
    return None


# What giving a confirmation's claim back does to the subscriber (None: nothing to give back).
ClaimChange = Callable[[Subscriber | None, str, datetime], Subscriber | None]


def drop_confirmation(
    subscriber: Subscriber | None, claim: str, now: datetime
) -> Subscriber | None:
    """A confirmation that waited too long in the queue (or that the platform refused): its
    claim is given back, the cool-down and the day's counts, so the person may register
    again at once. None when the claim is no longer the subscriber's (nothing to give back)."""
    released = release_cooldown(subscriber, claim, now)
    if released is None or subscriber is None or subscriber.confirmation_sent_at is None:
        return None
    claimed_day = _day(subscriber.confirmation_sent_at)

    def less(count: int, day: str) -> int:
        return max(0, count - 1) if day == claimed_day else count

    return replace(
        released,
        confirmations_that_day=less(
            subscriber.confirmations_that_day, subscriber.confirmations_day
        ),
        attempts_that_day=less(subscriber.attempts_that_day, subscriber.attempts_day),
    )


def release_cooldown(subscriber: Subscriber | None, claim: str, now: datetime) -> Subscriber | None:
    """A confirmation the carrier could not deliver, for good: the person may ask for
    another at once (the day's counts stay, it was sent). None when the claim is gone.

    The claim was the subscriber's latest attempt (a later one would have made a new
    claim), so the cool-down it started goes with it."""
    if subscriber is None or subscriber.status is not Status.PENDING:
        return None
    if confirmation_claim(subscriber) != claim:
        return None
    return replace(subscriber, confirmation_sent_at=None, last_attempt_at=None, updated_at=now)
