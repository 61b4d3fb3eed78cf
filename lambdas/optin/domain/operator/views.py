"""Operator use cases (the operator API and its CLI): describe a subscriber with its proof
of consent, list subscribers, count segments, export the ledger, opt a number out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from optin.domain.model import (
    ConsentEvent,
    Dimension,
    EventSource,
    EventType,
    Subscriber,
    SubscriberFilter,
)
from optin.domain.ports import LedgerEntry, OperatorStore, OptOutList, SubscriberStore, utc_now
from optin.domain.subscribers import lifecycle
from optin.domain.subscribers.fields import FIELDS
from optin.domain.subscribers.opt_out import opt_out

# Ledger details that name the disclosure a person was shown.
DISCLOSURE_DETAILS = ("disclosureVersion", "formDisclosureVersion")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
DEFAULT_EXPORT_PAGE = 1000
MAX_EXPORT_PAGE = 5000
MAX_REASON_CHARACTERS = 500


def remove_subscriber(
    store: SubscriberStore,
    phone_number: str,
    *,
    operator: str,
    reason: str,
    clock: Callable[[], datetime] = utc_now,
    opt_out_list: OptOutList | None = None,
) -> bool:
    """An operator opts a number out (and, given a list, puts it on the platform's opt-out
    list first, so a failure there changes nothing). False when there is no subscriber."""
    if opt_out_list is not None:
        if store.get(phone_number) is None:
            return False
        opt_out_list.add(phone_number)
    return opt_out(
        store,
        phone_number,
        clock,
        lifecycle.removed_by_operator,
        EventType.REMOVED_BY_OPERATOR,
        source=EventSource.OPERATOR,
        details={"operator": operator, "reason": reason},
    )


def representation(subscriber: Subscriber) -> dict[str, Any]:
    """The subscriber document (docs/lifecycle.md), without its events."""
    return {
        "phoneNumber": subscriber.phone_number,
        "status": subscriber.status.value,
        "optOut": subscriber.opt_out,
        **{
            field.key: getattr(subscriber, field.attribute)
            for field in FIELDS
            if field.operator_view
        },
        "country": subscriber.country,
        "timezone": subscriber.timezone,
        "carrier": subscriber.carrier,
        "numberType": subscriber.number_type,
        "createdAt": iso(subscriber.created_at),
        "confirmedAt": iso(subscriber.confirmed_at),
        "optedOutAt": iso(subscriber.opted_out_at),
    }


def event_document(event: ConsentEvent) -> dict[str, Any]:
    return {"type": event.type.value, "at": iso(event.at), "source": event.source, **event.details}


def describe_subscriber(store: SubscriberStore, phone_number: str) -> dict[str, Any] | None:
    """The subscriber representation, or None for an unknown number."""
    subscriber = store.get(phone_number)
    if subscriber is None:
        return None
    return {
        **representation(subscriber),
        "consentEvents": [event_document(event) for event in store.events(phone_number)],
    }


def proof_of_consent(store: SubscriberStore, phone_number: str) -> dict[str, Any] | None:
    """The representation plus the full text of every disclosure version its events cite:
    what the person was shown, beside what they did."""
    described = describe_subscriber(store, phone_number)
    if described is None:
        return None
    versions = sorted(
        {
            str(event[name])
            for event in described["consentEvents"]
            for name in DISCLOSURE_DETAILS
            if event.get(name)
        }
    )
    described["disclosures"] = {version: store.disclosure(version) for version in versions}
    return described


def list_subscribers(
    store: OperatorStore, where: SubscriberFilter, *, limit: int, cursor: str | None
) -> dict[str, Any]:
    page = store.list_subscribers(where, limit=limit, cursor=cursor)
    return {
        "subscribers": [representation(subscriber) for subscriber in page.items],
        "nextCursor": page.cursor,
    }


def segments(store: OperatorStore, dimension: Dimension) -> dict[str, Any]:
    return {"by": dimension.value, "counts": store.segment_counts(dimension)}


def ledger_row(entry: LedgerEntry) -> dict[str, Any]:
    """One exported ledger event: whose (the number, or the hash it is kept under once
    erased), what and when, and its details as stored."""
    event = entry.event
    return {
        "phoneNumber": entry.phone_number or None,
        "numberHash": entry.number_hash or None,
        "type": event.type.value,
        "at": iso(event.at),
        "source": event.source,
        "details": event.details,
    }


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a Z, or None."""
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
