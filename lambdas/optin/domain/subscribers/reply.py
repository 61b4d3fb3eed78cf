"""Use case: apply one inbound reply exactly once, then queue the SMS it calls for and put
the number on the opt-out list when it opted out.

Decisions come from ``lifecycle``; the inbound marker makes a redelivery a no-op and
remembers the work still owed. The SMS is put on the send queue, never sent from here: a
redelivery queues it again under the same key, and the sender sends a key once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from optin.domain.errors import DependencyUnavailable
from optin.domain.language.messages import Template
from optin.domain.ports import (
    MAX_ATTEMPTS,
    AlreadyProcessed,
    ConcurrentUpdate,
    InboundMarker,
    Ports,
)
from optin.domain.sending.outbound import OutboundMessage
from optin.domain.subscribers import lifecycle
from optin.domain.subscribers.lifecycle import Reply, ReplyOutcome


@dataclass(frozen=True)
class ReplyResult:
    outcome: ReplyOutcome | None  # None: a redelivery, already processed
    message_id: str = ""
    queued_key: str = ""  # the key of the SMS queued for this reply, if any
    registration_correlation_id: str = ""


# How long one invocation owns the work an inbound message owes while it does it. A
# redelivery arriving meanwhile leaves it alone; one arriving after a crash sends it.
SEND_LEASE = timedelta(minutes=2)


def receive_reply(reply: Reply, ports: Ports) -> ReplyResult:
    """Apply one inbound message exactly once, then do the work it calls for.

    The decision, its ledger events and the inbound marker are written in one transaction;
    the marker remembers the work still owed (an SMS to queue, putting the number on the
    opt-out list) and who is doing it, so a redelivery after a failure finishes it.
    Raises DependencyUnavailable when the queue or the provider fails: the caller lets the
    platform retry.
    """
    marker = ports.store.inbound_marker(reply.message_id)
    if marker is not None:
        now = ports.clock()
        if marker.owes_work and ports.store.claim_owed_sms(
            marker.message_id, now, now + SEND_LEASE
        ):
            return ReplyResult(None, reply.message_id, _do_owed(ports, marker))
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
        return ReplyResult(
            decision.outcome,
            reply.message_id,
            _do_owed(ports, marker) if marker.owes_work else "",
            existing.correlation_id if existing else "",
        )
    raise ConcurrentUpdate(f"inbound message {reply.message_id} kept conflicting")


def _do_owed(ports: Ports, marker: InboundMarker) -> str:
    """Do the work the marker owes (its claim is ours), then settle it; returns the key of
    the SMS queued ("" when none).

    The opt-out list and the SMS must come in the right order, because the platform refuses
    to text a listed number: a number coming back is taken off the list before its SMS is
    queued; a number opting out is listed by the sender right after its opt-out
    confirmation leaves (the message says so), or here at once when no confirmation is
    owed. On a failure the claim is given back and the error raised: the retry does it all
    again, and the queue's second copy of the SMS is the same key, sent once."""
    e164, template = marker.phone_number, marker.owed_sms
    try:
        if template in lifecycle.DAILY_ANSWERS and not ports.store.claim_daily_answer(
            e164, template, marker.message_id, ports.clock()
        ):
            template = None  # this number had that answer in the past day: nothing to add
        key = ""
        if template is not None:
            if marker.remove_opt_out:
                ports.sender.remove_opt_out(e164)
            message = OutboundMessage.decided(
                template,
                e164,
                ports.rules.texts.render(template),
                marker.received_at,
                claim=marker.message_id,
                inbound_message_id=marker.message_id,
                list_after=marker.add_opt_out and template is Template.STOP,
            )
            ports.queue.enqueue(message)
            key = message.key
        if marker.add_opt_out and template is not Template.STOP:
            ports.sender.add_opt_out(e164)
        ports.store.settle_inbound(marker.message_id, e164, [])
    except DependencyUnavailable:
        ports.store.release_owed_sms(marker.message_id)
        raise
    return key
