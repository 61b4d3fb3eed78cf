"""Use case: the hourly housekeeping.

- A ``PENDING`` number whose confirmation window has passed becomes ``EXPIRED``, with a
  ledger event (no SMS: the "register again" notice is only ever an answer to a reply).
- The personal data of a number that never confirmed is erased once it has stayed
  ``EXPIRED`` for the retention period; confirmed and opted-out ledgers are kept.
- Profiles written before the segment counters existed are counted, a page at a time.

Candidates come from the store's status index, oldest change first, page by page (no
table scan); each change is conditional on the version read, so two runs, or a run racing
a reply, never apply a change twice. Whatever a run leaves for lack of time, the next
run finds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from optin.domain.model import ConsentEvent, EventSource, EventType, Status, Subscriber
from optin.domain.ports import ConcurrentUpdate, OperatorStore, Store, SubscriberStore
from optin.domain.subscribers.erasure import erase_subscriber

PAGE_SIZE = 100
SOURCE = EventSource.HOUSEKEEPING


@dataclass(frozen=True)
class HousekeepingPolicy:
    window: timedelta  # how long a confirmation request stays open
    unconfirmed_retention: timedelta  # how long a number that never confirmed is kept


@dataclass
class HousekeepingResult:
    expired: int = 0
    erased: int = 0
    counters_complete: bool = False  # every profile is in the segment counters
    complete: bool = False  # nothing was left for lack of time


def expire(existing: Subscriber, now: datetime, window: timedelta) -> Subscriber | None:
    """The EXPIRED state of a PENDING number past its window, or None."""
    if existing.status is not Status.PENDING:
        return None
    started = existing.requested_at or existing.created_at
    if now - started <= window:
        return None
    return replace(existing, status=Status.EXPIRED, expired_at=now, updated_at=now)


def never_confirmed_since(cutoff: datetime) -> Callable[[Subscriber | None], bool]:
    def check(existing: Subscriber | None) -> bool:
        return (
            existing is not None
            and existing.status is Status.EXPIRED
            and existing.confirmed_at is None
            and existing.updated_at < cutoff
        )

    return check


def run_housekeeping(
    store: Store,
    policy: HousekeepingPolicy,
    clock: Callable[[], datetime],
    *,
    time_left: Callable[[], bool],
) -> HousekeepingResult:
    """``time_left`` says whether another page fits in this run."""
    result = HousekeepingResult()
    now = clock()
    expiring = _Stale(store, Status.PENDING, now - policy.window, time_left)
    for candidate in expiring:
        if _expire_one(store, candidate.phone_number, clock, policy.window):
            result.expired += 1
    cutoff = now - policy.unconfirmed_retention
    erasing = _Stale(store, Status.EXPIRED, cutoff, time_left)
    for candidate in erasing:
        erased = erase_subscriber(
            store,
            candidate.phone_number,
            requested_by=SOURCE,
            source=SOURCE,
            clock=clock,
            only_if=never_confirmed_since(cutoff),
        )
        result.erased += erased is not None
    while time_left() and not result.counters_complete:
        result.counters_complete = store.count_older_profiles(limit=PAGE_SIZE)
    result.complete = expiring.done and erasing.done and result.counters_complete
    return result


class _Stale:
    """Iterates the stale subscribers of one status, page by page while time is left;
    ``done`` says whether it reached the end."""

    def __init__(
        self,
        store: OperatorStore,
        status: Status,
        before: datetime,
        time_left: Callable[[], bool],
    ) -> None:
        self._store, self._status, self._before, self._time_left = store, status, before, time_left
        self.done = False

    def __iter__(self) -> Iterator[Subscriber]:
        cursor: str | None = None
        while self._time_left():
            page = self._store.stale(self._status, self._before, limit=PAGE_SIZE, cursor=cursor)
            yield from page.items
            cursor = page.cursor
            if cursor is None:
                self.done = True
                return


def _expire_one(
    store: SubscriberStore, phone_number: str, clock: Callable[[], datetime], window: timedelta
) -> bool:
    """Expire the number if it is still pending past its window; a lost race is left to
    the next run (the reply or registration that won decided its state)."""
    existing = store.get(phone_number)
    if existing is None:
        return False
    now = clock()
    expired = expire(existing, now, window)
    if expired is None:
        return False
    event = ConsentEvent(
        type=EventType.EXPIRED,
        at=now,
        source=SOURCE,
        details={"fromStatus": Status.PENDING.value, "toStatus": Status.EXPIRED.value},
    )
    try:
        store.save(expired, [event], expected_version=existing.version)
    except ConcurrentUpdate:
        return False
    return True
