"""The subscriber and its consent ledger, as plain data."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Status(enum.StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    OPTED_OUT = "OPTED_OUT"
    EXPIRED = "EXPIRED"

    @property
    def opt_out(self) -> str:
        """The seed's endpoint OptOut value: NONE only once confirmed."""
        return "NONE" if self is Status.CONFIRMED else "ALL"


class EventType(enum.StrEnum):
    REGISTERED = "REGISTERED"
    REGISTRATION_REPEATED = "REGISTRATION_REPEATED"
    RESUBSCRIBE_REQUESTED = "RESUBSCRIBE_REQUESTED"
    CONFIRMATION_SENT = "CONFIRMATION_SENT"
    WELCOME_SENT = "WELCOME_SENT"
    EXPIRED_NOTICE_SENT = "EXPIRED_NOTICE_SENT"
    OPT_OUT_CONFIRMATION_SENT = "OPT_OUT_CONFIRMATION_SENT"
    SIGNUP_SENT = "SIGNUP_SENT"
    HELP_SENT = "HELP_SENT"
    SMS_FAILED = "SMS_FAILED"
    SMS_BLOCKED_OPTED_OUT = "SMS_BLOCKED_OPTED_OUT"
    INBOUND = "INBOUND"
    CONFIRMED = "CONFIRMED"
    EXPIRED = "EXPIRED"
    OPTED_OUT = "OPTED_OUT"
    REMOVED_BY_OPERATOR = "REMOVED_BY_OPERATOR"
    # The send queue and the delivery receipts.
    SMS_SENT = "SMS_SENT"  # an SMS without an event of its own left
    SMS_SKIPPED = "SMS_SKIPPED"  # a queued SMS was not sent: opted out meanwhile, or superseded
    SMS_OUTCOME_UNKNOWN = "SMS_OUTCOME_UNKNOWN"  # maybe sent: never sent again
    CONFIRMATION_DROPPED = "CONFIRMATION_DROPPED"  # not sent in time; the claim was released
    DELIVERED = "DELIVERED"  # the carrier reported the SMS delivered
    FAILED = "FAILED"  # the carrier reported the SMS undelivered
    BROADCAST_SENT = "BROADCAST_SENT"  # a broadcast's message left (its id, the message id)
    ERASED = "ERASED"  # personal data erased on request, or after the retention of numbers
    # that never confirmed


class EventSource(enum.StrEnum):
    """What recorded a ledger event: always one of the service's own names, never text a
    client sent (the page a registration came from is the event's ``page`` detail)."""

    FORM = "form"  # a registration request, sent by the web form
    REGISTRATION = "registration"  # what a registration did: its confirmation sent or failed
    SMS = "sms"  # a reply from the handset
    PLATFORM = "platform"  # End User Messaging refused a send (opt-out list)
    OPERATOR = "operator"  # an operator's command
    HOUSEKEEPING = "housekeeping"  # the scheduled clean-up (expiry, erasure of the unconfirmed)


@dataclass(frozen=True)
class ConsentEvent:
    """One immutable ledger entry. ``details`` holds what the type calls for
    (request IP and user agent, disclosure version, message ids, raw inbound body...)."""

    type: EventType
    at: datetime
    source: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Subscriber:
    phone_number: str
    status: Status
    created_at: datetime
    updated_at: datetime
    first_name: str = ""
    last_name: str = ""
    source: str = ""  # the page the form was on (the tutorial's Source)
    country: str = ""
    timezone: str = ""
    carrier: str = ""
    number_type: str = ""
    requested_at: datetime | None = None  # start of the confirmation window
    confirmation_sent_at: datetime | None = None
    confirmations_day: str = ""  # UTC date the counter below belongs to
    confirmations_that_day: int = 0
    # Registration attempts, in every state: the cool-down and the daily cap count these.
    last_attempt_at: datetime | None = None
    attempts_day: str = ""  # UTC date the counter below belongs to
    attempts_that_day: int = 0
    confirmed_at: datetime | None = None
    opted_out_at: datetime | None = None
    expired_at: datetime | None = None
    expired_notice_at: datetime | None = None
    resubscribe_requested_at: datetime | None = None
    correlation_id: str = ""
    # The latest broadcast sent to this subscriber (the frequency limit counts from it).
    last_broadcast_at: datetime | None = None
    last_broadcast_id: str = ""
    version: int = 0

    @property
    def opt_out(self) -> str:
        return self.status.opt_out


@dataclass(frozen=True)
class ErasedNumber:
    """What stays of an erased number, stored under a keyed hash of it: the state it must
    keep (an opted-out number is never texted again) and when it was erased."""

    status: Status | None  # None: nothing but ledger events was stored for the number
    erased_at: datetime
    opted_out_at: datetime | None = None


class Dimension(enum.StrEnum):
    """What subscribers are counted by (the segments)."""

    STATUS = "status"
    SOURCE = "source"
    COUNTRY = "country"


@dataclass(frozen=True)
class SubscriberFilter:
    status: Status | None = None
    source: str | None = None
    country: str | None = None
