"""The fake's profiles, ledger, inbound markers, daily answers and disclosures
(``SubscriberStore``), as ``optin.adapters.dynamodb.subscribers`` keeps them."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from optin.domain.language.messages import Template
from optin.domain.model import ConsentEvent, Dimension, Subscriber
from optin.domain.ports import AlreadyProcessed, ConcurrentUpdate, InboundMarker


class MemorySubscribers:
    """SubscriberStore on dictionaries; the state lives in ``MemoryStore``."""

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

    def snapshot(self) -> tuple[dict[str, Subscriber], dict[str, list[ConsentEvent]]]:
        return copy.deepcopy(self.subscribers), copy.deepcopy(dict(self.ledger))

    def disclosure(self, version: str) -> str | None:
        return self.disclosures.get(version)

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
