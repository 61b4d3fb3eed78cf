"""SubscriberStore (and OperatorStore) on one DynamoDB table (layout in ``schema``).

Every state change is conditional on the version that was read, and a transaction writes
the subscriber, its ledger events, the segment counters and the inbound marker together,
or nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from optin.adapters.schema import (
    COUNTED_ATTRIBUTE,
    ERASED_PREFIX,
    EVENT_PREFIX,
    PARTITION_KEY,
    PROFILE,
    SEGMENT_SHARDS,
    SORT_KEY,
    STATUS_INDEX,
    STATUS_INDEX_PARTITION_KEY,
    STATUS_INDEX_SORT_KEY,
    SUBSCRIBER_PREFIX,
    TTL_ATTRIBUTE,
    backfill_key,
    broadcast_key,
    daily_answer_key,
    disclosure_key,
    erased_key,
    erased_partition,
    event_key,
    inbound_key,
    limit_counter_key,
    rate_key,
    segment_key,
    segment_partition,
    segment_value,
    send_key,
    subscriber_key,
    subscriber_partition,
)
from optin.domain.broadcasts.model import Broadcast, Segment
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.language.messages import Template
from optin.domain.model import (
    ConsentEvent,
    Dimension,
    ErasedNumber,
    EventType,
    Status,
    Subscriber,
    SubscriberFilter,
)
from optin.domain.ports import (
    AlreadyProcessed,
    ConcurrentUpdate,
    InboundMarker,
    InvalidCursor,
    LedgerEntry,
    LimitCounter,
    Page,
    SendConflict,
)
from optin.domain.sending.outbound import SendRecord, SendState
from optin.domain.sending.pacing import Bucket

INBOUND_MARKER_DAYS = 30
LIMIT_COUNTER_DAYS = 1  # a limit's counter is kept a day past its period, then expires
DAILY_ANSWER_WINDOW = timedelta(days=1)
# Longer than a message can wait in the send queue (14 days), so any delivery of it finds
# its record, and than the delivery receipts take to arrive (72 hours).
SEND_RECORD_DAYS = 30
# The ledger export reads the table in this many scan segments, one after the other: how
# many are done is the export's progress.
EXPORT_SEGMENTS = 16
# Index items one page of subscribers examines at most, however few match its filter.
LIST_EXAMINED_PER_PAGE = 1000
# Ledger events moved per transaction by an erasure (a put and a delete each: 100 actions).
ERASE_BATCH = 50
_MAX_SEEN = 1024  # profiles remembered for their segment counters (one container)
# Answers that mean "busy or briefly down, retry later": error codes of a call, and the
# cancellation reasons of a transaction (which drop the "Exception" suffix).
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ProvisionedThroughputExceeded",
    "ThrottlingException",
    "ThrottlingError",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Subscriber field -> item attribute (the seed's endpoint meaning, in camelCase).
_TEXT_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "source": "source",
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


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# A profile's place in the segment counters: (status, source, country).
Segments = tuple[str, str, str]


def _segments(status: str, source: str, country: str) -> Segments:
    return (status, source, country)


def _dimension_values(segments: Segments) -> list[tuple[Dimension, str]]:
    status, source, country = segments
    return [(Dimension.STATUS, status), (Dimension.SOURCE, source), (Dimension.COUNTRY, country)]


def _encode_cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str | None, key_names: frozenset[str]) -> dict[str, Any]:
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


_TABLE_KEY = frozenset((PARTITION_KEY, SORT_KEY))
_INDEX_KEY = frozenset((PARTITION_KEY, SORT_KEY, STATUS_INDEX_PARTITION_KEY, STATUS_INDEX_SORT_KEY))


def _unavailable(error: ClientError | BotoCoreError) -> DependencyUnavailable:
    name = (
        error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
    )
    return DependencyUnavailable(Dependency.TABLE, f"DynamoDB unavailable: {name}")


def dynamodb_client() -> Any:
    return boto3.client("dynamodb", config=_CLIENT_CONFIG)


class DynamoSubscriberStore:
    """``erasure_key`` gives the key of the hash an erased number is kept under; it is
    called once, when first needed (None: no erasure happens here, none is looked up)."""

    def __init__(
        self,
        table_name: str,
        client: Any | None = None,
        *,
        erasure_key: Callable[[], bytes] | None = None,
    ) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()
        self._kept_disclosures: set[str] = set()  # versions this container already stored
        self._erasure_key_source = erasure_key
        self._erasure_key: bytes | None = None
        # number -> (version, its place in the counters or None when not counted), as read
        self._seen: dict[str, tuple[int, Segments | None]] = {}

    # Reads -------------------------------------------------------------------------------

    def get(self, phone_number: str) -> Subscriber | None:
        item = self._get_item(subscriber_key(phone_number))
        if item is None:
            return None
        self._remember(item)
        return _subscriber_from_item(item)

    def events(self, phone_number: str) -> list[ConsentEvent]:
        events: list[ConsentEvent] = []
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            "ExpressionAttributeValues": {
                ":pk": {"S": subscriber_partition(phone_number)},
                ":prefix": {"S": EVENT_PREFIX},
            },
            "ConsistentRead": True,
        }
        while True:
            page = self._call("query", **params)
            events.extend(_event_from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return events
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def phone_numbers_with_status(self, status: Status) -> list[str]:
        """Numbers in one state, from the sparse status index (operator use)."""
        numbers: list[str] = []
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :status",
            "ExpressionAttributeNames": {"#status": STATUS_INDEX_PARTITION_KEY},
            "ExpressionAttributeValues": {":status": {"S": status.value}},
        }
        while True:
            page = self._call("query", **params)
            numbers.extend(item["phoneNumber"]["S"] for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return numbers
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def inbound_marker(self, message_id: str) -> InboundMarker | None:
        item = self._get_item(inbound_key(message_id))
        if item is None:
            return None
        owed = item.get("owedSms", {}).get("S")
        details = _deserializer.deserialize(item["details"]) if "details" in item else {}
        return InboundMarker(
            message_id=message_id,
            phone_number=item["phoneNumber"]["S"],
            received_at=datetime.fromisoformat(item["receivedAt"]["S"]),
            owed_sms=Template(owed) if owed else None,
            claimed_until=_parse_time(item.get("claimedUntil", {}).get("S")),
            remove_opt_out=bool(details.get("removeOptOut")),
            add_opt_out="owedOptOut" in item,
        )

    # Writes ------------------------------------------------------------------------------

    def save(
        self,
        subscriber: Subscriber,
        events: Sequence[ConsentEvent] = (),
        *,
        expected_version: int | None,
        inbound: InboundMarker | None = None,
        event_id: str | None = None,
    ) -> Subscriber:
        """``expected_version`` None (or 0, a subscriber never stored) means "must not exist
        yet". The segment counters move from the state read at ``expected_version`` to the
        new one in the same transaction."""
        saved = replace(subscriber, version=(expected_version or 0) + 1)
        put, counters, after = self._profile_writes(saved, expected_version)
        event_puts = self._event_puts(saved.phone_number, events, event_id)
        writes = [put, *event_puts, *counters]
        once = tuple(range(1, 1 + len(event_puts))) if event_id is not None else ()
        if inbound is not None:
            once += (len(writes),)
            writes.append(self._marker_put(inbound))
        self._transact(writes, profile_index=0, once=once)
        self._see(saved.phone_number, saved.version, after)
        return saved

    def append(
        self,
        phone_number: str,
        events: Sequence[ConsentEvent],
        *,
        inbound: InboundMarker | None = None,
        event_id: str | None = None,
    ) -> None:
        writes = self._event_puts(phone_number, events, event_id)
        if inbound is not None:
            writes.append(self._marker_put(inbound))
        if writes:
            self._transact(writes, once=_once(writes, 0, event_id, inbound))

    def claim_owed_sms(self, message_id: str, now: datetime, until: datetime) -> bool:
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=inbound_key(message_id),
                UpdateExpression="SET claimedUntil = :until",
                ConditionExpression=(
                    "(attribute_exists(owedSms) OR attribute_exists(owedOptOut)) AND "
                    "(attribute_not_exists(claimedUntil) OR claimedUntil < :now)"
                ),
                ExpressionAttributeValues={
                    ":until": {"S": _time(until)},
                    ":now": {"S": _time(now)},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_owed_sms(self, message_id: str) -> None:
        self._call(
            "update_item",
            TableName=self.table_name,
            Key=inbound_key(message_id),
            UpdateExpression="REMOVE claimedUntil",
        )

    def settle_inbound(
        self,
        message_id: str,
        phone_number: str,
        events: Sequence[ConsentEvent],
        *,
        opt_out_owed: bool = False,
    ) -> None:
        settled = "owedSms, claimedUntil" if opt_out_owed else "owedSms, owedOptOut, claimedUntil"
        settle = {
            "Update": {
                "TableName": self.table_name,
                "Key": inbound_key(message_id),
                "UpdateExpression": f"REMOVE {settled}",
                "ConditionExpression": "attribute_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            }
        }
        self._transact([settle, *self._event_puts(phone_number, events)])

    def claim_daily_answer(
        self, phone_number: str, template: Template, message_id: str, now: datetime
    ) -> bool:
        try:
            self._call(
                "put_item",
                TableName=self.table_name,
                Item={
                    **daily_answer_key(phone_number, template.value),
                    "answeredAt": {"S": _time(now)},
                    "messageId": {"S": message_id},
                    TTL_ATTRIBUTE: {"N": str(int((now + 2 * DAILY_ANSWER_WINDOW).timestamp()))},
                },
                ConditionExpression=(
                    "attribute_not_exists(#pk) OR answeredAt <= :dayAgo OR messageId = :mine"
                ),
                ExpressionAttributeNames={"#pk": PARTITION_KEY},
                ExpressionAttributeValues={
                    ":dayAgo": {"S": _time(now - DAILY_ANSWER_WINDOW)},
                    ":mine": {"S": message_id},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def take_unit(self, counter: LimitCounter, limit: int) -> bool:
        expires = counter.ends_at + timedelta(days=LIMIT_COUNTER_DAYS)
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=_counter_key(counter),
                UpdateExpression="SET #expires = :expires ADD #count :one",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count", "#expires": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":expires": {"N": str(int(expires.timestamp()))},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def give_back_unit(self, counter: LimitCounter) -> None:
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=_counter_key(counter),
                UpdateExpression="ADD #count :minus_one",
                ConditionExpression="#count > :zero",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def limit_count(self, counter: LimitCounter) -> int:
        """The counter's value (0 when it was never taken or has expired)."""
        item = self._get_item(_counter_key(counter))
        return int(item["count"]["N"]) if item else 0

    def keep_disclosure(self, version: str, text: str) -> None:
        """Written once per version; this store remembers the versions it already kept, so
        a warm container does not write it on every registration."""
        if version in self._kept_disclosures:
            return
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item={**disclosure_key(version), "text": {"S": text}},
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": PARTITION_KEY},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise _unavailable(error) from error
        except BotoCoreError as error:
            raise _unavailable(error) from error
        self._kept_disclosures.add(version)

    def disclosure(self, version: str) -> str | None:
        item = self._get_item(disclosure_key(version))
        return item["text"]["S"] if item else None

    # Send records ------------------------------------------------------------------------

    def send_record(self, key: str) -> SendRecord | None:
        item = self._get_item(send_key(key))
        return _send_record_from_item(item) if item else None

    def save_send(
        self,
        record: SendRecord,
        *,
        expected_version: int | None,
        events: Sequence[ConsentEvent] = (),
        subscriber: Subscriber | None = None,
        tally: Mapping[str, int] | None = None,
    ) -> SendRecord:
        saved = replace(record, version=(expected_version or 0) + 1)
        put: dict[str, Any] = {"TableName": self.table_name, "Item": _send_record_item(saved)}
        put.update(_version_condition(expected_version))
        writes = [{"Put": put}, *self._event_puts(record.phone_number, events)]
        if tally:
            writes.append({"Update": self._tally_update(record.claim, tally)})
        profile_index = None
        changed = None
        if subscriber is not None:
            changed = replace(subscriber, version=subscriber.version + 1)
            put, counters, after = self._profile_writes(changed, subscriber.version)
            profile_index = len(writes)
            writes += [put, *counters]
        try:
            self._transact(writes, profile_index=profile_index)
        except ConcurrentUpdate as conflict:
            if conflict.args == ("transaction",):  # nothing was decided: try again later
                raise DependencyUnavailable(Dependency.TABLE, "transaction conflict") from conflict
            if subscriber is not None and conflict.args == ("profile",):
                raise
            raise SendConflict(record.key) from conflict
        if changed is not None:
            self._see(changed.phone_number, changed.version, after)
        return saved

    # Broadcasts --------------------------------------------------------------------------

    def broadcast(self, broadcast_id: str) -> Broadcast | None:
        item = self._get_item(broadcast_key(broadcast_id))
        return _broadcast_from_item(item) if item else None

    def create_broadcast(self, broadcast: Broadcast) -> Broadcast:
        saved = replace(broadcast, version=1)
        self._call(
            "put_item",
            TableName=self.table_name,
            Item=_broadcast_item(saved),
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
        )
        return saved

    def save_broadcast(
        self, broadcast: Broadcast, *, expected_version: int, add: Mapping[str, int] | None = None
    ) -> Broadcast:
        names = {"#version": "version"}
        values: dict[str, Any] = {
            ":expected": {"N": str(expected_version)},
            ":version": {"N": str(expected_version + 1)},
            ":pages": {"N": str(broadcast.pages_planned)},
            ":handed": {"N": str(broadcast.handed_on)},
            ":planned": {"BOOL": broadcast.planned},
        }
        sets = [
            "#version = :version",
            "pagesPlanned = :pages",
            "handedOn = :handed",
            "planned = :planned",
        ]
        removes = []
        if broadcast.plan_cursor is not None:
            sets.append("planCursor = :cursor")
            values[":cursor"] = {"S": broadcast.plan_cursor}
        else:
            removes.append("planCursor")
        if broadcast.cancelled_at is not None:
            sets.append("cancelledAt = :cancelled")
            values[":cancelled"] = {"S": _time(broadcast.cancelled_at)}
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        adds = _tally_adds(add or {}, names, values)
        if adds:
            expression += " ADD " + adds
        try:
            answer = self._client.update_item(
                TableName=self.table_name,
                Key=broadcast_key(broadcast.broadcast_id),
                UpdateExpression=expression,
                ConditionExpression="#version = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConcurrentUpdate(broadcast.broadcast_id) from error
            raise _unavailable(error) from error
        except BotoCoreError as error:
            raise _unavailable(error) from error
        return _broadcast_from_item(answer["Attributes"])

    def tally_broadcast(self, broadcast_id: str, add: Mapping[str, int]) -> None:
        if add:
            self._call("update_item", **self._tally_update(broadcast_id, add))

    def _tally_update(self, broadcast_id: str, add: Mapping[str, int]) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        expression = "ADD " + _tally_adds(add, names, values)
        return {
            "TableName": self.table_name,
            "Key": broadcast_key(broadcast_id),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    # Erased numbers ----------------------------------------------------------------------

    def number_hash(self, phone_number: str) -> str:
        """The keyed hash an erased number is kept under (HMAC-SHA256, hex)."""
        if self._erasure_key is None:
            if self._erasure_key_source is None:
                raise RuntimeError("this store has no erasure key")
            self._erasure_key = self._erasure_key_source()
        return hmac.new(self._erasure_key, phone_number.encode(), hashlib.sha256).hexdigest()

    def erased_number(self, phone_number: str) -> ErasedNumber | None:
        if self._erasure_key_source is None:
            return None
        item = self._get_item(erased_key(self.number_hash(phone_number)))
        if item is None:
            return None
        status = item.get("erasedStatus", {}).get("S")
        return ErasedNumber(
            status=Status(status) if status else None,
            erased_at=datetime.fromisoformat(item["erasedAt"]["S"]),
            opted_out_at=_parse_time(item.get("optedOutAt", {}).get("S")),
        )

    def erase(
        self,
        phone_number: str,
        *,
        expected_version: int | None,
        record: ErasedNumber,
        event: ConsentEvent,
        scrub: Callable[[ConsentEvent], ConsentEvent],
    ) -> None:
        """Events first (each moved in a transaction: never lost, never in both places),
        then the profile with the counters, the record and the ERASED event in one
        transaction, then whatever was appended meanwhile, then the inbound markers and the
        send records the ledger cites."""
        number_hash = self.number_hash(phone_number)
        before = self._counted_at(phone_number, expected_version) if expected_version else None
        up_to = f"{EVENT_PREFIX}{_time(event.at)}#~"  # later events are new activity
        message_ids, message_keys = self._move_events(phone_number, number_hash, scrub, up_to)
        profile: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": subscriber_key(phone_number),
        }
        if expected_version:
            profile["ConditionExpression"] = "#version = :version"
            profile["ExpressionAttributeNames"] = {"#version": "version"}
            profile["ExpressionAttributeValues"] = {":version": {"N": str(expected_version)}}
            first: dict[str, Any] = {"Delete": profile}
        else:
            profile["ConditionExpression"] = "attribute_not_exists(#pk)"
            profile["ExpressionAttributeNames"] = {"#pk": PARTITION_KEY}
            first = {"ConditionCheck": profile}
        tombstone: dict[str, Any] = {
            **erased_key(number_hash),
            "erasedAt": {"S": _time(record.erased_at)},
        }
        if record.status is not None:
            tombstone["erasedStatus"] = {"S": record.status.value}
        if record.opted_out_at is not None:
            tombstone["optedOutAt"] = {"S": _time(record.opted_out_at)}
        batch = f"{time.time_ns():020d}{uuid.uuid4().hex[:8]}"
        sort_key = event_key(phone_number, _time(event.at), batch, 0)[SORT_KEY]["S"]
        writes = [
            first,
            *self._counter_updates(before, None),
            {"Put": {"TableName": self.table_name, "Item": tombstone}},
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _event_item_at(erased_partition(number_hash), sort_key, event),
                }
            },
        ]
        self._transact(writes, profile_index=0)
        self._seen.pop(phone_number, None)
        later_ids, later_keys = self._move_events(phone_number, number_hash, scrub, up_to)
        for message_id in sorted(message_ids | later_ids):
            self._forget_in_marker(message_id, erased_partition(number_hash))
        for message_key in sorted(message_keys | later_keys):
            self._forget_in_send_record(message_key, erased_partition(number_hash))

    def _move_events(
        self,
        phone_number: str,
        number_hash: str,
        scrub: Callable[[ConsentEvent], ConsentEvent],
        up_to: str,
    ) -> tuple[set[str], set[str]]:
        """Move the number's events (up to ``up_to``) under its hash, scrubbed; returns the
        inbound message ids and the queued messages' keys they cite."""
        message_ids: set[str] = set()
        message_keys: set[str] = set()
        target = erased_partition(number_hash)
        while True:
            page = self._call(
                "query",
                TableName=self.table_name,
                KeyConditionExpression="#pk = :pk AND #sk BETWEEN :first AND :last",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
                ExpressionAttributeValues={
                    ":pk": {"S": subscriber_partition(phone_number)},
                    ":first": {"S": EVENT_PREFIX},
                    ":last": {"S": up_to},
                },
                ConsistentRead=True,
                Limit=ERASE_BATCH,
            )
            items = page.get("Items", [])
            if not items:
                return message_ids, message_keys
            writes: list[dict[str, Any]] = []
            for item in items:
                original = _event_from_item(item)
                cited = original.details.get("inboundMessageId")
                if isinstance(cited, str) and cited:
                    message_ids.add(cited)
                queued = original.details.get("messageKey")
                if isinstance(queued, str) and queued:
                    message_keys.add(queued)
                moved = _event_item_at(target, item[SORT_KEY]["S"], scrub(original))
                writes.append({"Put": {"TableName": self.table_name, "Item": moved}})
                writes.append(
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": {PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]},
                        }
                    }
                )
            self._transact(writes)

    def _forget_in_marker(self, message_id: str, placeholder: str) -> None:
        """An inbound marker (kept some days against redelivery) names the number: replace
        it, and drop any SMS still owed to it."""
        self._update_if_present(
            inbound_key(message_id),
            "SET phoneNumber = :erased REMOVE owedSms, claimedUntil",
            {},
            {":erased": {"S": placeholder}},
        )

    def _forget_in_send_record(self, message_key: str, placeholder: str) -> None:
        """A send record (kept some days against duplicates) names the number: replace it,
        and settle the record ERASED, so the message is never sent now and its receipts are
        not recorded."""
        self._update_if_present(
            send_key(message_key),
            "SET phoneNumber = :erased, #state = :state, #version = #version + :one",
            {"#state": "state", "#version": "version"},
            {
                ":erased": {"S": placeholder},
                ":state": {"S": SendState.ERASED.value},
                ":one": {"N": "1"},
            },
        )

    def _update_if_present(
        self,
        key: dict[str, Any],
        expression: str,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> None:
        """Update the item at ``key`` if there is one; nothing when there is none."""
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=key,
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(#pk)",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, **names},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise _unavailable(error) from error

    # Operator reads ----------------------------------------------------------------------

    def list_subscribers(
        self, where: SubscriberFilter, *, limit: int, cursor: str | None
    ) -> Page[Subscriber]:
        """From the status index (profiles only), newest change first, one status after
        the other; source and country are checked on the profiles read."""
        statuses = [where.status] if where.status else list(Status)
        state = _decode_cursor(cursor, _INDEX_KEY)
        position = state.get("s", 0)
        if not isinstance(position, int) or not 0 <= position <= len(statuses):
            raise InvalidCursor("not a cursor this API handed out")
        start_key = state.get("k")
        found: list[Subscriber] = []
        examined = 0
        while position < len(statuses) and examined < LIST_EXAMINED_PER_PAGE:
            params: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": STATUS_INDEX,
                "KeyConditionExpression": "#status = :status",
                "ExpressionAttributeNames": {"#status": STATUS_INDEX_PARTITION_KEY},
                "ExpressionAttributeValues": {":status": {"S": statuses[position].value}},
                "ScanIndexForward": False,
                "Limit": min(100, LIST_EXAMINED_PER_PAGE - examined),
            }
            if start_key:
                params["ExclusiveStartKey"] = start_key
            page = self._call("query", **params)
            items = page.get("Items", [])
            profiles = self._profiles(item["phoneNumber"]["S"] for item in items)
            for item in items:
                examined += 1
                subscriber = profiles.get(item["phoneNumber"]["S"])
                if subscriber is not None and _matches(subscriber, where):
                    found.append(subscriber)
                    if len(found) == limit:
                        next_key = _index_key(item)
                        return Page(found, _encode_cursor({"s": position, "k": next_key}))
            start_key = page.get("LastEvaluatedKey")
            if start_key is None:
                position += 1
        if position >= len(statuses):
            return Page(found, None)
        return Page(found, _encode_cursor({"s": position, "k": start_key}))

    def segment_counts(self, dimension: Dimension) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            "ExpressionAttributeValues": {":pk": {"S": segment_partition(dimension.value)}},
        }
        while True:
            page = self._call("query", **params)
            for item in page.get("Items", []):
                value = counts.setdefault(
                    segment_value(item[SORT_KEY]["S"]), dict.fromkeys(Status, 0)
                )
                for status in Status:
                    if status.value in item:
                        value[status.value] += int(item[status.value]["N"])
            if "LastEvaluatedKey" not in page:
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return {
            value: {str(status): count for status, count in by_status.items()}
            for value, by_status in sorted(counts.items())
            if any(by_status.values())
        }

    def ledger_entries(
        self, *, since: datetime | None, until: datetime | None, limit: int, cursor: str | None
    ) -> Page[LedgerEntry]:
        """A scan in ``EXPORT_SEGMENTS`` segments, one after the other; each entry carries
        the cursor that resumes right after it."""
        state = _decode_cursor(cursor, _TABLE_KEY)
        segment = state.get("g", 0)
        if not isinstance(segment, int) or not 0 <= segment <= EXPORT_SEGMENTS:
            raise InvalidCursor("not a cursor this API handed out")
        start_key = state.get("k")
        condition = "begins_with(#sk, :events)"
        names = {"#sk": SORT_KEY}
        values: dict[str, Any] = {":events": {"S": EVENT_PREFIX}}
        if since is not None or until is not None:
            names["#at"] = "at"
        if since is not None:
            condition += " AND #at >= :since"
            values[":since"] = {"S": _time(since)}
        if until is not None:
            condition += " AND #at < :until"
            values[":until"] = {"S": _time(until)}
        entries: list[LedgerEntry] = []
        while segment < EXPORT_SEGMENTS:
            params: dict[str, Any] = {
                "TableName": self.table_name,
                "Segment": segment,
                "TotalSegments": EXPORT_SEGMENTS,
                "FilterExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "Limit": max(limit - len(entries), 1),
            }
            if start_key:
                params["ExclusiveStartKey"] = start_key
            page = self._call("scan", **params)
            for item in page.get("Items", []):
                key = {PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]}
                entries.append(_ledger_entry(item, _encode_cursor({"g": segment, "k": key})))
                if len(entries) == limit:
                    return Page(entries, entries[-1].cursor, segment / EXPORT_SEGMENTS)
            start_key = page.get("LastEvaluatedKey")
            if start_key is None:
                segment += 1
        if segment >= EXPORT_SEGMENTS:
            return Page(entries, None, 1.0)
        return Page(
            entries,
            _encode_cursor({"g": segment, "k": start_key}),
            segment / EXPORT_SEGMENTS,
        )

    def stale(
        self, status: Status, before: datetime, *, limit: int, cursor: str | None
    ) -> Page[Subscriber]:
        state = _decode_cursor(cursor, _INDEX_KEY)
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :status AND #updated < :before",
            "ExpressionAttributeNames": {
                "#status": STATUS_INDEX_PARTITION_KEY,
                "#updated": STATUS_INDEX_SORT_KEY,
            },
            "ExpressionAttributeValues": {
                ":status": {"S": status.value},
                ":before": {"S": _time(before)},
            },
            "Limit": limit,
        }
        if state.get("k"):
            params["ExclusiveStartKey"] = state["k"]
        page = self._call("query", **params)
        items = page.get("Items", [])
        profiles = self._profiles(item["phoneNumber"]["S"] for item in items)
        found = [
            profiles[number]
            for number in (item["phoneNumber"]["S"] for item in items)
            if number in profiles
        ]
        next_key = page.get("LastEvaluatedKey")
        return Page(found, _encode_cursor({"k": next_key}) if next_key else None)

    def count_older_profiles(self, *, limit: int) -> bool:
        progress = self._get_item(backfill_key())
        if progress is not None and progress.get("done", {}).get("BOOL"):
            return True
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "#sk = :profile AND begins_with(#pk, :subscriber) "
            "AND attribute_not_exists(#counted)",
            "ExpressionAttributeNames": {
                "#sk": SORT_KEY,
                "#pk": PARTITION_KEY,
                "#counted": COUNTED_ATTRIBUTE,
            },
            "ExpressionAttributeValues": {
                ":profile": {"S": PROFILE},
                ":subscriber": {"S": SUBSCRIBER_PREFIX},
            },
            "Limit": limit,
        }
        if progress is not None and "cursor" in progress:
            params["ExclusiveStartKey"] = _decode_cursor(progress["cursor"]["S"], _TABLE_KEY)["k"]
        page = self._call("scan", **params)
        for item in page.get("Items", []):
            self._count_profile(item)
        next_key = page.get("LastEvaluatedKey")
        record: dict[str, Any] = {**backfill_key(), "done": {"BOOL": next_key is None}}
        if next_key is not None:
            record["cursor"] = {"S": _encode_cursor({"k": next_key})}
        self._call("put_item", TableName=self.table_name, Item=record)
        return next_key is None

    def _count_profile(self, item: dict[str, Any]) -> None:
        """Add one profile written before the counters existed, unless it changed since it
        was read (its next save counts it then)."""
        subscriber = _subscriber_from_item(item)
        mark = {
            "Update": {
                "TableName": self.table_name,
                "Key": subscriber_key(subscriber.phone_number),
                "UpdateExpression": "SET #counted = :true",
                "ConditionExpression": "#version = :version AND attribute_not_exists(#counted)",
                "ExpressionAttributeNames": {"#counted": COUNTED_ATTRIBUTE, "#version": "version"},
                "ExpressionAttributeValues": {
                    ":true": {"BOOL": True},
                    ":version": {"N": str(subscriber.version)},
                },
            }
        }
        after = _segments(subscriber.status.value, subscriber.source, subscriber.country)
        try:
            self._transact([mark, *self._counter_updates(None, after)], profile_index=0)
        except ConcurrentUpdate:
            return

    def _profiles(self, numbers: Iterable[str]) -> dict[str, Subscriber]:
        """The profiles of these numbers (BatchGetItem, consistent)."""
        wanted = list(dict.fromkeys(numbers))
        found: dict[str, Subscriber] = {}
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [subscriber_key(number) for number in wanted[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._call("batch_get_item", RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    subscriber = _subscriber_from_item(item)
                    found[subscriber.phone_number] = subscriber
                request = response.get("UnprocessedKeys") or {}
        return found

    # Segment counters --------------------------------------------------------------------

    def _remember(self, item: dict[str, Any]) -> None:
        counted = item.get(COUNTED_ATTRIBUTE, {}).get("BOOL", False)
        segments = (
            _segments(
                item[STATUS_INDEX_PARTITION_KEY]["S"],
                item.get("source", {}).get("S", ""),
                item.get("country", {}).get("S", ""),
            )
            if counted
            else None
        )
        self._see(item["phoneNumber"]["S"], int(item["version"]["N"]), segments)

    def _see(self, phone_number: str, version: int, segments: Segments | None) -> None:
        if len(self._seen) >= _MAX_SEEN:
            self._seen.clear()
        self._seen[phone_number] = (version, segments)

    def _counted_at(self, phone_number: str, version: int | None) -> Segments | None:
        """Where the stored profile at ``version`` is counted (None: nowhere). Known from
        the read that preceded the write; read again when this store did not make it."""
        if not version:
            return None
        seen = self._seen.get(phone_number)
        if seen is None or seen[0] != version:
            item = self._get_item(subscriber_key(phone_number))
            if item is None or int(item["version"]["N"]) != version:
                raise ConcurrentUpdate()
            self._remember(item)
            seen = self._seen[phone_number]
        return seen[1]

    def _counter_updates(
        self, before: Segments | None, after: Segments | None
    ) -> list[dict[str, Any]]:
        """ADDs that move the counters from ``before`` to ``after``, on one shard chosen at
        random (one item per dimension value, so no item appears twice)."""
        deltas: dict[tuple[Dimension, str], dict[str, int]] = {}
        for segments, sign in ((before, -1), (after, 1)):
            if segments is None:
                continue
            for dimension, value in _dimension_values(segments):
                by_status = deltas.setdefault((dimension, value), {})
                by_status[segments[0]] = by_status.get(segments[0], 0) + sign
        shard = random.randrange(SEGMENT_SHARDS)  # spreads writes; no secrecy needed
        updates = []
        for (dimension, value), by_status in deltas.items():
            changes = [(status, delta) for status, delta in by_status.items() if delta]
            if not changes:
                continue
            updates.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": segment_key(dimension.value, value, shard),
                        "UpdateExpression": "ADD "
                        + ", ".join(f"#s{i} :n{i}" for i in range(len(changes))),
                        "ExpressionAttributeNames": {
                            f"#s{i}": status for i, (status, _) in enumerate(changes)
                        },
                        "ExpressionAttributeValues": {
                            f":n{i}": {"N": str(delta)} for i, (_, delta) in enumerate(changes)
                        },
                    }
                }
            )
        return updates

    # Plumbing ----------------------------------------------------------------------------

    def _call(self, operation: str, **params: Any) -> Any:
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in _THROTTLED:
                raise _unavailable(error) from error
            if code == "ValidationException" and "ExclusiveStartKey" in params:
                # Only a cursor can make a read start where DynamoDB will not.
                raise InvalidCursor("not a cursor this API handed out") from error
            raise
        except BotoCoreError as error:
            raise _unavailable(error) from error

    def _get_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self._call("get_item", TableName=self.table_name, Key=key, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _profile_writes(
        self, saved: Subscriber, expected_version: int | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]], Segments]:
        """The profile's put, conditional on ``expected_version`` (None or 0: it must not
        exist yet), the counter updates that move it from where the version read is counted
        to where ``saved`` is, and that new place."""
        before = self._counted_at(saved.phone_number, expected_version)
        after = _segments(saved.status.value, saved.source, saved.country)
        put = self._subscriber_put(saved, expected_version or None)
        return put, self._counter_updates(before, after), after

    def _subscriber_put(self, saved: Subscriber, expected_version: int | None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table_name, "Item": _subscriber_item(saved)}
        put.update(_version_condition(expected_version))
        return {"Put": put}

    def _event_puts(
        self, phone_number: str, events: Sequence[ConsentEvent], event_id: str | None = None
    ) -> list[dict[str, Any]]:
        """``event_id``: the same id always gives the same keys (a second write is refused);
        otherwise the write is named by its time and a random part."""
        batch = (
            "id" + hashlib.sha256(event_id.encode()).hexdigest()[:26]
            if event_id is not None
            else f"{time.time_ns():020d}{uuid.uuid4().hex[:8]}"
        )
        return [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _event_item(phone_number, event, batch, position),
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
                }
            }
            for position, event in enumerate(events)
        ]

    def _marker_put(self, marker: InboundMarker) -> dict[str, Any]:
        at = marker.received_at
        item: dict[str, Any] = {
            **inbound_key(marker.message_id),
            "phoneNumber": {"S": marker.phone_number},
            "receivedAt": {"S": _time(at)},
            "details": _serializer.serialize({"removeOptOut": marker.remove_opt_out}),
            TTL_ATTRIBUTE: {"N": str(int((at + timedelta(days=INBOUND_MARKER_DAYS)).timestamp()))},
        }
        if marker.owed_sms is not None:
            item["owedSms"] = {"S": marker.owed_sms.value}
        if marker.add_opt_out:
            item["owedOptOut"] = {"BOOL": True}
        if marker.claimed_until is not None:
            item["claimedUntil"] = {"S": _time(marker.claimed_until)}
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            }
        }

    def _transact(
        self,
        writes: list[dict[str, Any]],
        *,
        profile_index: int | None = None,
        once: tuple[int, ...] = (),
    ) -> None:
        """Write all or nothing. A failed condition raises AlreadyProcessed at an index of
        ``once`` (a marker, an event id), ConcurrentUpdate("profile") at ``profile_index``,
        ConcurrentUpdate() elsewhere."""
        try:
            if len(writes) == 1 and "Put" in writes[0]:
                self._client.put_item(**writes[0]["Put"])
            else:
                self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ConditionalCheckFailedException":
                if once:
                    raise AlreadyProcessed() from error
                raise ConcurrentUpdate("profile" if profile_index == 0 else None) from error
            if code != "TransactionCanceledException":
                if code in _THROTTLED:
                    raise _unavailable(error) from error
                raise
            reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
            failed = {
                index for index, reason in enumerate(reasons) if reason == "ConditionalCheckFailed"
            }
            if failed & set(once):
                raise AlreadyProcessed() from error
            if profile_index in failed:
                raise ConcurrentUpdate("profile") from error
            if failed:
                raise ConcurrentUpdate() from error
            if "TransactionConflict" in reasons:
                raise ConcurrentUpdate("transaction") from error
            if any(reason in _THROTTLED for reason in reasons):
                raise _unavailable(error) from error
            raise
        except BotoCoreError as error:
            raise _unavailable(error) from error


def _once(
    writes: list[dict[str, Any]], first_event: int, event_id: str | None, inbound: object
) -> tuple[int, ...]:
    """The indexes of ``writes`` that are written once for good: the events named by an id,
    and the inbound marker (last)."""
    last = len(writes) - 1
    events = range(first_event, last if inbound is not None else last + 1)
    return (*(events if event_id is not None else ()), *((last,) if inbound is not None else ()))


def _version_condition(expected_version: int | None) -> dict[str, Any]:
    """Conditional on the version that was read; None: the item must not exist yet."""
    if expected_version is None:
        return {
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
        }
    return {
        "ConditionExpression": "#version = :version",
        "ExpressionAttributeNames": {"#version": "version"},
        "ExpressionAttributeValues": {":version": {"N": str(expected_version)}},
    }


def _send_record_item(record: SendRecord) -> dict[str, Any]:
    expires = record.updated_at + timedelta(days=SEND_RECORD_DAYS)
    item: dict[str, Any] = {
        **send_key(record.key),
        "phoneNumber": {"S": record.phone_number},
        "kind": {"S": record.kind},
        "state": {"S": record.state.value},
        "updatedAt": {"S": _time(record.updated_at)},
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
            item[attribute] = {"S": _time(moment)}
    return item


def _send_record_from_item(item: dict[str, Any]) -> SendRecord:
    key = item[PARTITION_KEY]["S"].removeprefix("SEND#")
    return SendRecord(
        key=key,
        phone_number=item["phoneNumber"]["S"],
        kind=item["kind"]["S"],
        state=SendState(item["state"]["S"]),
        updated_at=datetime.fromisoformat(item["updatedAt"]["S"]),
        slot=_parse_time(item.get("slot", {}).get("S")),
        lease_until=_parse_time(item.get("leaseUntil", {}).get("S")),
        message_id=item.get("messageId", {}).get("S", ""),
        parts=int(item.get("parts", {"N": "0"})["N"]),
        claim=item.get("claim", {}).get("S", ""),
        waiting_until=_parse_time(item.get("waitingUntil", {}).get("S")),
        reason=item.get("reason", {}).get("S", ""),
        version=int(item["version"]["N"]),
    )


_COUNT_PREFIX = "count_"


def _tally_adds(add: Mapping[str, int], names: dict[str, str], values: dict[str, Any]) -> str:
    """``ADD`` clauses for a broadcast's counters (their attributes are ``count_<name>``)."""
    clauses = []
    for index, (name, amount) in enumerate(sorted(add.items())):
        if amount:
            names[f"#c{index}"] = _COUNT_PREFIX + name
            values[f":c{index}"] = {"N": str(amount)}
            clauses.append(f"#c{index} :c{index}")
    return ", ".join(clauses)


def _broadcast_item(broadcast: Broadcast) -> dict[str, Any]:
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
                    "confirmedAfter": _time(segment.confirmed_after)
                    if segment.confirmed_after
                    else None,
                    "confirmedBefore": _time(segment.confirmed_before)
                    if segment.confirmed_before
                    else None,
                }
            )
        },
        "createdAt": {"S": _time(broadcast.created_at)},
        "sendAt": {"S": _time(broadcast.send_at)},
        "createdBy": {"S": broadcast.created_by or "-"},
        "pagesPlanned": {"N": str(broadcast.pages_planned)},
        "handedOn": {"N": str(broadcast.handed_on)},
        "planned": {"BOOL": broadcast.planned},
        "version": {"N": str(broadcast.version)},
    }
    if broadcast.plan_cursor is not None:
        item["planCursor"] = {"S": broadcast.plan_cursor}
    if broadcast.cancelled_at is not None:
        item["cancelledAt"] = {"S": _time(broadcast.cancelled_at)}
    return item


def _broadcast_from_item(item: dict[str, Any]) -> Broadcast:
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
            confirmed_after=_parse_time(segment.get("confirmedAfter")),
            confirmed_before=_parse_time(segment.get("confirmedBefore")),
        ),
        created_at=created,
        send_at=send_at,
        created_by=item["createdBy"]["S"],
        cancelled_at=_parse_time(item.get("cancelledAt", {}).get("S")),
        pages_planned=int(item["pagesPlanned"]["N"]),
        handed_on=int(item["handedOn"]["N"]),
        plan_cursor=item.get("planCursor", {}).get("S"),
        planned=item["planned"]["BOOL"],
        counts={
            name.removeprefix(_COUNT_PREFIX): int(value["N"])
            for name, value in item.items()
            if name.startswith(_COUNT_PREFIX)
        },
        version=int(item["version"]["N"]),
    )


class DynamoRateBucket:
    """RateBucket: one item per origination identity (``schema.rate_key``), replaced by a
    write conditional on the version that was read."""

    def __init__(self, table_name: str, origination_identity: str, client: Any) -> None:
        self.table_name = table_name
        self._key = rate_key(origination_identity)
        self._client = client

    def load(self) -> Bucket:
        try:
            response = self._client.get_item(
                TableName=self.table_name, Key=self._key, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error) from error
        item = response.get("Item")
        if not item:
            return Bucket()
        recent = tuple(
            (int(start), int(parts))
            for start, parts in (
                entry.split(":") for entry in item.get("recent", {}).get("S", "").split() if entry
            )
        )
        return Bucket(
            next_start=int(item["nextStart"]["N"]), recent=recent, version=int(item["version"]["N"])
        )

    def store(self, bucket: Bucket) -> bool:
        previous = bucket.version - 1
        item = {
            **self._key,
            "nextStart": {"N": str(bucket.next_start)},
            "recent": {"S": " ".join(f"{start}:{parts}" for start, parts in bucket.recent)},
            "version": {"N": str(bucket.version)},
        }
        try:
            self._client.put_item(
                TableName=self.table_name, Item=item, **_version_condition(previous or None)
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise _unavailable(error) from error
        except BotoCoreError as error:
            raise _unavailable(error) from error
        return True


def _counter_key(counter: LimitCounter) -> dict[str, Any]:
    return limit_counter_key(counter.kind.value, counter.scope, counter.period)


def _matches(subscriber: Subscriber, where: SubscriberFilter) -> bool:
    return (where.source is None or subscriber.source == where.source) and (
        where.country is None or subscriber.country == where.country
    )


def _index_key(item: dict[str, Any]) -> dict[str, Any]:
    """Where a status-index query resumes after this item."""
    return {
        name: item[name]
        for name in (PARTITION_KEY, SORT_KEY, STATUS_INDEX_PARTITION_KEY, STATUS_INDEX_SORT_KEY)
    }


def _ledger_entry(item: dict[str, Any], cursor: str) -> LedgerEntry:
    partition = item[PARTITION_KEY]["S"]
    event = _event_from_item(item)
    if partition.startswith(ERASED_PREFIX):
        return LedgerEntry("", partition.removeprefix(ERASED_PREFIX), event, cursor)
    return LedgerEntry(partition.removeprefix(SUBSCRIBER_PREFIX), "", event, cursor)


def _subscriber_item(subscriber: Subscriber) -> dict[str, Any]:
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
            item[attribute] = {"S": _time(moment)}
    return item


def _subscriber_from_item(item: dict[str, Any]) -> Subscriber:
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
        fields[field] = _parse_time(item.get(attribute, {}).get("S"))
    return Subscriber(**fields)


def _event_item(
    phone_number: str, event: ConsentEvent, batch: str, position: int
) -> dict[str, Any]:
    """Sorted by time, then by the write that recorded it (``batch``: when it was written,
    with a random part that keeps concurrent writers apart), then by position in that write
    (INBOUND before the transition it caused)."""
    key = event_key(phone_number, _time(event.at), batch, position)
    return _event_item_at(key[PARTITION_KEY]["S"], key[SORT_KEY]["S"], event)


def _event_item_at(partition: str, sort_key: str, event: ConsentEvent) -> dict[str, Any]:
    return {
        PARTITION_KEY: {"S": partition},
        SORT_KEY: {"S": sort_key},
        "type": {"S": event.type.value},
        "at": {"S": _time(event.at)},
        "source": {"S": event.source},
        "details": _serializer.serialize(event.details),
    }


def _event_from_item(item: dict[str, Any]) -> ConsentEvent:
    return ConsentEvent(
        type=EventType(item["type"]["S"]),
        at=datetime.fromisoformat(item["at"]["S"]),
        source=item["source"]["S"],
        details=_deserializer.deserialize(item["details"]),
    )
