"""Operator use cases (the CLI): remove a subscriber, describe one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from optin.domain import lifecycle
from optin.domain.model import EventType
from optin.domain.opt_out import opt_out
from optin.domain.ports import SubscriberStore, utc_now


def remove_subscriber(
    store: SubscriberStore,
    phone_number: str,
    *,
    operator: str,
    reason: str,
    clock: Callable[[], datetime] = utc_now,
) -> bool:
    """An operator opts a number out. False when there is no subscriber."""
    return opt_out(
        store,
        phone_number,
        clock,
        lifecycle.removed_by_operator,
        EventType.REMOVED_BY_OPERATOR,
        source="operator",
        details={"operator": operator, "reason": reason},
    )


def describe_subscriber(store: SubscriberStore, phone_number: str) -> dict[str, Any] | None:
    """The subscriber representation, or None for an unknown number."""
    subscriber = store.get(phone_number)
    if subscriber is None:
        return None
    return {
        "phoneNumber": subscriber.phone_number,
        "status": subscriber.status.value,
        "optOut": subscriber.opt_out,
        "firstName": subscriber.first_name,
        "lastName": subscriber.last_name,
        "source": subscriber.source,
        "country": subscriber.country,
        "timezone": subscriber.timezone,
        "carrier": subscriber.carrier,
        "numberType": subscriber.number_type,
        "createdAt": iso(subscriber.created_at),
        "confirmedAt": iso(subscriber.confirmed_at),
        "optedOutAt": iso(subscriber.opted_out_at),
        "consentEvents": [
            {"type": event.type.value, "at": iso(event.at), "source": event.source, **event.details}
            for event in store.events(phone_number)
        ],
    }


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a Z, or None."""
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
