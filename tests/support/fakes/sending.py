"""The fake's send records and limit counters (``SendStore``) and pace buckets, as
``optin.adapters.dynamodb.sending`` keeps them."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace

from optin.domain.model import ConsentEvent, Subscriber
from optin.domain.ports import ConcurrentUpdate, LimitCounter, SendConflict
from optin.domain.sending.outbound import SendRecord
from optin.domain.sending.pacing import Bucket
from tests.support.fakes.broadcasts import MemoryBroadcasts
from tests.support.fakes.subscribers import MemorySubscribers


class MemorySends(MemorySubscribers, MemoryBroadcasts):
    """SendStore on dictionaries: a send record is written with its events, the profile
    and the broadcast counters it changes."""

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
