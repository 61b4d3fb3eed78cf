"""The table's items and the domain's values, each way.

The one way to read or write an item of the table (layout in ``schema``): the store uses
these functions, and so must any other reader of its items (a DynamoDB Streams consumer,
a benchmark seeding the table), so that an attribute's name and format live in one place.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from optin.adapters.schema import (
    COUNTED_ATTRIBUTE,
    ERASED_PREFIX,
    PARTITION_KEY,
    SORT_KEY,
    STATUS_INDEX_PARTITION_KEY,
    STATUS_INDEX_SORT_KEY,
    SUBSCRIBER_PREFIX,
    TTL_ATTRIBUTE,
    broadcast_key,
    erased_key,
    event_key,
    inbound_key,
    send_key,
    subscriber_key,
)
from optin.domain.broadcasts.model import Broadcast, Segment
from optin.domain.language.messages import Template
from optin.domain.model import ConsentEvent, ErasedNumber, EventType, Status, Subscriber
from optin.domain.ports import InboundMarker, InvalidCursor, LedgerEntry
from optin.domain.sending.outbound import SendRecord, SendState
from optin.domain.subscribers.fields import FIELDS

INBOUND_MARKER_DAYS = 30
# Longer than a message can wait in the send queue (14 days), so any delivery of it finds
# its record, and than the delivery receipts take to arrive (72 hours).
SEND_RECORD_DAYS = 30

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Subscriber field -> item attribute (the seed's endpoint meaning, in camelCase): the fields
# a person gives, as declared, then the service's own.
_TEXT_FIELDS = {
    **{field.attribute: field.key for field in FIELDS},
    "country": "country",
    "timezone": "timezone",
    "carrier": "carrier",
    "number_type": "numberType",
    "confirmations_day": "confirmationsDay",
    "attempts_day": "attemptsDay",
    "correlation_id": "correlationId",
    "last_broadcast_id": "lastBroadcastId",
}
_TIME_FIELDS = {
    "created_at": "createdAt",
    "updated_at": "updatedAt",
    "requested_at": "requestedAt",
    "confirmation_sent_at": "confirmationSentAt",
    "last_attempt_at": "lastAttemptAt",
    "confirmed_at": "confirmedAt",
    "opted_out_at": "optedOutAt",
    "expired_at": "expiredAt",
    "expired_notice_at": "expiredNoticeAt",
    "resubscribe_requested_at": "resubscribeRequestedAt",
    "last_broadcast_at": "lastBroadcastAt",
}


def format_time(moment: datetime) -> str:
    """Times are stored as ISO 8601 text to the microsecond: they sort as they compare."""
    return moment.isoformat(timespec="microseconds")


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def encode_cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, key_names: frozenset[str]) -> dict[str, Any]:
    """A cursor's state; its key ``k`` (where DynamoDB resumes) must name exactly
    ``key_names``, each a string, so no cursor can make DynamoDB refuse the request."""
    if not cursor:
        return {}
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        raise InvalidCursor("not a cursor this API handed out") from None
    if not isinstance(state, dict):
        raise InvalidCursor("not a cursor this API handed out")
    key = state.get("k")
    if key is not None and not (
        isinstance(key, dict)
        and set(key) == key_names
        and all(
            isinstance(value, dict)
            and set(value) == {"S"}
            and isinstance(value["S"], str)
            and value["S"]
            for value in key.values()
        )
    ):
        raise InvalidCursor("not a cursor this API handed out")
    return state


TABLE_KEY = frozenset((PARTITION_KEY, SORT_KEY))
INDEX_KEY = frozenset((PARTITION_KEY, SORT_KEY, STATUS_INDEX_PARTITION_KEY, STATUS_INDEX_SORT_KEY))


def send_record_item(record: SendRecord) -> dict[str, Any]:
    expires = record.updated_at + timedelta(days=SEND_RECORD_DAYS)
    item: dict[str, Any] = {
        **send_key(record.key),
        "phoneNumber": {"S": record.phone_number},
        "kind": {"S": record.kind},
        "state": {"S": record.state.value},
        "updatedAt": {"S": format_time(record.updated_at)},
        "parts": {"N": str(record.parts)},
        "version": {"N": str(record.version)},
        TTL_ATTRIBUTE: {"N": str(int(expires.timestamp()))},
    }
    for attribute, text in (
        ("messageId", record.message_id),
        ("claim", record.claim),
        ("reason", record.reason),
    ):
        if text:
            item[attribute] = {"S": text}
    for attribute, moment in (
        ("slot", record.slot),
        ("leaseUntil", record.lease_until),
        ("waitingUntil", record.waiting_until),
    ):
        if moment is not None:
            item[attribute] = {"S": format_time(moment)}
    return item


def send_record_from_item(item: dict[str, Any]) -> SendRecord:
    key = item[PARTITION_KEY]["S"].removeprefix("SEND#")
    return SendRecord(
        key=key,
        phone_number=item["phoneNumber"]["S"],
        kind=item["kind"]["S"],
        state=SendState(item["state"]["S"]),
        updated_at=datetime.fromisoformat(item["updatedAt"]["S"]),
        slot=parse_time(item.get("slot", {}).get("S")),
        lease_until=parse_time(item.get("leaseUntil", {}).get("S")),
        message_id=item.get("messageId", {}).get("S", ""),
        parts=int(item.get("parts", {"N": "0"})["N"]),
        claim=item.get("claim", {}).get("S", ""),
        waiting_until=parse_time(item.get("waitingUntil", {}).get("S")),
        reason=item.get("reason", {}).get("S", ""),
        version=int(item["version"]["N"]),
    )


COUNT_PREFIX = "count_"


def broadcast_item(broadcast: Broadcast) -> dict[str, Any]:
    segment = broadcast.segment
    item: dict[str, Any] = {
        **broadcast_key(broadcast.broadcast_id),
        "template": {"S": broadcast.template},
        "parts": {"N": str(broadcast.parts)},
        "encoding": {"S": broadcast.encoding},
        "segment": {
            "S": json.dumps(
                {
                    "source": segment.source,
                    "country": segment.country,
                    "confirmedAfter": format_time(segment.confirmed_after)
                    if segment.confirmed_after
                    else None,
                    "confirmedBefore": format_time(segment.confirmed_before)
                    if segment.confirmed_before
                    else None,
                }
            )
        },
        "createdAt": {"S": format_time(broadcast.created_at)},
        "sendAt": {"S": format_time(broadcast.send_at)},
        "createdBy": {"S": broadcast.created_by or "-"},
        "pagesPlanned": {"N": str(broadcast.pages_planned)},
        "handedOn": {"N": str(broadcast.handed_on)},
        "planned": {"BOOL": broadcast.planned},
        "version": {"N": str(broadcast.version)},
    }
    if broadcast.plan_cursor is not None:
        item["planCursor"] = {"S": broadcast.plan_cursor}
    if broadcast.cancelled_at is not None:
        item["cancelledAt"] = {"S": format_time(broadcast.cancelled_at)}
    return item


def broadcast_from_item(item: dict[str, Any]) -> Broadcast:
    segment = json.loads(item["segment"]["S"])
    created = datetime.fromisoformat(item["createdAt"]["S"])
    send_at = datetime.fromisoformat(item["sendAt"]["S"])
    return Broadcast(
        broadcast_id=item[PARTITION_KEY]["S"].removeprefix("BROADCAST#"),
        template=item["template"]["S"],
        parts=int(item["parts"]["N"]),
        encoding=item["encoding"]["S"],
        segment=Segment(
            source=segment.get("source"),
            country=segment.get("country"),
            confirmed_after=parse_time(segment.get("confirmedAfter")),
            confirmed_before=parse_time(segment.get("confirmedBefore")),
        ),
        created_at=created,
        send_at=send_at,
        created_by=item["createdBy"]["S"],
        cancelled_at=parse_time(item.get("cancelledAt", {}).get("S")),
        pages_planned=int(item["pagesPlanned"]["N"]),
        handed_on=int(item["handedOn"]["N"]),
        plan_cursor=item.get("planCursor", {}).get("S"),
        planned=item["planned"]["BOOL"],
        counts={
            name.removeprefix(COUNT_PREFIX): int(value["N"])
            for name, value in item.items()
            if name.startswith(COUNT_PREFIX)
        },
        version=int(item["version"]["N"]),
    )


def ledger_entry(item: dict[str, Any], cursor: str) -> LedgerEntry:
    partition = item[PARTITION_KEY]["S"]
    event = event_from_item(item)
    if partition.startswith(ERASED_PREFIX):
        return LedgerEntry("", partition.removeprefix(ERASED_PREFIX), event, cursor)
    return LedgerEntry(partition.removeprefix(SUBSCRIBER_PREFIX), "", event, cursor)


def subscriber_item(subscriber: Subscriber) -> dict[str, Any]:
    item: dict[str, Any] = {
        **subscriber_key(subscriber.phone_number),
        "phoneNumber": {"S": subscriber.phone_number},
        STATUS_INDEX_PARTITION_KEY: {"S": subscriber.status.value},
        "optOut": {"S": subscriber.opt_out},
        "confirmationsThatDay": {"N": str(subscriber.confirmations_that_day)},
        "attemptsThatDay": {"N": str(subscriber.attempts_that_day)},
        "version": {"N": str(subscriber.version)},
        COUNTED_ATTRIBUTE: {"BOOL": True},
    }
    for field, attribute in _TEXT_FIELDS.items():
        value = getattr(subscriber, field)
        if value:
            item[attribute] = {"S": value}
    for field, attribute in _TIME_FIELDS.items():
        moment = getattr(subscriber, field)
        if moment is not None:
            item[attribute] = {"S": format_time(moment)}
    return item


def subscriber_from_item(item: dict[str, Any]) -> Subscriber:
    fields: dict[str, Any] = {
        "phone_number": item["phoneNumber"]["S"],
        "status": Status(item[STATUS_INDEX_PARTITION_KEY]["S"]),
        "confirmations_that_day": int(item.get("confirmationsThatDay", {"N": "0"})["N"]),
        "attempts_that_day": int(item.get("attemptsThatDay", {"N": "0"})["N"]),
        "version": int(item["version"]["N"]),
    }
    for field, attribute in _TEXT_FIELDS.items():
        fields[field] = item.get(attribute, {}).get("S", "")
    for field, attribute in _TIME_FIELDS.items():
        fields[field] = parse_time(item.get(attribute, {}).get("S"))
    return Subscriber(**fields)


def event_item(phone_number: str, event: ConsentEvent, batch: str, position: int) -> dict[str, Any]:
    """Sorted by time, then by the write that recorded it (``batch``: when it was written,
    with a random part that keeps concurrent writers apart), then by position in that write
    (INBOUND before the transition it caused)."""
    key = event_key(phone_number, format_time(event.at), batch, position)
    return event_item_at(key[PARTITION_KEY]["S"], key[SORT_KEY]["S"], event)


def event_item_at(partition: str, sort_key: str, event: ConsentEvent) -> dict[str, Any]:
    return {
        PARTITION_KEY: {"S": partition},
        SORT_KEY: {"S": sort_key},
        "type": {"S": event.type.value},
        "at": {"S": format_time(event.at)},
        "source": {"S": event.source},
        "details": _serializer.serialize(event.details),
    }


def event_from_item(item: dict[str, Any]) -> ConsentEvent:
    return ConsentEvent(
        type=EventType(item["type"]["S"]),
        at=datetime.fromisoformat(item["at"]["S"]),
        source=item["source"]["S"],
        details=_deserializer.deserialize(item["details"]),
    )


def marker_item(marker: InboundMarker) -> dict[str, Any]:
    """An inbound marker; it expires ``INBOUND_MARKER_DAYS`` after the message arrived."""
    at = marker.received_at
    item: dict[str, Any] = {
        **inbound_key(marker.message_id),
        "phoneNumber": {"S": marker.phone_number},
        "receivedAt": {"S": format_time(at)},
        "details": _serializer.serialize({"removeOptOut": marker.remove_opt_out}),
        TTL_ATTRIBUTE: {"N": str(int((at + timedelta(days=INBOUND_MARKER_DAYS)).timestamp()))},
    }
    if marker.owed_sms is not None:
        item["owedSms"] = {"S": marker.owed_sms.value}
    if marker.add_opt_out:
        item["owedOptOut"] = {"BOOL": True}
    if marker.claimed_until is not None:
        item["claimedUntil"] = {"S": format_time(marker.claimed_until)}
    return item


def marker_from_item(message_id: str, item: dict[str, Any]) -> InboundMarker:
    owed = item.get("owedSms", {}).get("S")
    details = _deserializer.deserialize(item["details"]) if "details" in item else {}
    return InboundMarker(
        message_id=message_id,
        phone_number=item["phoneNumber"]["S"],
        received_at=datetime.fromisoformat(item["receivedAt"]["S"]),
        owed_sms=Template(owed) if owed else None,
        claimed_until=parse_time(item.get("claimedUntil", {}).get("S")),
        remove_opt_out=bool(details.get("removeOptOut")),
        add_opt_out="owedOptOut" in item,
    )


def erased_item(number_hash: str, record: ErasedNumber) -> dict[str, Any]:
    """What stays of an erased number, under its keyed hash."""
    item: dict[str, Any] = {
        **erased_key(number_hash),
        "erasedAt": {"S": format_time(record.erased_at)},
    }
    if record.status is not None:
        item["erasedStatus"] = {"S": record.status.value}
    if record.opted_out_at is not None:
        item["optedOutAt"] = {"S": format_time(record.opted_out_at)}
    return item


def erased_from_item(item: dict[str, Any]) -> ErasedNumber:
    status = item.get("erasedStatus", {}).get("S")
    return ErasedNumber(
        status=Status(status) if status else None,
        erased_at=datetime.fromisoformat(item["erasedAt"]["S"]),
        opted_out_at=parse_time(item.get("optedOutAt", {}).get("S")),
    )
