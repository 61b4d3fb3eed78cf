"""A broadcast as it is stored: its segment, its counters, its state."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from optin.domain.model import Status, Subscriber, SubscriberFilter
from optin.domain.rules import Rules


class BroadcastStatus(enum.StrEnum):
    SCHEDULED = "SCHEDULED"
    SENDING = "SENDING"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class Tally(enum.StrEnum):
    """The counters of a broadcast, as stored and as the API names them."""

    RECIPIENTS = "recipients"  # confirmed subscribers of the segment the planner queued
    SENT = "sent"
    DELIVERED = "delivered"  # delivery receipts
    FAILED = "failed"  # delivery receipts that failed
    REFUSED = "refused"  # the platform refused the send for good
    UNKNOWN = "unknown"  # maybe sent (a sender stopped between sending and recording)
    SKIPPED_OPTED_OUT = "skippedOptedOut"  # not CONFIRMED any more, erased, opt-out list
    SKIPPED_FREQUENCY = "skippedFrequency"
    CANCELLED = "cancelled"  # skipped because the broadcast was cancelled
    WAITING_QUIET_HOURS = "waitingQuietHours"  # waiting now for the window to open


# Settled without leaving: what each skip reason counts as.
class SkipReason(enum.StrEnum):
    NOT_CONFIRMED = "not_confirmed"
    FREQUENCY = "frequency"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Segment:
    """Who a broadcast is for, among the CONFIRMED subscribers."""

    source: str | None = None
    country: str | None = None
    confirmed_after: datetime | None = None
    confirmed_before: datetime | None = None

    def matches(self, subscriber: Subscriber) -> bool:
        if subscriber.status is not Status.CONFIRMED:
            return False
        if self.source is not None and subscriber.source != self.source:
            return False
        if self.country is not None and subscriber.country != self.country:
            return False
        confirmed = subscriber.confirmed_at
        if self.confirmed_after is None and self.confirmed_before is None:
            return True
        if confirmed is None:
            return False
        after, before = self.confirmed_after, self.confirmed_before
        return (after is None or confirmed >= after) and (before is None or confirmed < before)

    @property
    def listing(self) -> SubscriberFilter:
        return SubscriberFilter(status=Status.CONFIRMED, source=self.source, country=self.country)


@dataclass(frozen=True)
class Broadcast:
    broadcast_id: str
    template: str  # canonical placeholders, footer included
    parts: int  # worst case
    encoding: str
    segment: Segment
    created_at: datetime
    send_at: datetime
    created_by: str
    cancelled_at: datetime | None = None
    pages_planned: int = 0  # pages of subscribers whose messages are queued
    handed_on: int = 0  # the plan step of this page was enqueued
    plan_cursor: str | None = None  # where the next page starts
    planned: bool = False  # every page is planned
    counts: Mapping[str, int] = field(default_factory=dict)  # Tally value -> count
    version: int = 0

    def count(self, tally: Tally) -> int:
        return int(self.counts.get(tally.value, 0))

    @property
    def settled(self) -> int:
        """Messages that left or never will."""
        return sum(
            self.count(tally)
            for tally in (
                Tally.SENT,
                Tally.REFUSED,
                Tally.UNKNOWN,
                Tally.SKIPPED_OPTED_OUT,
                Tally.SKIPPED_FREQUENCY,
                Tally.CANCELLED,
            )
        )

    @property
    def queued(self) -> int:
        return max(0, self.count(Tally.RECIPIENTS) - self.settled)

    def status(self, now: datetime) -> BroadcastStatus:
        if self.cancelled_at is not None:
            return BroadcastStatus.CANCELLED
        if self.pages_planned == 0:
            return BroadcastStatus.SCHEDULED
        if self.planned and self.queued == 0:
            return BroadcastStatus.DONE
        return BroadcastStatus.SENDING


@dataclass(frozen=True)
class BroadcastPolicy:
    max_parts: int
    min_interval: timedelta
    brand: str
    name_characters: int

    @classmethod
    def of(cls, rules: Rules) -> BroadcastPolicy:
        return cls(
            max_parts=rules.policy.max_broadcast_parts,
            min_interval=rules.policy.broadcast_min_interval,
            brand=rules.texts.brand,
            name_characters=rules.policy.broadcast_name_characters,
        )
