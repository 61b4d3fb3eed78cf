"""SubscriberStore on one DynamoDB table (layout in ``schema``).

Every state change is conditional on the version that was read, and a transaction writes
the subscriber, its ledger events and the inbound marker together, or nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from optin.adapters.schema import (
    EVENT_PREFIX,
    PARTITION_KEY,
    SORT_KEY,
    STATUS_INDEX,
    STATUS_INDEX_PARTITION_KEY,
    TTL_ATTRIBUTE,
    daily_answer_key,
    disclosure_key,
    event_key,
    inbound_key,
    limit_counter_key,
    subscriber_key,
    subscriber_partition,
)
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.messages import Template
from optin.domain.model import ConsentEvent, EventType, Status, Subscriber
from optin.domain.ports import AlreadyProcessed, ConcurrentUpdate, InboundMarker, LimitCounter

INBOUND_MARKER_DAYS = 30
LIMIT_COUNTER_DAYS = 1  # a limit's counter is kept a day past its period, then expires
DAILY_ANSWER_WINDOW = timedelta(days=1)
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
}


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _unavailable(error: ClientError | BotoCoreError) -> DependencyUnavailable:
    name = (
        error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
    )
    return DependencyUnavailable(Dependency.TABLE, f"DynamoDB unavailable: {name}")


class DynamoSubscriberStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)
        self._kept_disclosures: set[str] = set()  # versions this container already stored

    # Reads -------------------------------------------------------------------------------

    def get(self, phone_number: str) -> Subscriber | None:
        item = self._get_item(subscriber_key(phone_number))
        return _subscriber_from_item(item) if item else None

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
    ) -> Subscriber:
        saved = replace(subscriber, version=(expected_version or 0) + 1)
        put: dict[str, Any] = {"TableName": self.table_name, "Item": _subscriber_item(saved)}
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(#pk)"
            put["ExpressionAttributeNames"] = {"#pk": PARTITION_KEY}
        else:
            put["ConditionExpression"] = "#version = :version"
            put["ExpressionAttributeNames"] = {"#version": "version"}
            put["ExpressionAttributeValues"] = {":version": {"N": str(expected_version)}}
        writes = [{"Put": put}, *self._event_puts(saved.phone_number, events)]
        if inbound is not None:
            writes.append(self._marker_put(inbound))
        self._transact(writes, profile_index=0, marker_index=len(writes) - 1 if inbound else None)
        return saved

    def append(
        self,
        phone_number: str,
        events: Sequence[ConsentEvent],
        *,
        inbound: InboundMarker | None = None,
    ) -> None:
        writes = self._event_puts(phone_number, events)
        if inbound is not None:
            writes.append(self._marker_put(inbound))
        if writes:
            self._transact(writes, marker_index=len(writes) - 1 if inbound else None)

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

    # Plumbing ----------------------------------------------------------------------------

    def _call(self, operation: str, **params: Any) -> Any:
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as error:
            if error.response["Error"]["Code"] in _THROTTLED:
                raise _unavailable(error) from error
            raise
        except BotoCoreError as error:
            raise _unavailable(error) from error

    def _get_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self._call("get_item", TableName=self.table_name, Key=key, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _event_puts(
        self, phone_number: str, events: Sequence[ConsentEvent]
    ) -> list[dict[str, Any]]:
        batch = f"{time.time_ns():020d}{uuid.uuid4().hex[:8]}"
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
        marker_index: int | None = None,
    ) -> None:
        try:
            if len(writes) == 1 and "Put" in writes[0]:
                self._client.put_item(**writes[0]["Put"])
            else:
                self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ConditionalCheckFailedException":
                if marker_index is not None:
                    raise AlreadyProcessed() from error
                raise ConcurrentUpdate() from error
            if code != "TransactionCanceledException":
                if code in _THROTTLED:
                    raise _unavailable(error) from error
                raise
            reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
            if marker_index is not None and _reason_at(reasons, marker_index) == (
                "ConditionalCheckFailed"
            ):
                raise AlreadyProcessed() from error
            if profile_index is not None and _reason_at(reasons, profile_index) == (
                "ConditionalCheckFailed"
            ):
                raise ConcurrentUpdate() from error
            if "TransactionConflict" in reasons:
                raise ConcurrentUpdate() from error
            if any(reason in _THROTTLED for reason in reasons):
                raise _unavailable(error) from error
            raise
        except BotoCoreError as error:
            raise _unavailable(error) from error


def _counter_key(counter: LimitCounter) -> dict[str, Any]:
    return limit_counter_key(counter.kind.value, counter.scope, counter.period)


def _reason_at(reasons: list[str], index: int) -> str:
    return reasons[index] if index < len(reasons) else ""


def _subscriber_item(subscriber: Subscriber) -> dict[str, Any]:
    item: dict[str, Any] = {
        **subscriber_key(subscriber.phone_number),
        "phoneNumber": {"S": subscriber.phone_number},
        STATUS_INDEX_PARTITION_KEY: {"S": subscriber.status.value},
        "optOut": {"S": subscriber.opt_out},
        "confirmationsThatDay": {"N": str(subscriber.confirmations_that_day)},
        "attemptsThatDay": {"N": str(subscriber.attempts_that_day)},
        "version": {"N": str(subscriber.version)},
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
    return {
        **event_key(phone_number, _time(event.at), batch, position),
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
