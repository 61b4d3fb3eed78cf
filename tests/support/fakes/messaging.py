"""Fake SMS sender and number lookup."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime

from optin.domain.errors import Dependency, DependencyUnavailable, DestinationOptedOut
from optin.domain.subscribers.phone import NumberFacts, offline_facts
from tests.support.fakes.environment import Clock


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
