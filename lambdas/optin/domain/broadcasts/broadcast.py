"""Broadcasts: one text to the confirmed subscribers of a segment, through the send queue.

An operator creates a broadcast (its text checked by ``broadcast_text``); a chain of *plan
steps* on the broadcast queue then pages through the confirmed subscribers, one page per
step: each step enqueues the page's messages (keyed by broadcast and number, so a step
that runs twice enqueues the same keys) and records the page done with a write
conditional on the broadcast's version, then hands the next page's cursor on to the next
step. Nothing holds the audience: a step holds one page, and a million subscribers are
five thousand steps, each its own short delivery.

Whether a message leaves is decided by the sender just before it would (``send``): the
subscriber must be CONFIRMED then, not have had another broadcast within the minimum
interval, and be inside their quiet-hours window; otherwise it is skipped (counted) or
waits in the queue (counted as waiting) until the window opens.

The broadcast's counters are kept by the writes that settle its messages' send records,
in the same transaction (``tally_change``), so a redelivery never counts twice.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from optin.domain.broadcasts.model import (
    Broadcast,
    BroadcastPolicy,
    Segment,
    SkipReason,
    Tally,
)
from optin.domain.broadcasts.text import BroadcastTextError, check, preview
from optin.domain.model import Dimension, Status, Subscriber
from optin.domain.ports import (
    MAX_ATTEMPTS,
    BroadcastStore,
    ConcurrentUpdate,
    OperatorStore,
    Ports,
    Store,
)
from optin.domain.sending.outbound import OutboundMessage, PlanStep, SendRecord, SendState

# Subscribers one plan step reads (and messages it enqueues) at most.
PAGE_SIZE = 200
# A plan step that finds no broadcast yet (its creation is being written) looks again.
CREATION_GRACE = timedelta(minutes=5)
RETRY_STEP = timedelta(seconds=5)
# How far ahead a broadcast may be scheduled.
MAX_SCHEDULE = timedelta(days=30)


_SKIP_TALLY = {
    SkipReason.FREQUENCY.value: Tally.SKIPPED_FREQUENCY,
    SkipReason.CANCELLED.value: Tally.CANCELLED,
}
_SETTLED_TALLY = {
    SendState.SENT: Tally.SENT,
    SendState.FAILED: Tally.REFUSED,
    SendState.UNKNOWN: Tally.UNKNOWN,
    SendState.BLOCKED: Tally.SKIPPED_OPTED_OUT,
    SendState.ERASED: Tally.SKIPPED_OPTED_OUT,
    SendState.DROPPED: Tally.CANCELLED,
}


# What the sender checks ------------------------------------------------------------------


def send_blocker(
    broadcast: Broadcast | None,
    subscriber: Subscriber | None,
    now: datetime,
    min_interval: timedelta,
) -> SkipReason | None:
    """Why this broadcast's message must not leave for ``subscriber`` now, if it must not."""
    if broadcast is None or broadcast.cancelled_at is not None:
        return SkipReason.CANCELLED
    if subscriber is None or subscriber.status is not Status.CONFIRMED:
        return SkipReason.NOT_CONFIRMED
    last = subscriber.last_broadcast_at
    if (
        last is not None
        and subscriber.last_broadcast_id != broadcast.broadcast_id
        and now - last < min_interval
    ):
        return SkipReason.FREQUENCY
    return None


def sending(subscriber: Subscriber, broadcast_id: str, at: datetime) -> Subscriber:
    """The subscriber as the claim of a broadcast message leaves it: this broadcast is their
    latest (the frequency limit counts from it). Its ``updated_at`` stays: the listing the
    planner pages through is ordered by it."""
    return replace(subscriber, last_broadcast_at=at, last_broadcast_id=broadcast_id)


def tally_change(before: SendRecord | None, after: SendRecord) -> dict[str, int]:
    """What a send record's change does to its broadcast's counters."""
    changes: dict[str, int] = {}
    was_waiting = before is not None and not before.state.settled and before.waiting_until
    is_waiting = not after.state.settled and after.waiting_until
    if bool(was_waiting) != bool(is_waiting):
        changes[Tally.WAITING_QUIET_HOURS.value] = 1 if is_waiting else -1
    if after.state.settled and not (before is not None and before.state.settled):
        if after.state is SendState.SKIPPED:
            tally = _SKIP_TALLY.get(after.reason, Tally.SKIPPED_OPTED_OUT)
        else:
            tally = _SETTLED_TALLY.get(after.state, Tally.REFUSED)
        changes[tally.value] = changes.get(tally.value, 0) + 1
    return changes


def receipt_tally(delivered: bool, is_final: bool) -> dict[str, int]:
    if delivered:
        return {Tally.DELIVERED.value: 1}
    return {Tally.FAILED.value: 1} if is_final else {}


# The operator's use cases ----------------------------------------------------------------


class BroadcastRequestError(BroadcastTextError):
    """A request the operator API refuses (400) for more than its text, with its code."""


@dataclass(frozen=True)
class Draft:
    """A checked request: what would be created."""

    broadcast: Broadcast
    recipients: int
    exact: bool  # False: an upper bound (the counters cannot combine every criterion)
    preview: str


def draft(
    store: OperatorStore,
    *,
    text: Any,
    segment: Segment,
    send_at: datetime | None,
    now: datetime,
    policy: BroadcastPolicy,
    created_by: str,
) -> Draft:
    """Check a request and estimate its audience; raises BroadcastTextError or
    BroadcastRequestError (400)."""
    checked = check(
        text,
        brand=policy.brand,
        max_parts=policy.max_parts,
        name_characters=policy.name_characters,
    )
    when = send_at or now
    if when > now + MAX_SCHEDULE:
        raise BroadcastRequestError("INVALID_FIELD", "sendAt is at most 30 days ahead.")
    broadcast = Broadcast(
        broadcast_id=f"b-{uuid.uuid4().hex[:24]}",
        template=checked.template,
        parts=checked.parts,
        encoding=checked.encoding.value,
        segment=segment,
        created_at=now,
        send_at=max(when, now),
        created_by=created_by,
    )
    recipients, exact = estimate(store, segment)
    return Draft(broadcast, recipients, exact, preview(checked.template, policy.brand))


def estimate(store: OperatorStore, segment: Segment) -> tuple[int, bool]:
    """CONFIRMED subscribers of the segment from the segment counters: exact for one of
    source or country and no dates, else the smallest count that bounds it."""
    bounds: list[int] = []
    if segment.source is not None:
        bounds.append(_confirmed(store, Dimension.SOURCE, segment.source))
    if segment.country is not None:
        bounds.append(_confirmed(store, Dimension.COUNTRY, segment.country))
    if not bounds:
        bounds.append(_confirmed(store, Dimension.STATUS, Status.CONFIRMED.value))
    dates = segment.confirmed_after is not None or segment.confirmed_before is not None
    return min(bounds), len(bounds) == 1 and not dates


def _confirmed(store: OperatorStore, dimension: Dimension, value: str) -> int:
    counts = store.segment_counts(dimension).get(value, {})
    return int(counts.get(Status.CONFIRMED.value, 0))


def create(ports: Ports, store: BroadcastStore, made: Draft) -> Broadcast:
    """Enqueue the first plan step, then store the broadcast (a step that finds no broadcast
    yet looks again a little later), so a failure leaves nothing half made."""
    broadcast = made.broadcast
    ports.queue.enqueue_step(PlanStep(broadcast.broadcast_id, 0, None, made.broadcast.created_at))
    return store.create_broadcast(broadcast)


def cancel(store: BroadcastStore, broadcast_id: str, now: datetime) -> Broadcast | None:
    """Cancel what has not left (the sender skips it); None for an unknown broadcast."""
    for _ in range(MAX_ATTEMPTS):
        broadcast = store.broadcast(broadcast_id)
        if broadcast is None or broadcast.cancelled_at is not None:
            return broadcast
        if broadcast.planned and broadcast.queued == 0:
            return broadcast  # DONE: nothing left to cancel
        try:
            return store.save_broadcast(
                replace(broadcast, cancelled_at=now), expected_version=broadcast.version
            )
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(f"broadcast {broadcast_id} kept changing")


def document(broadcast: Broadcast, now: datetime) -> dict[str, Any]:
    """What ``GET /admin/broadcasts/{id}`` answers."""
    return {
        "broadcastId": broadcast.broadcast_id,
        "status": broadcast.status(now).value,
        "recipients": broadcast.count(Tally.RECIPIENTS),
        "queued": broadcast.queued,
        "sent": broadcast.count(Tally.SENT),
        "delivered": broadcast.count(Tally.DELIVERED),
        "failed": broadcast.count(Tally.FAILED) + broadcast.count(Tally.REFUSED),
        "skippedOptedOut": broadcast.count(Tally.SKIPPED_OPTED_OUT),
        "skippedFrequency": broadcast.count(Tally.SKIPPED_FREQUENCY),
        "waitingQuietHours": broadcast.count(Tally.WAITING_QUIET_HOURS),
        "cancelled": broadcast.count(Tally.CANCELLED),
        "outcomeUnknown": broadcast.count(Tally.UNKNOWN),
        "planned": broadcast.planned,
        "parts": broadcast.parts,
        "encoding": broadcast.encoding,
        "sendAt": _iso(broadcast.send_at),
        "createdAt": _iso(broadcast.created_at),
        "cancelledAt": _iso(broadcast.cancelled_at),
    }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# The planner -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanResult:
    planned: int = 0  # messages this step enqueued
    retry_after: timedelta | None = None  # back on the queue for this long; None: done
    note: str = ""

    @property
    def done(self) -> bool:
        return self.retry_after is None


def message_for(broadcast: Broadcast, subscriber: Subscriber, now: datetime) -> OutboundMessage:
    """One recipient's message: the text with its placeholders (rendered by the sender with
    the names it reads then, so no name waits in the queue), keyed by broadcast and number."""
    return OutboundMessage.for_broadcast(
        broadcast.broadcast_id, subscriber.phone_number, broadcast.template, now
    )


def plan_step(
    step: PlanStep, ports: Ports, store: Store, *, page_size: int = PAGE_SIZE
) -> PlanResult:
    """Plan one page of a broadcast's recipients, at most once, and hand the next page on
    (``store`` is the ports' store, as the operator reads it: it lists subscribers)."""
    now = ports.clock()
    broadcast = store.broadcast(step.broadcast_id)
    if broadcast is None:
        if now - step.queued_at < CREATION_GRACE:
            return PlanResult(retry_after=RETRY_STEP, note="not stored yet")
        return PlanResult(note="no such broadcast")
    if broadcast.cancelled_at is not None:
        return PlanResult(note="cancelled")
    if now < broadcast.send_at:
        return PlanResult(retry_after=broadcast.send_at - now, note="scheduled")
    if broadcast.pages_planned > step.page:
        _hand_on(ports, broadcast, step.page)
        return PlanResult(note="page already planned")
    if broadcast.pages_planned < step.page:
        return PlanResult(note="a step of a later page than planned: not ours")
    page = store.list_subscribers(broadcast.segment.listing, limit=page_size, cursor=step.cursor)
    messages = [
        message_for(broadcast, subscriber, now)
        for subscriber in page.items
        if broadcast.segment.matches(subscriber)
    ]
    ports.queue.enqueue_many(messages)
    updated = replace(
        broadcast,
        pages_planned=step.page + 1,
        plan_cursor=page.cursor,
        planned=page.cursor is None,
    )
    try:
        updated = store.save_broadcast(
            updated,
            expected_version=broadcast.version,
            add={Tally.RECIPIENTS.value: len(messages)},
        )
    except ConcurrentUpdate:  # cancelled, or another delivery of this step recorded it
        return PlanResult(retry_after=RETRY_STEP, note="changed meanwhile")
    _hand_on(ports, updated, step.page)
    return PlanResult(planned=len(messages))


def _hand_on(ports: Ports, broadcast: Broadcast, page: int) -> None:
    """Enqueue the step after ``page`` unless that was done (or there is none), then note
    it, so a redelivered step does not start a second chain."""
    if broadcast.planned or broadcast.handed_on > page or broadcast.pages_planned != page + 1:
        return
    ports.queue.enqueue_step(
        PlanStep(broadcast.broadcast_id, page + 1, broadcast.plan_cursor, ports.clock())
    )
    # On a conflict, a second step of this page may come: it finds the page planned.
    with contextlib.suppress(ConcurrentUpdate):
        ports.store.save_broadcast(
            replace(broadcast, handed_on=page + 1), expected_version=broadcast.version
        )
