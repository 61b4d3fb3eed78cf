"""Opting a number out, whoever asks: the platform refusing a send, or an operator.

Reads the subscriber again after a lost race, so the opt-out applies to its current state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from optin.domain.model import ConsentEvent, EventSource, EventType, Subscriber
from optin.domain.ports import MAX_ATTEMPTS, ConcurrentUpdate, Ports, SubscriberStore
from optin.domain.subscribers import lifecycle


def mark_platform_opted_out(ports: Ports, e164: str, *, via: str) -> None:
    """The platform refused a send: its opt-out list is never overruled."""
    try:
        opt_out(
            ports.store,
            e164,
            ports.clock,
            lambda existing, now: lifecycle.platform_opted_out(existing, now, via),
            EventType.SMS_BLOCKED_OPTED_OUT,
            source=EventSource.PLATFORM,
            details={},
        )
    except ConcurrentUpdate:
        return  # it kept changing: the next send will meet the opt-out list again


def opt_out(
    store: SubscriberStore,
    phone_number: str,
    clock: Callable[[], datetime],
    change: Callable[[Subscriber, datetime], Subscriber],
    kind: EventType,
    *,
    source: str,
    details: dict[str, Any],
) -> bool:
    """Apply an opt-out to the current subscriber, reading again after a lost race.
    False when there is no subscriber; ConcurrentUpdate when it kept changing."""
    for _ in range(MAX_ATTEMPTS):
        existing = store.get(phone_number)
        if existing is None:
            return False
        now = clock()
        updated = change(existing, now)
        event = ConsentEvent(
            type=kind,
            at=now,
            source=source,
            details={
                **details,
                "fromStatus": existing.status.value,
                "toStatus": updated.status.value,
            },
        )
        try:
            store.save(updated, [event], expected_version=existing.version)
        except ConcurrentUpdate:
            continue
        return True
    raise ConcurrentUpdate(f"subscriber kept changing while opting out {kind.value}")
