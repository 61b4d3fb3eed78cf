"""Broadcast helpers for tests and benchmarks: confirmed subscribers in bulk, a broadcast
created through its use case, the fakes of a test's ports."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from optin.domain.broadcasts import broadcast
from optin.domain.broadcasts.model import Broadcast, BroadcastPolicy, Segment
from optin.domain.model import Status, Subscriber
from optin.domain.ports import Ports
from tests.support.fakes import FakeSender, MemoryQueue, MemoryStore

# 212 (New York, not a stricter state): 15:00 UTC, the tests' clock, is 10:00 there.
NEW_YORK_NUMBERS = "+1212555"


def numbers(count: int, prefix: str = NEW_YORK_NUMBERS) -> Iterator[str]:
    """``count`` distinct valid numbers of one area code (555-0000 to 555-9999, then the
    next exchanges)."""
    for index in range(count):
        exchange, line = divmod(index, 10_000)
        yield f"{prefix[:5]}{555 + exchange:03d}{line:04d}" if exchange else f"{prefix}{line:04d}"


def confirmed(phone_number: str, now: datetime, **fields: Any) -> Subscriber:
    values: dict[str, Any] = {
        "phone_number": phone_number,
        "status": Status.CONFIRMED,
        "created_at": now - timedelta(days=2),
        "updated_at": now - timedelta(days=1),
        "confirmed_at": now - timedelta(days=1),
        "first_name": "Ana",
        "last_name": "Lima",
        "source": "/signup",
        "country": "US",
        **fields,
    }
    return Subscriber(**values)


def add_confirmed(store: Any, subscribers: Iterable[Subscriber]) -> None:
    for subscriber in subscribers:
        store.save(subscriber, expected_version=None)


def start(
    ports: Ports,
    text: str = "Hi {{firstName}}, our sale starts today",
    segment: Segment | None = None,
    *,
    send_at: datetime | None = None,
) -> Broadcast:
    """A broadcast created as the operator API creates one (its first plan step queued)."""
    made = broadcast.draft(
        ports.store,
        text=text,
        segment=segment or Segment(),
        send_at=send_at,
        now=ports.clock(),
        policy=BroadcastPolicy.of(ports.rules),
        created_by="tests",
    )
    return broadcast.create(ports, ports.store, made)


def store_of(ports: Ports) -> MemoryStore:
    assert isinstance(ports.store, MemoryStore)
    return ports.store


def sms_of(ports: Ports) -> FakeSender:
    assert isinstance(ports.sender, FakeSender)
    return ports.sender


def queue_of(ports: Ports) -> MemoryQueue:
    assert isinstance(ports.queue, MemoryQueue)
    return ports.queue
