"""Use case: apply one inbound reply exactly once, then send the SMS it calls for and put
the number on the opt-out list when it opted out.

Decisions come from ``lifecycle``; the inbound marker makes a redelivery a no-op and
remembers the work still owed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from optin.domain import lifecycle
from optin.domain.errors import DependencyUnavailable, DestinationOptedOut
from optin.domain.lifecycle import Reply, ReplyOutcome
from optin.domain.messages import Template
from optin.domain.model import ConsentEvent, EventType
from optin.domain.opt_out import mark_platform_opted_out
from optin.domain.ports import (
    MAX_ATTEMPTS,
    AlreadyProcessed,
    ConcurrentUpdate,
    InboundMarker,
    Ports,
)


@dataclass(frozen=True)
class ReplyResult:
    outcome: ReplyOutcome | None  # None: a redelivery, already processed
    message_id: str = ""
    sms_message_id: str = ""
    registration_correlation_id: str = ""
    sent_not_recorded: bool = False  # the SMS went out but its ledger event could not be written


# How long one invocation owns the work an inbound message owes while it does it. A
# redelivery arriving meanwhile leaves it alone; one arriving after a crash sends it.
SEND_LEASE = timedelta(minutes=2)


def receive_reply(reply: Reply, ports: Ports) -> ReplyResult:
    """Apply one inbound message exactly once, then do the work it calls for.

    The decision, its ledger events and the inbound marker are written in one transaction;
    the marker remembers the work still owed (an SMS, putting the number on the opt-out
    list) and who is doing it, so a redelivery after a failure finishes it, and a
    redelivery during it does not do it twice.
    Raises DependencyUnavailable when the provider fails: the caller lets the platform retry.
    """
    marker = ports.store.inbound_marker(reply.message_id)
    if marker is not None:
        now = ports.clock()
        if marker.owes_work and ports.store.claim_owed_sms(
            marker.message_id, now, now + SEND_LEASE
        ):
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
            remove_opt_out=decision.remove_opt_out,
            add_opt_out=decision.add_opt_out,
        )
        if marker.owes_work:
            marker = replace(marker, claimed_until=now + SEND_LEASE)
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
        sms_id, recorded = _deliver_owed(ports, marker) if marker.owes_work else ("", True)
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
    Template.STOP: EventType.OPT_OUT_CONFIRMATION_SENT,
    Template.SIGNUP: EventType.SIGNUP_SENT,
    Template.HELP: EventType.HELP_SENT,
}


def _deliver_owed(ports: Ports, marker: InboundMarker) -> tuple[str, bool]:
    """Do the work the marker owes (its claim is ours): the SMS, then the opt-out list,
    in that order because the platform refuses to text a listed number. Returns the SMS
    message id ("" when none left) and whether it was recorded. Once the SMS is out,
    nothing raises before it is recorded: a retry would send it again."""
    e164, template = marker.phone_number, marker.owed_sms
    try:
        if template in lifecycle.DAILY_ANSWERS and not ports.store.claim_daily_answer(
            e164, template, marker.message_id, ports.clock()
        ):
            template = None  # this number had that answer in the past day: nothing to add
    except DependencyUnavailable:
        ports.store.release_owed_sms(marker.message_id)
        raise
    message_id, events = "", []
    if template is not None:
        if marker.remove_opt_out:
            ports.sender.remove_opt_out(e164)
        body = ports.rules.texts.render(template)
        try:
            message_id = ports.sender.send(
                e164, body, kind=template, correlation_id=marker.message_id
            )
        except DependencyUnavailable:
            ports.store.release_owed_sms(marker.message_id)
            raise
        except DestinationOptedOut:
            # On the platform's opt-out list: never overruled. For an opt-out confirmation,
            # the platform got there first (and answered); the list needs nothing more.
            mark_platform_opted_out(ports, e164, via="reply")
            ports.store.settle_inbound(marker.message_id, e164, [])
            return "", True
        events.append(
            ConsentEvent(
                type=_SENT_EVENTS[template],
                at=ports.clock(),
                source="sms",
                details={"messageId": message_id, "inboundMessageId": marker.message_id},
            )
        )
    if marker.add_opt_out:
        try:
            ports.sender.add_opt_out(e164)
        except DependencyUnavailable as unlisted:
            # Record what was sent and keep the list owed: the retry lists, never re-sends.
            try:
                ports.store.settle_inbound(marker.message_id, e164, events, opt_out_owed=True)
            except DependencyUnavailable:
                if message_id:
                    return message_id, False  # a retry could send it twice: alarm instead
            raise unlisted
    try:
        ports.store.settle_inbound(marker.message_id, e164, events)
    except DependencyUnavailable:
        return message_id, False
    return message_id, True
