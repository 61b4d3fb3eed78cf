"""Use case: send one queued SMS, at the origination identity's pace, at most once.

The message's send record (keyed by the message's key) decides whether it is sent: it is
claimed with a lease just before SendTextMessage and settled with the ledger event just
after, so a redelivery, a duplicate enqueue or a second sender finds it claimed or
settled. A record left claimed after its lease (a sender stopped between sending and
recording) means "maybe sent": it is settled as unknown and never sent again; the
delivery receipt, which carries the key, tells the ledger what happened.

Nothing here sleeps for a throttle or a quota: the result says how long the message
should wait in the queue, and the handler puts it back. The only wait is for a slot a few
seconds away, which the sender reserved in the shared bucket.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from optin.domain.broadcasts import broadcast as broadcasts
from optin.domain.broadcasts import quiet_hours
from optin.domain.broadcasts.text import render
from optin.domain.errors import (
    Dependency,
    DependencyUnavailable,
    DestinationOptedOut,
    SendOutcomeUnknown,
    SendQuotaExceeded,
    SendRefused,
    SendThrottled,
)
from optin.domain.language.messages import Template
from optin.domain.model import ConsentEvent, EventSource, EventType, Subscriber
from optin.domain.ports import (
    MAX_ATTEMPTS,
    AlreadyProcessed,
    ConcurrentUpdate,
    Ports,
    SendConflict,
)
from optin.domain.sending import pacing
from optin.domain.sending.outbound import BROADCAST_KIND, OutboundMessage, SendRecord, SendState
from optin.domain.sending.parts import count_parts
from optin.domain.subscribers import lifecycle, limits
from optin.domain.subscribers.opt_out import mark_platform_opted_out

# A broadcast message reserves a slot only when the bucket is booked less than this far
# ahead: otherwise broadcasts would book the next minutes, and a confirmation queued then
# would wait behind all of them (slots are taken in order).
BROADCAST_LOOKAHEAD = timedelta(seconds=1)
# A slot at most this far away is waited for inside the function; a later one sends the
# message back to the queue until shortly before it (SQS counts delays in whole seconds).
WAIT_HORIZON = timedelta(seconds=5)
RETURN_EARLY = timedelta(seconds=1)
# How long a claim is its sender's: longer than a send takes, shorter than the queue's
# visibility timeout, so the message's next delivery finds the lease over.
SEND_LEASE = timedelta(seconds=60)
# Back on the queue after a throttle or a provider failure: doubling with each receive.
RETRY_DELAYS = (2, 4, 8, 16, 32, 60)
# A quota or the spend limit: much later (and the metric is alarmed).
QUOTA_DELAY = timedelta(minutes=5)
# Reservations that keep losing the race for the bucket, then DynamoDB is named.
MAX_BUCKET_ATTEMPTS = 20

_SENT_EVENTS = {
    Template.CONFIRMATION.value: EventType.CONFIRMATION_SENT,
    Template.WELCOME.value: EventType.WELCOME_SENT,
    Template.EXPIRED.value: EventType.EXPIRED_NOTICE_SENT,
    Template.STOP.value: EventType.OPT_OUT_CONFIRMATION_SENT,
    Template.SIGNUP.value: EventType.SIGNUP_SENT,
    Template.HELP.value: EventType.HELP_SENT,
    BROADCAST_KIND: EventType.BROADCAST_SENT,
}


class SendOutcome(enum.StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"  # its slot is further away: back on the queue until then
    THROTTLED = "throttled"  # ThrottlingException: back on the queue
    QUOTA_EXCEEDED = "quota_exceeded"  # a quota or the spend limit: back on the queue, later
    RETRY = "retry"  # the provider or the table failed: back on the queue
    IN_FLIGHT = "in_flight"  # another sender holds its claim: look again when the lease ends
    DUPLICATE = "duplicate"  # already settled (a redelivery or a second enqueue)
    SKIPPED_OPTED_OUT = "skipped_opted_out"  # the number opted out meanwhile
    SKIPPED_SUPERSEDED = "skipped_superseded"  # a confirmation whose claim is gone
    SKIPPED_ERASED = "skipped_erased"  # the number's data was erased after it was queued
    SKIPPED_FREQUENCY = "skipped_frequency"  # a broadcast: another one reached them lately
    SKIPPED_CANCELLED = "skipped_cancelled"  # a broadcast that was cancelled
    WAITING_QUIET_HOURS = "waiting_quiet_hours"  # a broadcast: back when their day starts
    DROPPED = "dropped"  # a confirmation that waited longer than the maximum delay
    BLOCKED = "blocked_opted_out"  # the platform's opt-out list refused it
    REFUSED = "refused"  # the platform refused it for good
    UNKNOWN = "unknown"  # maybe sent: settled without sending again


# What a skip comes to, by its reason (an opt-out otherwise: not CONFIRMED any more).
_SKIP_OUTCOMES = {
    lifecycle.SendBlocker.SUPERSEDED.value: SendOutcome.SKIPPED_SUPERSEDED,
    broadcasts.SkipReason.FREQUENCY.value: SendOutcome.SKIPPED_FREQUENCY,
    broadcasts.SkipReason.CANCELLED.value: SendOutcome.SKIPPED_CANCELLED,
}


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    message: OutboundMessage
    parts: int = 0
    message_id: str = ""
    retry_after: timedelta | None = None  # put back on the queue for this long; None: done
    reason: str = ""
    sent_not_recorded: bool = False  # the SMS left but its ledger event could not be written

    @property
    def done(self) -> bool:
        return self.retry_after is None


def retry_delay(receive_count: int) -> timedelta:
    """How long a throttled or failed message waits before its next try."""
    return timedelta(seconds=RETRY_DELAYS[min(max(receive_count, 1), len(RETRY_DELAYS)) - 1])


def send_queued(message: OutboundMessage, ports: Ports, *, receive_count: int = 1) -> SendResult:
    """Send ``message`` once, at the pace, unless it must not leave any more."""
    try:
        result = _decide(message, ports, receive_count)
    except SendConflict:  # another delivery of this key took or settled it meanwhile
        result = SendResult(SendOutcome.DUPLICATE, message)
    except ConcurrentUpdate as changed:  # a broadcast's subscriber changed as it was claimed
        result = SendResult(
            SendOutcome.RETRY, message, retry_after=retry_delay(receive_count), reason=str(changed)
        )
    if message.list_after and result.done:
        return _list_number(ports, result, receive_count)
    return result


def _list_number(ports: Ports, result: SendResult, receive_count: int) -> SendResult:
    """After an opt-out confirmation (whatever became of it), the number goes on the
    platform's opt-out list. PutOptedOutNumber is idempotent: when it fails, the message
    comes back, finds its send settled, and only lists the number."""
    try:
        ports.sender.add_opt_out(result.message.phone_number)
    except DependencyUnavailable as error:
        return replace(result, retry_after=retry_delay(receive_count), reason=str(error))
    return result


def _decide(message: OutboundMessage, ports: Ports, receive_count: int) -> SendResult:
    now = ports.clock()
    record = ports.store.send_record(message.key)
    if record is not None and record.state is SendState.ERASED:
        return SendResult(SendOutcome.SKIPPED_ERASED, message, reason="erased")
    if record is not None and record.state.settled:
        return SendResult(SendOutcome.DUPLICATE, message, record.parts, record.message_id)
    if record is not None and record.state is SendState.CLAIMED:
        if record.lease_until is not None and record.lease_until > now:
            wait = record.lease_until - now + timedelta(seconds=1)
            return SendResult(SendOutcome.IN_FLIGHT, message, retry_after=wait)
        return _maybe_sent(ports, message, record, "its sender stopped before recording")
    if message.kind == Template.CONFIRMATION and (
        now - message.queued_at > ports.rules.policy.confirmation_max_delay
    ):
        return _drop(ports, message, record, now)
    subscriber = ports.store.get(message.phone_number)
    if message.kind == BROADCAST_KIND:
        return _broadcast(ports, message, record, subscriber, now, receive_count)
    if subscriber is None and _erased_since(ports, message):
        # Nothing goes to, and nothing is written about, a number erased after this message
        # was decided: the record is settled without a ledger event.
        _write(ports, message, record, SendState.ERASED, now)
        return SendResult(SendOutcome.SKIPPED_ERASED, message, reason="erased")
    blocker = lifecycle.send_blocker(message.kind, message.claim, message.queued_at, subscriber)
    if blocker is not None:
        return _skip(ports, message, record, blocker, now)
    return _send_on_time(ports, message, record, count_parts(message.body).count, receive_count)


def _broadcast(
    ports: Ports,
    message: OutboundMessage,
    record: SendRecord | None,
    subscriber: Subscriber | None,
    now: datetime,
    receive_count: int,
) -> SendResult:
    """A broadcast's message: only to a subscriber CONFIRMED now, not reached by another
    broadcast lately, inside their quiet-hours window; the text with their names."""
    broadcast = ports.store.broadcast(message.claim)
    policy = ports.rules.policy
    reason = broadcasts.send_blocker(broadcast, subscriber, now, policy.broadcast_min_interval)
    if reason is not None or subscriber is None:
        skip = reason or broadcasts.SkipReason.NOT_CONFIRMED
        # No trace in a ledger the broadcast never reached: a cancelled broadcast, a
        # number with no profile (never known, or erased since).
        quiet = skip is broadcasts.SkipReason.CANCELLED or subscriber is None
        return _skip(ports, message, record, skip, now, recorded=not quiet)
    opens = quiet_hours.next_allowed_for(
        now, message.phone_number, subscriber.timezone, policy.quiet_hours
    )
    if opens > now:
        _write(
            ports, message, record, SendState.RESERVED, now, parts=record.parts if record else 0,
            waiting_until=opens,
        )  # fmt: skip
        return SendResult(
            SendOutcome.WAITING_QUIET_HOURS,
            message,
            retry_after=opens - now,
            reason=f"quiet hours until {opens.isoformat(timespec='minutes')}",
        )
    body = render(
        message.body,
        first_name=subscriber.first_name,
        last_name=subscriber.last_name,
        brand=ports.rules.texts.brand,
        name_characters=policy.broadcast_name_characters,
    )
    personal = replace(message, body=body)
    return _send_on_time(
        ports, personal, record, count_parts(body).count, receive_count, subscriber=subscriber
    )


def _send_on_time(
    ports: Ports,
    message: OutboundMessage,
    record: SendRecord | None,
    parts: int,
    receive_count: int,
    *,
    subscriber: Subscriber | None = None,
) -> SendResult:
    """Wait for a slot (reserved earlier, or now), claim the record, send. A broadcast's
    claim notes the broadcast on its ``subscriber`` in the same write (the frequency
    limit), conditional on the subscriber's version."""
    rate = ports.rules.policy.send_rate
    now = ports.clock()
    slot = record.slot if record is not None else None
    if slot is None or now > slot + pacing.LATENESS:
        if message.broadcast:
            ahead = pacing.moment(ports.bucket.load().next_start) - now
            if ahead > BROADCAST_LOOKAHEAD:  # leave the slots nearer than that to others
                wait = max(ahead - BROADCAST_LOOKAHEAD, timedelta(seconds=1))
                return SendResult(SendOutcome.DEFERRED, message, parts, retry_after=wait)
        slot = reserve_slot(ports, parts, rate)
    for _ in range(MAX_ATTEMPTS):
        if slot - now > WAIT_HORIZON:
            record = _write(ports, message, record, SendState.RESERVED, now, slot=slot, parts=parts)
            wait = max(slot - now - RETURN_EARLY, timedelta(seconds=1))
            return SendResult(SendOutcome.DEFERRED, message, parts, retry_after=wait)
        if record is None or record.state is not SendState.CLAIMED:
            record = _write(
                ports,
                message,
                record,
                SendState.CLAIMED,
                now,
                slot=slot,
                lease_until=slot + SEND_LEASE,
                parts=parts,
                subscriber=(
                    broadcasts.sending(subscriber, message.claim, slot) if subscriber else None
                ),
            )
        seconds = (slot - ports.clock()).total_seconds()
        if seconds > 0:
            ports.sleep(seconds)
        # Read again after the wait: an opt-out that came meanwhile still stops it.
        blocker = lifecycle.send_blocker(
            message.kind, message.claim, message.queued_at, ports.store.get(message.phone_number)
        )
        now = ports.clock()
        if blocker is not None:
            return _skip(ports, message, record, blocker, now)
        if now <= slot + pacing.LATENESS:  # the last check: nothing but the send after it
            return _send(ports, message, record, parts, receive_count)
        # Too late for this slot (a slow call, a busy machine): sending now could crowd
        # the next window. The slot stays counted; take the next one.
        slot = reserve_slot(ports, parts, rate)
    record = _write(ports, message, record, SendState.RESERVED, now, slot=None, parts=parts)
    return SendResult(SendOutcome.DEFERRED, message, parts, retry_after=retry_delay(receive_count))


def reserve_slot(ports: Ports, parts: int, rate: int) -> datetime:
    """The next slot of the shared bucket, by a conditional write; a lost race reads again."""
    for _ in range(MAX_BUCKET_ATTEMPTS):
        reservation = pacing.reserve(ports.bucket.load(), ports.clock(), parts, rate)
        if ports.bucket.store(reservation.bucket):
            return reservation.slot
    raise DependencyUnavailable(Dependency.TABLE, "the rate bucket kept changing")


def _send(
    ports: Ports, message: OutboundMessage, claimed: SendRecord, parts: int, receive_count: int
) -> SendResult:
    try:
        message_id = ports.sender.send(
            message.phone_number, message.body, kind=message.kind, key=message.key
        )
    except DependencyUnavailable as error:  # throttled, over a quota, or failing
        _release(ports, message, claimed)
        return _back_later(message, parts, error, receive_count)
    except DestinationOptedOut:
        via = "registration" if message.kind == Template.CONFIRMATION else "reply"
        mark_platform_opted_out(ports, message.phone_number, via=via)
        _settle(ports, message, claimed, SendState.BLOCKED, [])
        return SendResult(SendOutcome.BLOCKED, message, parts)
    except SendRefused as error:
        return _refused(ports, message, claimed, parts, str(error))
    except SendOutcomeUnknown as error:
        return _maybe_sent(ports, message, claimed, str(error))
    sent = ConsentEvent(
        type=_SENT_EVENTS.get(message.kind, EventType.SMS_SENT),
        at=ports.clock(),
        source=_source(message),
        details={**_about(message), "messageId": message_id, "parts": parts},
    )
    try:
        _settle(ports, message, claimed, SendState.SENT, [sent], message_id=message_id)
    except SendConflict:
        return _settled_by_its_receipt(ports, message, parts, message_id, sent)
    except DependencyUnavailable:
        # The SMS is out: never put it back. The record stays claimed, and the delivery
        # receipt (it carries the key) settles it later.
        return SendResult(SendOutcome.SENT, message, parts, message_id, sent_not_recorded=True)
    return SendResult(SendOutcome.SENT, message, parts, message_id)


def _back_later(
    message: OutboundMessage, parts: int, error: DependencyUnavailable, receive_count: int
) -> SendResult:
    """A send that did not leave goes back on the queue: a quota or the spend limit for
    longer, a throttle or a failure by the growing delay of its receive count."""
    if isinstance(error, SendQuotaExceeded):
        return SendResult(
            SendOutcome.QUOTA_EXCEEDED,
            message,
            parts,
            retry_after=QUOTA_DELAY,
            reason=error.reason or str(error),
        )
    outcome = SendOutcome.THROTTLED if isinstance(error, SendThrottled) else SendOutcome.RETRY
    delay = retry_delay(receive_count)
    return SendResult(outcome, message, parts, retry_after=delay, reason=str(error))


def _settled_by_its_receipt(
    ports: Ports, message: OutboundMessage, parts: int, message_id: str, sent: ConsentEvent
) -> SendResult:
    """The record changed between the claim and its settlement: its delivery receipt came
    first and settled it as sent (receipts can be that fast). The ledger still gets the
    sent event, once."""
    result = SendResult(SendOutcome.SENT, message, parts, message_id)
    try:
        record = ports.store.send_record(message.key)
        if record is None or record.message_id != message_id:
            return replace(result, sent_not_recorded=True)
        ports.store.append(message.phone_number, [sent], event_id=f"sent|{message.key}")
    except AlreadyProcessed:
        return result
    except DependencyUnavailable:
        return replace(result, sent_not_recorded=True)
    return result


def _refused(
    ports: Ports, message: OutboundMessage, claimed: SendRecord, parts: int, reason: str
) -> SendResult:
    """Refused for good: recorded; a confirmation's claim is given back."""
    failed = ConsentEvent(
        type=EventType.SMS_FAILED,
        at=ports.clock(),
        source=_source(message),
        details={**_about(message), "template": message.kind, "reason": reason[:200]},
    )
    _settle_with_subscriber(
        ports, message, claimed, SendState.FAILED, [failed], lifecycle.drop_confirmation
    )
    return SendResult(SendOutcome.REFUSED, message, parts, reason=reason)


def _maybe_sent(
    ports: Ports, message: OutboundMessage, record: SendRecord, reason: str
) -> SendResult:
    """At most once: a send that may have left is never repeated."""
    unknown = ConsentEvent(
        type=EventType.SMS_OUTCOME_UNKNOWN,
        at=ports.clock(),
        source=_source(message),
        details={**_about(message), "reason": reason[:200]},
    )
    _settle(ports, message, record, SendState.UNKNOWN, [unknown])
    return SendResult(SendOutcome.UNKNOWN, message, record.parts, reason=reason)


def _drop(
    ports: Ports, message: OutboundMessage, record: SendRecord | None, now: datetime
) -> SendResult:
    waited = int((now - message.queued_at).total_seconds())
    dropped = ConsentEvent(
        type=EventType.CONFIRMATION_DROPPED,
        at=now,
        source=_source(message),
        details={**_about(message), "queuedAt": message.queued_at.isoformat(), "waited": waited},
    )
    _settle_with_subscriber(
        ports, message, record, SendState.DROPPED, [dropped], lifecycle.drop_confirmation
    )
    # Never sent: the units it took of the limits across numbers go back too.
    limits.give_back_confirmation(ports.store, message.phone_number, message.queued_at)
    return SendResult(SendOutcome.DROPPED, message, reason=f"waited {waited} s")


def _skip(
    ports: Ports,
    message: OutboundMessage,
    record: SendRecord | None,
    reason: lifecycle.SendBlocker | broadcasts.SkipReason,
    now: datetime,
    *,
    recorded: bool = True,
) -> SendResult:
    """Settle the record without sending, with an SMS_SKIPPED event unless not
    ``recorded`` (nothing goes in a ledger the message never concerned)."""
    skipped = ConsentEvent(
        type=EventType.SMS_SKIPPED,
        at=now,
        source=_source(message),
        details={**_about(message), "reason": reason.value},
    )
    events = [skipped] if recorded else []
    _write(ports, message, record, SendState.SKIPPED, now, events=events, reason=reason.value)
    outcome = _SKIP_OUTCOMES.get(reason.value, SendOutcome.SKIPPED_OPTED_OUT)
    return SendResult(outcome, message, reason=reason.value)


# Writes of the send record ---------------------------------------------------------------


def _write(
    ports: Ports,
    message: OutboundMessage,
    record: SendRecord | None,
    state: SendState,
    now: datetime,
    *,
    slot: datetime | None = None,
    lease_until: datetime | None = None,
    parts: int = 0,
    message_id: str = "",
    events: list[ConsentEvent] | None = None,
    subscriber: Subscriber | None = None,
    waiting_until: datetime | None = None,
    reason: str = "",
) -> SendRecord:
    """The record in its next state, written only if nobody changed it since ``record``
    was read (or, with no record, if there still is none), with what the change does to
    its broadcast's counters. Raises SendConflict."""
    base = record or SendRecord(
        key=message.key,
        phone_number=message.phone_number,
        kind=message.kind,
        state=state,
        updated_at=now,
        claim=message.claim,
    )
    updated = replace(
        base,
        state=state,
        updated_at=now,
        slot=slot,
        lease_until=lease_until,
        parts=parts or base.parts,
        message_id=message_id or base.message_id,
        waiting_until=waiting_until,
        reason=reason or base.reason,
    )
    tally = broadcasts.tally_change(record, updated) if message.kind == BROADCAST_KIND else None
    return ports.store.save_send(
        updated,
        expected_version=record.version if record is not None else None,
        events=events or [],
        subscriber=subscriber,
        tally=tally or None,
    )


def _settle(
    ports: Ports,
    message: OutboundMessage,
    record: SendRecord,
    state: SendState,
    events: list[ConsentEvent],
    *,
    message_id: str = "",
) -> None:
    _write(ports, message, record, state, ports.clock(), message_id=message_id, events=events)


def _release(ports: Ports, message: OutboundMessage, claimed: SendRecord) -> None:
    """Give the claim back after a send that did not leave, so the next delivery sends."""
    _write(ports, message, claimed, SendState.RESERVED, ports.clock())


def _settle_with_subscriber(
    ports: Ports,
    message: OutboundMessage,
    record: SendRecord | None,
    state: SendState,
    events: list[ConsentEvent],
    change: lifecycle.ClaimChange,
) -> None:
    """Settle the record with its events and, for a confirmation, give its claim back in
    the same transaction; a subscriber that changed meanwhile is read again."""
    for _ in range(MAX_ATTEMPTS):
        now = ports.clock()
        subscriber = None
        if message.kind == Template.CONFIRMATION:
            subscriber = change(ports.store.get(message.phone_number), message.claim, now)
        try:
            _write(ports, message, record, state, now, events=events, subscriber=subscriber)
        except ConcurrentUpdate:
            continue
        return
    raise ConcurrentUpdate(f"subscriber kept changing while settling {message.key}")


def _erased_since(ports: Ports, message: OutboundMessage) -> bool:
    erased = ports.store.erased_number(message.phone_number)
    return erased is not None and erased.erased_at >= message.queued_at


def _source(message: OutboundMessage) -> EventSource:
    return EventSource.REGISTRATION if message.kind == Template.CONFIRMATION else EventSource.SMS


def _about(message: OutboundMessage) -> dict[str, str]:
    """What a ledger event says about the queued message: never its body."""
    about = {"messageKey": message.key, "kind": message.kind}
    if message.kind == BROADCAST_KIND:
        about["broadcastId"] = message.claim
    if message.correlation_id:
        about["correlationId"] = message.correlation_id
    if message.inbound_message_id:
        about["inboundMessageId"] = message.inbound_message_id
    return about
