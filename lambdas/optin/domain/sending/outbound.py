"""What waits in the send queue, and what the table remembers about each send.

Every SMS the service sends is an ``OutboundMessage`` put on the send queue by the use case
that decided it (a registration, a reply) and sent later by the sender. Its ``key`` names
what it is, for whom and for which claim, so the same message enqueued twice, or delivered
twice by the queue, has one key and one ``SendRecord``: the record is what makes a send
happen once. The key is an opaque hash: it travels in SendTextMessage's ``Context`` and
the delivery events, which must never carry a phone number.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from optin.domain.language.messages import Template

# The kind of a broadcast's messages (every other kind is a Template value).
BROADCAST_KIND = "broadcast"


def message_key(kind: str, phone_number: str, claim: str) -> str:
    """One key per message: its kind, its destination and the claim it was decided for (a
    confirmation's claim, the inbound message a reply answers, a broadcast)."""
    digest = hashlib.sha256(f"{kind}\n{phone_number}\n{claim}".encode()).hexdigest()
    return f"m-{digest[:40]}"


@dataclass(frozen=True)
class OutboundMessage:
    """One SMS waiting in the send queue."""

    key: str
    kind: str  # a Template value (confirmation, welcome...), or a broadcast's kind
    phone_number: str
    body: str
    queued_at: datetime
    claim: str = ""  # a confirmation: the claim it was queued for (see lifecycle)
    correlation_id: str = ""  # the registration request it answers
    inbound_message_id: str = ""  # the reply it answers
    broadcast: bool = False  # on the broadcast queue, behind every transactional message
    # An opt-out confirmation: the number goes on the opt-out list once it has left (the
    # platform refuses to text a listed number, so the list has to wait for it).
    list_after: bool = False

    @classmethod
    def decided(
        cls,
        kind: Template,
        phone_number: str,
        body: str,
        now: datetime,
        *,
        claim: str,
        correlation_id: str = "",
        inbound_message_id: str = "",
        list_after: bool = False,
    ) -> OutboundMessage:
        """A transactional message, keyed by what decided it."""
        return cls._keyed(
            kind.value,
            phone_number,
            claim,
            body,
            now,
            correlation_id=correlation_id,
            inbound_message_id=inbound_message_id,
            list_after=list_after,
        )

    @classmethod
    def for_broadcast(
        cls, broadcast_id: str, phone_number: str, template: str, now: datetime
    ) -> OutboundMessage:
        """A broadcast's message to one number: at most one per (broadcast, number). Its
        body is the broadcast's text with its placeholders: the sender fills them in."""
        return cls._keyed(BROADCAST_KIND, phone_number, broadcast_id, template, now, broadcast=True)

    @classmethod
    def _keyed(
        cls, kind: str, phone_number: str, claim: str, body: str, now: datetime, **more: Any
    ) -> OutboundMessage:
        """A message keyed by its kind, its number and its claim (``message_key``)."""
        return cls(
            key=message_key(kind, phone_number, claim),
            kind=kind,
            phone_number=phone_number,
            body=body,
            queued_at=now,
            claim=claim,
            **more,
        )


@dataclass(frozen=True)
class PlanStep:
    """A step of a broadcast's planner, on the broadcast queue: plan page ``page``, which
    starts at ``cursor`` (None: the first page)."""

    broadcast_id: str
    page: int
    cursor: str | None
    queued_at: datetime


class SendState(enum.StrEnum):
    """Where one message's send stands. Only RESERVED and CLAIMED can still change."""

    RESERVED = "RESERVED"  # a slot is reserved; the message waits in the queue until then
    CLAIMED = "CLAIMED"  # a sender is sending it, until its lease ends
    SENT = "SENT"
    SKIPPED = "SKIPPED"  # not sent: the number opted out meanwhile, or the claim is gone
    DROPPED = "DROPPED"  # a confirmation that waited longer than the maximum delay
    BLOCKED = "BLOCKED"  # the platform's opt-out list refused it
    FAILED = "FAILED"  # the platform refused it for good
    UNKNOWN = "UNKNOWN"  # maybe sent (a sender stopped between sending and recording)
    ERASED = "ERASED"  # the number was erased: never sent now, its receipts not recorded

    @property
    def settled(self) -> bool:
        return self not in (SendState.RESERVED, SendState.CLAIMED)


@dataclass(frozen=True)
class SendRecord:
    """The table's memory of one message key: a send happens once because every change of
    it is a write conditional on the ``version`` that was read."""

    key: str
    phone_number: str
    kind: str
    state: SendState
    updated_at: datetime
    slot: datetime | None = None  # the reserved moment to send at
    lease_until: datetime | None = None  # a CLAIMED record belongs to its sender until then
    message_id: str = ""  # End User Messaging's id, once sent
    parts: int = 0
    claim: str = ""
    # A broadcast's message waiting for the recipient's quiet hours to end, until then.
    waiting_until: datetime | None = None
    reason: str = ""  # why a SKIPPED message was skipped
    version: int = 0
