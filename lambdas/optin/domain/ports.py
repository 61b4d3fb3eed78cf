"""What the domain needs from the outside world. Adapters implement these; tests fake them."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from optin.domain.broadcasts.model import Broadcast
from optin.domain.language.messages import Template
from optin.domain.model import (
    ConsentEvent,
    Dimension,
    ErasedNumber,
    Status,
    Subscriber,
    SubscriberFilter,
)
from optin.domain.rules import Rules
from optin.domain.sending.outbound import OutboundMessage, PlanStep, SendRecord
from optin.domain.sending.pacing import Bucket
from optin.domain.subscribers.phone import NumberFacts

# How many times a use case reads again and decides again after a lost race.
MAX_ATTEMPTS = 5


class ConcurrentUpdate(Exception):
    """Another request changed the subscriber since it was read; read again and decide again."""


class AlreadyProcessed(Exception):
    """This inbound message id (or this event id) was recorded before: a redelivery."""


class SendConflict(Exception):
    """The send record changed since it was read: another sender took it or settled it."""


@dataclass(frozen=True)
class InboundMarker:
    """Remembers one processed inbound message, and the work still owed for it (if any):
    an SMS, and putting the number on the opt-out list."""

    message_id: str
    phone_number: str
    received_at: datetime  # by the caller's clock; the marker expires some days after
    owed_sms: Template | None = None  # an SMS decided but not yet sent
    claimed_until: datetime | None = None  # an invocation is doing the owed work until then
    remove_opt_out: bool = False  # take the number off the platform's opt-out list first
    add_opt_out: bool = False  # owed: put the number on the opt-out list, after the SMS

    @property
    def owes_work(self) -> bool:
        return self.owed_sms is not None or self.add_opt_out


class CounterKind(enum.StrEnum):
    PREFIX_HOUR = "PREFIX"  # registrations to one number prefix in one UTC hour
    DAY = "DAY"  # registrations to every number in one UTC day


@dataclass(frozen=True)
class LimitCounter:
    """One count a limit across numbers keeps (``optin.domain.subscribers.limits``)."""

    kind: CounterKind
    scope: str  # the number prefix ("+1206555"); "" for the day's budget
    period: str  # the UTC hour ("2026-11-23T15") or day ("2026-11-23") it counts
    ends_at: datetime  # the end of that period; the store may forget the count a day later


class SubscriberStore(Protocol):
    """Profiles, their consent ledger, inbound markers, daily answers, disclosures, and
    what stays of erased numbers: what the use cases read and write about one number."""

    def get(self, phone_number: str) -> Subscriber | None: ...

    def save(
        self,
        subscriber: Subscriber,
        events: Sequence[ConsentEvent] = (),
        *,
        expected_version: int | None,
        inbound: InboundMarker | None = None,
        event_id: str | None = None,
    ) -> Subscriber:
        """Write the subscriber (version + 1), its new ledger events and the inbound marker
        in one transaction. ``expected_version`` None means "must not exist yet".
        ``event_id`` names the events for good: writing them again is refused.
        Raises ConcurrentUpdate, or AlreadyProcessed when the marker (or the events of
        ``event_id``) exist."""
        ...

    def append(
        self,
        phone_number: str,
        events: Sequence[ConsentEvent],
        *,
        inbound: InboundMarker | None = None,
        event_id: str | None = None,
    ) -> None:
        """Add ledger events (and the inbound marker) without touching the subscriber.
        Raises AlreadyProcessed when the marker (or the events of ``event_id``) exist."""
        ...

    def events(self, phone_number: str) -> list[ConsentEvent]: ...

    def inbound_marker(self, message_id: str) -> InboundMarker | None: ...

    def claim_owed_sms(self, message_id: str, now: datetime, until: datetime) -> bool:
        """Take the owed work (SMS, opt-out list) for doing, unless it was settled or another
        invocation's claim is still running. True when the claim is ours."""
        ...

    def release_owed_sms(self, message_id: str) -> None:
        """Give the claim back after a failed send, so that a retry can send."""
        ...

    def settle_inbound(
        self,
        message_id: str,
        phone_number: str,
        events: Sequence[ConsentEvent],
        *,
        opt_out_owed: bool = False,
    ) -> None:
        """The SMS owed for this inbound message was sent (or is no longer owed): clear the
        debt, and the claim, and record ``events`` in one transaction. ``opt_out_owed``:
        the number still has to be put on the opt-out list (that call failed)."""
        ...

    def claim_daily_answer(
        self, phone_number: str, template: Template, message_id: str, now: datetime
    ) -> bool:
        """Reserve the one ``template`` answer this number may get per day (rolling 24 h),
        known subscriber or not. True when no such answer went out in the past day, or
        when this inbound message already holds the reservation (a retry)."""
        ...

    def keep_disclosure(self, version: str, text: str) -> None:
        """Store a disclosure text under its version, once, before a registration cites it.
        Called on every registration: the store remembers what it already kept."""
        ...

    def disclosure(self, version: str) -> str | None: ...

    def erased_number(self, phone_number: str) -> ErasedNumber | None:
        """What stays of this number if it was erased (looked up by its keyed hash)."""
        ...


class SendStore(Protocol):
    """Send records (``optin.domain.sending``) and the counters of the limits across
    numbers (``optin.domain.subscribers.limits``)."""

    def take_unit(self, counter: LimitCounter, limit: int) -> bool:
        """Add one to the counter if it is below ``limit``, atomically; False when it is
        not (nothing changes then)."""
        ...

    def give_back_unit(self, counter: LimitCounter) -> None:
        """Take one off the counter, never below zero."""
        ...

    def send_record(self, key: str) -> SendRecord | None: ...

    def save_send(
        self,
        record: SendRecord,
        *,
        expected_version: int | None,
        events: Sequence[ConsentEvent] = (),
        subscriber: Subscriber | None = None,
        tally: Mapping[str, int] | None = None,
    ) -> SendRecord:
        """Write the send record (version + 1) if it is still at ``expected_version`` (None:
        it must not exist yet), with ledger events for its number, the subscriber (if
        given, conditional on its own ``version``) and the changes ``tally`` makes to the
        counters of the broadcast the record's claim names, in one transaction. Raises
        SendConflict, or ConcurrentUpdate when the subscriber changed."""
        ...


class BroadcastStore(Protocol):
    """Broadcasts (``optin.domain.broadcasts.broadcast``)."""

    def broadcast(self, broadcast_id: str) -> Broadcast | None: ...

    def create_broadcast(self, broadcast: Broadcast) -> Broadcast:
        """Store a new broadcast (version 1)."""
        ...

    def save_broadcast(
        self, broadcast: Broadcast, *, expected_version: int, add: Mapping[str, int] | None = None
    ) -> Broadcast:
        """Write the broadcast's plan and cancellation (version + 1) if it is still at
        ``expected_version``, adding ``add`` to its counters; its counters are otherwise
        left as they are. Raises ConcurrentUpdate."""
        ...

    def tally_broadcast(self, broadcast_id: str, add: Mapping[str, int]) -> None:
        """Add to a broadcast's counters (a delivery receipt's outcome)."""
        ...


class RateBucket(Protocol):
    """The pace of the origination identity, shared by every sender."""

    def load(self) -> Bucket: ...

    def store(self, bucket: Bucket) -> bool:
        """Write the bucket if the stored one is still at ``bucket.version - 1``; False when
        another sender wrote first."""
        ...


class SendQueue(Protocol):
    """The send queues: use cases enqueue; the sender's handler puts a received message
    back for a while, and looks at the transactional queue before sending broadcasts."""

    def enqueue(self, message: OutboundMessage) -> None:
        """Put the message on its send queue (a second enqueue of one key is harmless: the
        sender sends a key once). Raises DependencyUnavailable (QUEUE)."""
        ...

    def enqueue_many(self, messages: Sequence[OutboundMessage]) -> None:
        """Put every message on its queue, in batches. Raises DependencyUnavailable (QUEUE)
        when one could not be put (some others may have been: enqueueing again is safe)."""
        ...

    def enqueue_step(self, step: PlanStep) -> None:
        """Put a broadcast's plan step on the broadcast queue. Raises DependencyUnavailable."""
        ...

    def defer(self, queue_url: str, receipt_handle: str, delay: timedelta) -> None:
        """A received message becomes visible again after ``delay``."""
        ...

    def url_of(self, queue_arn: str) -> str: ...

    def is_broadcast(self, queue_url: str) -> bool: ...

    def transactional_waiting(self) -> int:
        """About how many transactional messages wait to be received."""
        ...


class SmsSender(Protocol):
    def send(self, phone_number: str, body: str, *, kind: str, key: str) -> str:
        """Send one SMS now; return the provider's message id. ``kind`` and the message
        ``key`` travel with it (never the number) to the delivery events.
        Raises SendThrottled, SendQuotaExceeded, DependencyUnavailable (failing: retry
        later), DestinationOptedOut, SendRefused (never retry) or SendOutcomeUnknown (it
        may have left: never resend)."""
        ...

    def remove_opt_out(self, phone_number: str) -> bool:
        """Take the number off the platform's opt-out list; False when the platform refuses."""
        ...

    def add_opt_out(self, phone_number: str) -> bool:
        """Put the number on the platform's opt-out list (idempotent), so no sender of the
        account texts it; False when the platform refuses the number itself.
        Raises DependencyUnavailable (retry later)."""
        ...


class NumberLookup(Protocol):
    def lookup(self, phone_number: str) -> NumberFacts:
        """Number type, carrier and timezone. Raises DependencyUnavailable when
        the lookup fails."""
        ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Ports:
    """Everything a handler hands the domain: the rules (plain values), the adapters, a
    clock, and a way to wait (the sender waits for its slot)."""

    rules: Rules
    store: Store
    sender: SmsSender
    lookup: NumberLookup
    queue: SendQueue
    bucket: RateBucket
    clock: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep


# The operator API and housekeeping -------------------------------------------------------

T = TypeVar("T")


class InvalidCursor(ValueError):
    """A paging cursor this store did not hand out."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursor: str | None  # where the next page starts; None after the last one
    progress: float | None = None  # share of the whole walk done after this page, if known


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger event with its number ("" once erased: then ``number_hash`` says whose)."""

    phone_number: str
    number_hash: str
    event: ConsentEvent
    cursor: str  # a page starting here resumes right after this entry


class OperatorStore(Protocol):
    """What the operator API and housekeeping read and write besides the use cases."""

    def list_subscribers(
        self, where: SubscriberFilter, *, limit: int, cursor: str | None
    ) -> Page[Subscriber]:
        """Subscribers matching ``where``, most recently changed first. A page may hold
        fewer than ``limit`` with a cursor still set (the store bounds its work per page)."""
        ...

    def segment_counts(self, dimension: Dimension) -> dict[str, dict[str, int]]:
        """{value: {status: count}} from counters kept by every state change."""
        ...

    def ledger_entries(
        self, *, since: datetime | None, until: datetime | None, limit: int, cursor: str | None
    ) -> Page[LedgerEntry]:
        """Every ledger event (``since`` <= at < ``until``), in pages."""
        ...

    def stale(
        self, status: Status, before: datetime, *, limit: int, cursor: str | None
    ) -> Page[Subscriber]:
        """Subscribers in ``status`` not changed since ``before``, oldest first."""
        ...

    def erase(
        self,
        phone_number: str,
        *,
        expected_version: int | None,
        record: ErasedNumber,
        event: ConsentEvent,
        scrub: Callable[[ConsentEvent], ConsentEvent],
    ) -> None:
        """Move the number's ledger (each event through ``scrub``) under its keyed hash,
        delete its profile (expected at ``expected_version``; None: no profile), keep
        ``record`` and ``event`` there, and forget the number wherever else it is stored.
        Resumable: a retry after a failure finishes the work. Raises ConcurrentUpdate."""
        ...

    def count_older_profiles(self, *, limit: int) -> bool:
        """Add profiles written before the segment counters existed to them, ``limit`` at
        a time across calls; True once every profile is counted."""
        ...


class Store(SubscriberStore, SendStore, BroadcastStore, OperatorStore, Protocol):
    """The whole store on one table, as the composition root builds it (``Ports.store``)."""


class OptOutList(Protocol):
    def add(self, phone_number: str) -> bool:
        """Put the number on the platform's opt-out list (idempotent): no sender in the
        account can text it. False when the platform will not list the number.
        Raises DependencyUnavailable."""
        ...
