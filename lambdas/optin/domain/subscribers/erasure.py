"""Use case: erase a number's personal data (on request, GDPR and CCPA; or by housekeeping
once a number that never confirmed has been kept long enough).

Names, IP addresses, user agents, reply texts and the page a person came from leave the
profile and every ledger event: the one exception to the ledger's immutability, itself
recorded as an ``ERASED`` event. What stays is keyed by a keyed hash of the number, never
the number: the event types and times, and the state the number must keep. A number that
had opted out (or was subscribed: asking to be forgotten ends the subscription) is
remembered as opted out, so it is never texted again, and a later registration of it
takes the re-subscription path (``erased_subscriber``) instead of a fresh confirmation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from optin.domain.model import (
    ConsentEvent,
    ErasedNumber,
    EventSource,
    EventType,
    Status,
    Subscriber,
)
from optin.domain.ports import (
    MAX_ATTEMPTS,
    ConcurrentUpdate,
    OptOutList,
    Store,
    SubscriberStore,
)
from optin.domain.subscribers.fields import KEPT_EVIDENCE
from optin.domain.subscribers.phone import PhoneNumber

# Ledger details an erased event keeps: states, keyword classes, versions and ids, and the
# subscriber fields declared as kept. Anything else (names, IP, user agent, raw text,
# free-text reasons, any detail added later) goes.
KEPT_DETAILS = KEPT_EVIDENCE | frozenset(
    {
        "fromStatus",
        "toStatus",
        "keyword",
        "messageKeyword",
        "disclosureVersion",
        "formDisclosureVersion",
        "consentCheckbox",
        "messageId",
        "inboundMessageId",
        "previousPublishedMessageId",
        "correlationId",
        "template",
        "operator",
        "requestedBy",
        "keptStatus",
        "snsTimestamp",
    }
)
# Event sources the service itself writes: every one is kept. Any other source is the page a
# person came from (written before pages moved to the ``page`` detail): it becomes the form's.
SERVICE_SOURCES = frozenset(EventSource)


def scrub(event: ConsentEvent) -> ConsentEvent:
    """The event without personal data: kept details only, the page source replaced."""
    return replace(
        event,
        source=event.source if event.source in SERVICE_SOURCES else EventSource.FORM,
        details={key: value for key, value in event.details.items() if key in KEPT_DETAILS},
    )


def kept_status(existing: Subscriber | None, previous: ErasedNumber | None) -> Status | None:
    """The state an erased number keeps: opted out once it had consented (erasure ends a
    subscription), its own state otherwise; an earlier erasure's when no profile is left."""
    if existing is None:
        return previous.status if previous else None
    if existing.status in (Status.CONFIRMED, Status.OPTED_OUT):
        return Status.OPTED_OUT
    return existing.status


@dataclass(frozen=True)
class Erasure:
    phone_number: str
    from_status: Status | None  # None: only ledger events were stored (replies, no profile)
    kept_status: Status | None


def erase_subscriber(
    store: Store,
    phone_number: str,
    *,
    requested_by: str,
    source: str,
    clock: Callable[[], datetime],
    opt_out_list: OptOutList | None = None,
    only_if: Callable[[Subscriber | None], bool] | None = None,
) -> Erasure | None:
    """Erase what is stored about the number; None when nothing is (or ``only_if`` says no
    to the current profile). A number kept as opted out goes on the platform's opt-out
    list first, when one is given. Safe to retry: a failure leaves a resumable state."""
    for _ in range(MAX_ATTEMPTS):
        existing = store.get(phone_number)
        if only_if is not None and not only_if(existing):
            return None
        if existing is None and not store.events(phone_number):
            return None
        previous = store.erased_number(phone_number)
        now = clock()
        status = kept_status(existing, previous)
        if existing is not None:
            opted_out_at = (existing.opted_out_at or now) if status is Status.OPTED_OUT else None
        else:
            opted_out_at = previous.opted_out_at if previous else None
        record = ErasedNumber(status=status, erased_at=now, opted_out_at=opted_out_at)
        event = ConsentEvent(
            type=EventType.ERASED,
            at=now,
            source=source,
            details={
                "requestedBy": requested_by,
                "fromStatus": existing.status.value if existing else "",
                "keptStatus": status.value if status else "",
            },
        )
        if opt_out_list is not None and status is Status.OPTED_OUT:
            opt_out_list.add(phone_number)
        try:
            store.erase(
                phone_number,
                expected_version=existing.version if existing else None,
                record=record,
                event=event,
                scrub=scrub,
            )
        except ConcurrentUpdate:
            continue
        return Erasure(phone_number, existing.status if existing else None, status)
    raise ConcurrentUpdate("subscriber kept changing while being erased")


def erased_subscriber(
    store: SubscriberStore, phone: PhoneNumber, now: datetime
) -> Subscriber | None:
    """For a registration of a number with no profile: an erased number that must stay
    opted out comes back as an opted-out subscriber not stored yet (version 0), so the
    registration records a re-subscription request and sends nothing."""
    erased = store.erased_number(phone.e164)
    if erased is None or erased.status is not Status.OPTED_OUT:
        return None
    return Subscriber(
        phone_number=phone.e164,
        status=Status.OPTED_OUT,
        created_at=now,
        updated_at=now,
        country=phone.country,
        opted_out_at=erased.opted_out_at or erased.erased_at,
    )
