"""Use case: a delivery receipt (an SMS event of the configuration set) into the ledger.

Each message's fate is appended to the ledger of its number once per (message id, event
type): the event's key in the table is derived from both, so a receipt delivered twice is
written once. The message is found through the ``Context`` it was sent with (its key and
kind), never through a phone number in it. A confirmation the carrier could not deliver,
for good, gives its cool-down back: the person may register again at once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from optin.domain.broadcasts.broadcast import receipt_tally
from optin.domain.broadcasts.model import Tally
from optin.domain.language.messages import Template
from optin.domain.model import ConsentEvent, EventSource, EventType
from optin.domain.ports import (
    MAX_ATTEMPTS,
    AlreadyProcessed,
    ConcurrentUpdate,
    Ports,
    SendConflict,
)
from optin.domain.sending.outbound import BROADCAST_KIND, SendRecord, SendState
from optin.domain.subscribers import lifecycle

# End User Messaging's SMS event types ("Event types for SMS, MMS, and voice").
DELIVERED_TYPES = frozenset(("TEXT_DELIVERED", "TEXT_SUCCESSFUL"))
IN_PROGRESS_TYPES = frozenset(("TEXT_QUEUED", "TEXT_PENDING"))  # not an outcome yet
# Failures that, once final, mean the message will never arrive: the number is invalid or
# unreachable, the carrier or the protect configuration blocked it, it expired.
PERMANENT_FAILURE_TYPES = frozenset(
    (
        "TEXT_BLOCKED",
        "TEXT_TTL_EXPIRED",
        "TEXT_CARRIER_UNREACHABLE",
        "TEXT_INVALID",
        "TEXT_INVALID_MESSAGE",
        "TEXT_CARRIER_BLOCKED",
        "TEXT_UNREACHABLE",
        "TEXT_SPAM",
        "TEXT_UNKNOWN",
        "TEXT_PROTECT_BLOCKED",
    )
)


@dataclass(frozen=True)
class Receipt:
    """One SMS event, as much of it as the ledger keeps (never the text)."""

    event_type: str
    message_id: str
    at: datetime  # when the platform reported it
    key: str = ""  # the Context the message was sent with
    kind: str = ""
    destination: str = ""  # the event's destination number (used only without a key)
    is_final: bool = True
    status: str = ""  # the platform's short description of the status
    parts: int = 0


class DeliveryOutcome(enum.StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"  # queued or pending at the carrier: not recorded
    DUPLICATE = "duplicate"  # this (message id, event type) is already in the ledger
    UNKNOWN_MESSAGE = "unknown_message"  # neither our key nor a number to file it under


@dataclass(frozen=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    phone_number: str = ""
    kind: str = ""
    cooldown_released: bool = False


def classify(event_type: str) -> DeliveryOutcome:
    if event_type in DELIVERED_TYPES:
        return DeliveryOutcome.DELIVERED
    if event_type in IN_PROGRESS_TYPES:
        return DeliveryOutcome.IN_PROGRESS
    return DeliveryOutcome.FAILED


def failed_for_good(receipt: Receipt) -> bool:
    return receipt.is_final and receipt.event_type in PERMANENT_FAILURE_TYPES


def record_delivery(receipt: Receipt, ports: Ports) -> DeliveryResult:
    outcome = classify(receipt.event_type)
    if outcome is DeliveryOutcome.IN_PROGRESS:
        return DeliveryResult(outcome)
    record = ports.store.send_record(receipt.key) if receipt.key else None
    if record is not None and record.state is SendState.ERASED:
        return DeliveryResult(DeliveryOutcome.UNKNOWN_MESSAGE)  # nothing kept of that number
    phone_number = record.phone_number if record is not None else receipt.destination
    if not phone_number:
        return DeliveryResult(DeliveryOutcome.UNKNOWN_MESSAGE)
    kind = record.kind if record is not None else receipt.kind
    event = ConsentEvent(
        type=EventType.DELIVERED if outcome is DeliveryOutcome.DELIVERED else EventType.FAILED,
        at=receipt.at,
        source=EventSource.PLATFORM,
        details={
            "messageId": receipt.message_id,
            "messageKey": receipt.key,
            "kind": kind,
            "eventType": receipt.event_type,
            "status": receipt.status[:200],
            "isFinal": receipt.is_final,
            "parts": receipt.parts,
        },
    )
    event_id = f"delivery|{receipt.message_id}|{receipt.event_type}"
    released = False
    for _ in range(MAX_ATTEMPTS):
        change = None
        if (
            outcome is DeliveryOutcome.FAILED
            and failed_for_good(receipt)
            and record is not None
            and record.kind == Template.CONFIRMATION
        ):
            change = lifecycle.release_cooldown(
                ports.store.get(phone_number), record.claim, ports.clock()
            )
        try:
            if change is not None:
                ports.store.save(
                    change, [event], expected_version=change.version, event_id=event_id
                )
            else:
                ports.store.append(phone_number, [event], event_id=event_id)
        except AlreadyProcessed:
            return DeliveryResult(DeliveryOutcome.DUPLICATE, phone_number, kind)
        except ConcurrentUpdate:
            continue
        released = change is not None
        if record is not None and record.kind == BROADCAST_KIND:
            ports.store.tally_broadcast(
                record.claim,
                receipt_tally(outcome is DeliveryOutcome.DELIVERED, receipt.is_final),
            )
        break
    else:
        raise ConcurrentUpdate(f"subscriber kept changing while recording {receipt.message_id}")
    _settle_unknown(ports, record, receipt)
    return DeliveryResult(outcome, phone_number, kind, cooldown_released=released)


def _settle_unknown(ports: Ports, record: SendRecord | None, receipt: Receipt) -> None:
    """A receipt proves the message left: a send whose outcome was unknown (or whose record
    was never settled) is settled as sent."""
    if record is None or record.state not in (SendState.UNKNOWN, SendState.CLAIMED):
        return
    sent = SendRecord(
        key=record.key,
        phone_number=record.phone_number,
        kind=record.kind,
        state=SendState.SENT,
        updated_at=ports.clock(),
        message_id=receipt.message_id,
        parts=record.parts,
        claim=record.claim,
        version=record.version,
    )
    tally = None
    if record.kind == BROADCAST_KIND:  # UNKNOWN -> SENT, or CLAIMED -> SENT
        tally = {Tally.SENT.value: 1}
        if record.state is SendState.UNKNOWN:
            tally[Tally.UNKNOWN.value] = -1
    try:
        ports.store.save_send(sent, expected_version=record.version, tally=tally)
    except SendConflict:
        return
