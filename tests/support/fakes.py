"""In-memory stand-ins for the ports: the domain's tests and the warm benchmark use them."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from optin.domain.broadcasts.broadcast import PlanResult, plan_step
from optin.domain.broadcasts.model import Broadcast
from optin.domain.broadcasts.quiet_hours import LEGAL
from optin.domain.errors import Dependency, DependencyUnavailable, DestinationOptedOut
from optin.domain.language.messages import Template
from optin.domain.model import (
    ConsentEvent,
    Dimension,
    ErasedNumber,
    Status,
    Subscriber,
    SubscriberFilter,
)
from optin.domain.ports import (
    AlreadyProcessed,
    ConcurrentUpdate,
    InboundMarker,
    InvalidCursor,
    LedgerEntry,
    LimitCounter,
    Page,
    Ports,
    RateBucket,
    SendConflict,
    SubscriberStore,
)
from optin.domain.rules import Rules
from optin.domain.sending.outbound import OutboundMessage, PlanStep, SendRecord, SendState
from optin.domain.sending.pacing import Bucket
from optin.domain.sending.send import SendResult, send_queued
from optin.domain.subscribers.phone import NumberFacts, offline_facts
from optin.settings import Settings

# Never reach a real AWS endpoint from a test or a benchmark, whatever the machine's setup.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "sms-optin",
    "POWERTOOLS_METRICS_NAMESPACE": "SmsOptIn",
    "POWERTOOLS_TRACE_DISABLED": "true",
}

BASE_ENV = {
    "TABLE_NAME": "subscribers",
    "ORIGINATION_IDENTITY": "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-0123",
    "ORIGINATION_NUMBER": "+18005550100",
    "CONFIGURATION_SET_NAME": "optin-events",
    "PROTECT_CONFIGURATION_ID": "protect-0123456789abcdef",
    "OPT_OUT_LIST_NAME": "optin-opt-outs",
    "BRAND_NAME": "ExampleCorp",
    "PROGRAM_DESCRIPTION": "Order updates and offers",
    "MESSAGE_FREQUENCY": "Up to 4 msgs/month",
    "TERMS_URL": "https://example.com/terms-sms",
    "PRIVACY_URL": "https://example.com/privacy",
    "HELP_CONTACT": "help@example.com",
    "ALLOWED_ORIGINS": "https://form.example.com",
    "NUMBER_LOOKUP": "offline",
}

# The defaults docs/configuration.md gives the settings the stack and the functions share.
DOCUMENTED_DEFAULTS = {
    "confirm_keywords": ("YES",),
    "allowed_countries": ("US", "CA"),
    "default_country": "US",
    "confirmation_window_hours": 24,
    "resend_cooldown_seconds": 60,
    "max_confirmations_per_day": 3,
    "max_confirmations_per_prefix_per_hour": 10,
    "daily_confirmation_budget": 1_000,
    "max_broadcast_parts": 3,
    "broadcast_name_characters": 20,
    "broadcast_min_interval_hours": 12,
    "quiet_hours": LEGAL,
}

# Fictional numbers (555-01xx) share one prefix per area code: a test or a benchmark about
# something else that registers many of them lifts the limits across numbers.
NO_PREFIX_LIMITS = {
    "MAX_CONFIRMATIONS_PER_PREFIX_PER_HOUR": "1000000",
    "DAILY_CONFIRMATION_BUDGET": "1000000000",
}


def documented_settings(settings: Settings) -> dict[str, object]:
    """The values ``settings`` has for the settings DOCUMENTED_DEFAULTS names."""
    return {name: getattr(settings, name) for name in DOCUMENTED_DEFAULTS}


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def sleep(self, seconds: float) -> None:
        """What waiting does on this clock: time passes at once."""
        self.advance(seconds=seconds)


class MemoryStore:
    """SubscriberStore (and OperatorStore) with the same conditional-write semantics as the
    DynamoDB adapter."""

    def __init__(self) -> None:
        self.subscribers: dict[str, Subscriber] = {}
        self.ledger: dict[str, list[ConsentEvent]] = defaultdict(list)
        self.markers: dict[str, InboundMarker] = {}
        self.answers: dict[tuple[str, Template], tuple[datetime, str]] = {}
        self.disclosures: dict[str, str] = {}
        self.send_records: dict[str, SendRecord] = {}
        self.broadcasts: dict[str, Broadcast] = {}
        self.event_ids: set[str] = set()
        self.counters: dict[LimitCounter, int] = defaultdict(int)
        self.calls: list[str] = []
        self._lock = threading.Lock()
        # What the operator API reads: counters, erased numbers, the ledger's order.
        self.segments: dict[tuple[Dimension, str], dict[str, int]] = {}
        self.erased: dict[str, ErasedNumber] = {}
        self.erased_ledger: dict[str, list[ConsentEvent]] = defaultdict(list)
        self._erasure_key = os.urandom(32)
        self._order: list[tuple[str, str]] = []  # ("number" or "erased", key) as first written

    def get(self, phone_number: str) -> Subscriber | None:
        self.calls.append("get")
        return self.subscribers.get(phone_number)

    def save(
        self,
        subscriber: Subscriber,
        events: Sequence[ConsentEvent] = (),
        *,
        expected_version: int | None,
        inbound: InboundMarker | None = None,
        event_id: str | None = None,
    ) -> Subscriber:
        self.calls.append("save")
        with self._lock:
            if inbound is not None and inbound.message_id in self.markers:
                raise AlreadyProcessed()
            if event_id is not None and event_id in self.event_ids:
                raise AlreadyProcessed()
            current = self.subscribers.get(subscriber.phone_number)
            if (current.version if current else 0) != (expected_version or 0):
                raise ConcurrentUpdate("profile")
            saved = replace(subscriber, version=(expected_version or 0) + 1)
            self.subscribers[saved.phone_number] = saved
            self._count(current, -1)
            self._count(saved, 1)
            self._extend(saved.phone_number, events)
            if inbound is not None:
                self.markers[inbound.message_id] = inbound
            if event_id is not None:
                self.event_ids.add(event_id)
            return saved

    def append(
        self,
        phone_number: str,
        events: Sequence[ConsentEvent],
        *,
        inbound: InboundMarker | None = None,
        event_id: str | None = None,
    ) -> None:
        self.calls.append("append")
        with self._lock:
            if inbound is not None and inbound.message_id in self.markers:
                raise AlreadyProcessed()
            if event_id is not None and event_id in self.event_ids:
                raise AlreadyProcessed()
            if inbound is not None:
                self.markers[inbound.message_id] = inbound
            if event_id is not None:
                self.event_ids.add(event_id)
            self._extend(phone_number, events)

    def events(self, phone_number: str) -> list[ConsentEvent]:
        return list(self.ledger.get(phone_number, []))

    def inbound_marker(self, message_id: str) -> InboundMarker | None:
        self.calls.append("inbound_marker")
        return self.markers.get(message_id)

    def claim_owed_sms(self, message_id: str, now: datetime, until: datetime) -> bool:
        self.calls.append("claim_owed_sms")
        with self._lock:
            marker = self.markers.get(message_id)
            if marker is None or not marker.owes_work:
                return False
            if marker.claimed_until is not None and marker.claimed_until >= now:
                return False
            self.markers[message_id] = replace(marker, claimed_until=until)
            return True

    def release_owed_sms(self, message_id: str) -> None:
        self.calls.append("release_owed_sms")
        with self._lock:
            self.markers[message_id] = replace(self.markers[message_id], claimed_until=None)

    def settle_inbound(
        self,
        message_id: str,
        phone_number: str,
        events: Sequence[ConsentEvent],
        *,
        opt_out_owed: bool = False,
    ) -> None:
        self.calls.append("settle_inbound")
        with self._lock:
            marker = self.markers[message_id]
            self.markers[message_id] = replace(
                marker,
                owed_sms=None,
                claimed_until=None,
                add_opt_out=marker.add_opt_out and opt_out_owed,
            )
            self._extend(phone_number, events)

    def claim_daily_answer(
        self, phone_number: str, template: Template, message_id: str, now: datetime
    ) -> bool:
        self.calls.append("claim_daily_answer")
        with self._lock:
            last = self.answers.get((phone_number, template))
            if last is not None and now - last[0] < timedelta(days=1) and last[1] != message_id:
                return False
            self.answers[(phone_number, template)] = (now, message_id)
            return True

    def keep_disclosure(self, version: str, text: str) -> None:
        self.calls.append("keep_disclosure")
        self.disclosures.setdefault(version, text)

    def send_record(self, key: str) -> SendRecord | None:
        self.calls.append("send_record")
        return self.send_records.get(key)

    def save_send(
        self,
        record: SendRecord,
        *,
        expected_version: int | None,
        events: Sequence[ConsentEvent] = (),
        subscriber: Subscriber | None = None,
        tally: Mapping[str, int] | None = None,
    ) -> SendRecord:
        self.calls.append("save_send")
        with self._lock:
            current = self.send_records.get(record.key)
            if (current.version if current else None) != expected_version:
                raise SendConflict(record.key)
            if tally:
                self._tally(record.claim, tally)
            if subscriber is not None:
                stored = self.subscribers.get(subscriber.phone_number)
                if stored is None or stored.version != subscriber.version:
                    raise ConcurrentUpdate("profile")
                changed = replace(subscriber, version=subscriber.version + 1)
                self.subscribers[subscriber.phone_number] = changed
                self._count(stored, -1)
                self._count(changed, 1)
            saved = replace(record, version=(expected_version or 0) + 1)
            self.send_records[record.key] = saved
            self._extend(record.phone_number, events)
            return saved

    # Broadcasts ----------------------------------------------------------------------------

    def broadcast(self, broadcast_id: str) -> Broadcast | None:
        self.calls.append("broadcast")
        return self.broadcasts.get(broadcast_id)

    def create_broadcast(self, broadcast: Broadcast) -> Broadcast:
        with self._lock:
            if broadcast.broadcast_id in self.broadcasts:
                raise ConcurrentUpdate(broadcast.broadcast_id)
            saved = replace(broadcast, version=1)
            self.broadcasts[broadcast.broadcast_id] = saved
            return saved

    def save_broadcast(
        self, broadcast: Broadcast, *, expected_version: int, add: Mapping[str, int] | None = None
    ) -> Broadcast:
        with self._lock:
            stored = self.broadcasts.get(broadcast.broadcast_id)
            if stored is None or stored.version != expected_version:
                raise ConcurrentUpdate(broadcast.broadcast_id)
            saved = replace(broadcast, counts=dict(stored.counts), version=expected_version + 1)
            self.broadcasts[broadcast.broadcast_id] = saved
            self._tally(broadcast.broadcast_id, add or {})
            return self.broadcasts[broadcast.broadcast_id]

    def tally_broadcast(self, broadcast_id: str, add: Mapping[str, int]) -> None:
        with self._lock:
            self._tally(broadcast_id, add)

    def _tally(self, broadcast_id: str, add: Mapping[str, int]) -> None:
        stored = self.broadcasts.get(broadcast_id)
        if stored is None:
            return
        counts = dict(stored.counts)
        for name, amount in add.items():
            counts[name] = counts.get(name, 0) + amount
        self.broadcasts[broadcast_id] = replace(stored, counts=counts)

    def take_unit(self, counter: LimitCounter, limit: int) -> bool:
        self.calls.append("take_unit")
        with self._lock:
            if self.counters[counter] >= limit:
                return False
            self.counters[counter] += 1
            return True

    def give_back_unit(self, counter: LimitCounter) -> None:
        self.calls.append("give_back_unit")
        with self._lock:
            self.counters[counter] = max(0, self.counters[counter] - 1)

    def snapshot(self) -> tuple[dict[str, Subscriber], dict[str, list[ConsentEvent]]]:
        return copy.deepcopy(self.subscribers), copy.deepcopy(dict(self.ledger))

    # The operator API and housekeeping (OperatorStore) -----------------------------------

    def disclosure(self, version: str) -> str | None:
        return self.disclosures.get(version)

    def number_hash(self, phone_number: str) -> str:
        return hmac.new(self._erasure_key, phone_number.encode(), hashlib.sha256).hexdigest()

    def erased_number(self, phone_number: str) -> ErasedNumber | None:
        self.calls.append("erased_number")
        return self.erased.get(self.number_hash(phone_number))

    def list_subscribers(
        self, where: SubscriberFilter, *, limit: int, cursor: str | None
    ) -> Page[Subscriber]:
        order = {status: index for index, status in enumerate(Status)}
        matching = sorted(
            (
                s
                for s in list(self.subscribers.values())
                if (where.status is None or s.status is where.status)
                and (where.source is None or s.source == where.source)
                and (where.country is None or s.country == where.country)
            ),
            key=lambda s: (order[s.status], -s.updated_at.timestamp(), s.phone_number),
        )
        start = _offset(cursor)
        page = matching[start : start + limit]
        more = start + limit < len(matching)
        return Page(page, str(start + limit) if more else None)

    def segment_counts(self, dimension: Dimension) -> dict[str, dict[str, int]]:
        return {
            value: {status.value: counts.get(status.value, 0) for status in Status}
            for (counted, value), counts in sorted(self.segments.items(), key=lambda i: i[0][1])
            if counted is dimension and any(counts.values())
        }

    def ledger_entries(
        self, *, since: datetime | None, until: datetime | None, limit: int, cursor: str | None
    ) -> Page[LedgerEntry]:
        position, index = (int(part) for part in (cursor or "0:0").split(":"))
        entries: list[LedgerEntry] = []
        while position < len(self._order) and len(entries) < limit:
            kind, key = self._order[position]
            events = (self.ledger if kind == "number" else self.erased_ledger).get(key, [])
            while index < len(events) and len(entries) < limit:
                event = events[index]
                index += 1
                if (since is None or event.at >= since) and (until is None or event.at < until):
                    number, number_hash = (key, "") if kind == "number" else ("", key)
                    entries.append(LedgerEntry(number, number_hash, event, f"{position}:{index}"))
            if index >= len(events):
                position, index = position + 1, 0
        done = position >= len(self._order)
        return Page(
            entries,
            None if done else f"{position}:{index}",
            1.0 if done else position / len(self._order),
        )

    def stale(
        self, status: Status, before: datetime, *, limit: int, cursor: str | None
    ) -> Page[Subscriber]:
        after = tuple(cursor.split("|", 1)) if cursor else None
        candidates = sorted(
            (s.updated_at.isoformat(), s.phone_number)
            for s in list(self.subscribers.values())
            if s.status is status and s.updated_at < before
        )
        keys = [key for key in candidates if after is None or key > after][:limit]
        found = [self.subscribers[number] for _, number in keys]
        return Page(found, "|".join(keys[-1]) if len(keys) == limit else None)

    def erase(
        self,
        phone_number: str,
        *,
        expected_version: int | None,
        record: ErasedNumber,
        event: ConsentEvent,
        scrub: Callable[[ConsentEvent], ConsentEvent],
    ) -> None:
        self.calls.append("erase")
        number_hash = self.number_hash(phone_number)
        with self._lock:
            current = self.subscribers.get(phone_number)
            if (current.version if current else 0) != (expected_version or 0):
                raise ConcurrentUpdate()
            if current is not None:
                del self.subscribers[phone_number]
                self._count(current, -1)
            moved = [scrub(e) for e in self.ledger.pop(phone_number, []) if e.at <= event.at]
            if number_hash not in self.erased_ledger:
                self._order.append(("erased", number_hash))
            self.erased_ledger[number_hash] = sorted(
                [*self.erased_ledger[number_hash], *moved, event], key=lambda e: e.at
            )
            self.erased[number_hash] = record
            for message_id, marker in list(self.markers.items()):
                if marker.phone_number == phone_number:
                    self.markers[message_id] = replace(
                        marker, phone_number=f"ERASED#{number_hash}", owed_sms=None
                    )
            for key, sent in list(self.send_records.items()):
                if sent.phone_number == phone_number:
                    self.send_records[key] = replace(
                        sent,
                        phone_number=f"ERASED#{number_hash}",
                        state=SendState.ERASED,
                        version=sent.version + 1,
                    )

    def count_older_profiles(self, *, limit: int) -> bool:
        return True

    def _extend(self, phone_number: str, events: Sequence[ConsentEvent]) -> None:
        if events and phone_number not in self.ledger:
            self._order.append(("number", phone_number))
        self.ledger[phone_number].extend(events)

    def _count(self, subscriber: Subscriber | None, sign: int) -> None:
        if subscriber is None:
            return
        status = subscriber.status.value
        for dimension, value in (
            (Dimension.STATUS, status),
            (Dimension.SOURCE, subscriber.source),
            (Dimension.COUNTRY, subscriber.country),
        ):
            counts = self.segments.setdefault((dimension, value), {})
            counts[status] = counts.get(status, 0) + sign


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit():
        raise InvalidCursor("not a cursor this store handed out")
    return int(cursor)


class FakeSender:
    """SmsSender that records messages (and, given a clock, when each left); failures can
    be queued; keeps an opt-out list."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.sent: list[tuple[str, str, str, str]] = []  # number, body, kind, message key
        self.sent_at: list[datetime] = []
        self.opted_out: set[str] = set()
        self.removed: list[str] = []
        self.added: list[str] = []
        self.failures: list[Exception] = []
        self._clock = clock
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, phone_number: str, body: str, *, kind: str, key: str) -> str:
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            if phone_number in self.opted_out:
                raise DestinationOptedOut()
            self.sent.append((phone_number, body, kind, key))
            if self._clock is not None:
                self.sent_at.append(self._clock())
            return f"msg-{next(self._ids)}"

    def remove_opt_out(self, phone_number: str) -> bool:
        self.removed.append(phone_number)
        self.opted_out.discard(phone_number)
        return True

    def add_opt_out(self, phone_number: str) -> bool:
        with self._lock:
            self.added.append(phone_number)
            self.opted_out.add(phone_number)
        return True

    def kinds(self, phone_number: str | None = None) -> list[str]:
        return [kind for number, _, kind, _ in self.sent if phone_number in (None, number)]


class FakeLookup:
    """NumberLookup answering from a table, else from offline metadata; can fail."""

    def __init__(self, facts: dict[str, NumberFacts] | None = None) -> None:
        self.facts = facts or {}
        self.calls: list[str] = []
        self.fail = False

    def lookup(self, phone_number: str) -> NumberFacts:
        self.calls.append(phone_number)
        if self.fail:
            raise DependencyUnavailable(
                Dependency.NUMBER_LOOKUP, "CarrierLookup failed: ThrottlingException"
            )
        return self.facts.get(phone_number) or offline_facts(phone_number)


class NoPace:
    """A RateBucket that forgets every reservation, for tests where the pace is not what is
    tested: every slot is now."""

    def load(self) -> Bucket:
        return Bucket()

    def store(self, bucket: Bucket) -> bool:
        return True


class MemoryBucket:
    """RateBucket in memory, with the conditional write's semantics."""

    def __init__(self) -> None:
        self.bucket = Bucket()
        self.lost_races = 0
        self._lock = threading.Lock()

    def load(self) -> Bucket:
        return self.bucket

    def store(self, bucket: Bucket) -> bool:
        with self._lock:
            if self.bucket.version != bucket.version - 1:
                self.lost_races += 1
                return False
            self.bucket = bucket
            return True


TRANSACTIONAL_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/send-transactional"
BROADCAST_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/send-broadcast"


@dataclass
class Queued:
    message: OutboundMessage
    visible_at: datetime
    receive_count: int = 0


class MemoryQueue:
    """SendQueue in memory, visibility by the tests' clock.

    ``immediate``: each message is handed to the sender's use case as soon as it is
    enqueued (what the sender would do a moment later), so a test of a registration or a
    reply sees its SMS at once; a message that must wait stays queued. Otherwise messages
    wait for ``drain``.
    """

    def __init__(self, clock: Clock, *, immediate: bool = False) -> None:
        self.clock = clock
        self.immediate = immediate
        self.ports: Ports | None = None  # set by fake_ports, for the immediate sends
        self.messages: list[Queued] = []
        self.enqueued: list[OutboundMessage] = []
        self.steps: list[tuple[PlanStep, datetime]] = []  # plan steps, and when visible
        self.step_results: list[PlanResult] = []
        self.results: list[SendResult] = []
        self.deferred: list[tuple[str, timedelta]] = []
        self.failures: list[Exception] = []
        self._lock = threading.RLock()

    def enqueue(self, message: OutboundMessage) -> None:
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            self.enqueued.append(message)
            queued = Queued(message, self.clock())
            self.messages.append(queued)
        if self.immediate and self.ports is not None:
            self.receive(queued)

    def enqueue_many(self, messages: Sequence[OutboundMessage]) -> None:
        for message in messages:
            self.enqueue(message)

    def enqueue_step(self, step: PlanStep) -> None:
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            self.steps.append((step, self.clock()))

    def run_step(self, index: int = 0) -> PlanResult:
        """One delivery of the plan step at ``index``, as the sender's handler makes it."""
        assert self.ports is not None
        with self._lock:
            step, _ = self.steps.pop(index)
        result = plan_step(step, self.ports, self.ports.store)  # type: ignore[arg-type]
        with self._lock:
            self.step_results.append(result)
            if not result.done:
                assert result.retry_after is not None
                self.steps.append((step, self.clock() + result.retry_after))
        return result

    def receive(self, queued: Queued) -> SendResult:
        """One delivery of ``queued`` to the sender's use case, as the sender's handler
        makes it."""
        assert self.ports is not None
        with self._lock:
            queued.receive_count += 1
        result = send_queued(queued.message, self.ports, receive_count=queued.receive_count)
        with self._lock:
            self.results.append(result)
            if result.done:
                if queued in self.messages:
                    self.messages.remove(queued)
            else:
                assert result.retry_after is not None
                queued.visible_at = self.clock() + result.retry_after
        return result

    def defer(self, queue_url: str, receipt_handle: str, delay: timedelta) -> None:
        self.deferred.append((receipt_handle, delay))

    def url_of(self, queue_arn: str) -> str:
        return BROADCAST_URL if queue_arn.endswith("send-broadcast") else TRANSACTIONAL_URL

    def is_broadcast(self, queue_url: str) -> bool:
        return queue_url == BROADCAST_URL

    def transactional_waiting(self) -> int:
        with self._lock:
            return sum(not queued.message.broadcast for queued in self.messages)

    def kinds(self) -> list[str]:
        return [queued.message.kind for queued in self.messages]


def drain(ports: Ports, *, limit: int = 10_000) -> list[SendResult]:
    """Send everything queued, as the sender would: transactional messages first, each
    when it is visible; the clock jumps to the next visible message when none is. Returns
    each delivery's result."""
    queue = ports.queue
    assert isinstance(queue, MemoryQueue), "drain works on a MemoryQueue"
    clock = queue.clock
    results: list[SendResult] = []
    for _ in range(limit):
        if not queue.messages and not queue.steps:
            return results
        visible = [queued for queued in queue.messages if queued.visible_at <= clock()]
        steps = [index for index, (_, at) in enumerate(queue.steps) if at <= clock()]
        if steps and not any(not queued.message.broadcast for queued in visible):
            queue.run_step(steps[0])
            continue
        if not visible:
            clock.now = min(
                [queued.visible_at for queued in queue.messages] + [at for _, at in queue.steps]
            )
            continue
        visible.sort(key=lambda queued: (queued.message.broadcast, queued.visible_at))
        results.append(queue.receive(visible[0]))
    raise AssertionError(f"the queue did not drain in {limit} deliveries")


def fake_ports(
    rules: Rules,
    clock: Clock,
    store: SubscriberStore | None = None,
    *,
    queue: MemoryQueue | None = None,
    bucket: RateBucket | None = None,
) -> Ports:
    """Ports on the fakes above: a MemoryStore unless ``store`` is given; by default each
    queued SMS goes to the sender's use case at once, unpaced."""
    queue = queue or MemoryQueue(clock, immediate=True)
    ports = Ports(
        rules=rules,
        store=store or MemoryStore(),
        sender=FakeSender(clock),
        lookup=FakeLookup(),
        queue=queue,
        bucket=bucket or NoPace(),
        clock=clock,
        sleep=clock.sleep,
    )
    queue.ports = ports
    return ports


@contextmanager
def installed(ports: Ports, settings: Settings) -> Iterator[Ports]:
    """The handlers use these ports and settings inside the block."""
    from optin import runtime

    runtime.install(runtime.Runtime(settings, ports))
    try:
        yield ports
    finally:
        runtime.install(None)
