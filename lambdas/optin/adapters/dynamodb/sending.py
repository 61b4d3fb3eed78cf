"""Send records, the limits' counters, and the pace bucket (``DynamoRateBucket``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from optin.adapters.dynamodb.base import unavailable, version_condition
from optin.adapters.dynamodb.broadcasts import tally_update
from optin.adapters.dynamodb.codec import send_record_from_item, send_record_item
from optin.adapters.dynamodb.subscribers import SubscriberTable
from optin.adapters.schema import TTL_ATTRIBUTE, limit_counter_key, rate_key, send_key
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.model import ConsentEvent, Subscriber
from optin.domain.ports import ConcurrentUpdate, LimitCounter, SendConflict
from optin.domain.sending.outbound import SendRecord
from optin.domain.sending.pacing import Bucket

LIMIT_COUNTER_DAYS = 1  # a limit's counter is kept a day past its period, then expires


class SendTable(SubscriberTable):
    """Send records (written with the ledger events, the profile and the broadcast's
    counters they change) and the counters of the limits across numbers."""

    # Limit counters -----------------------------------------------------------------------

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

    # Send records ------------------------------------------------------------------------

    def send_record(self, key: str) -> SendRecord | None:
        item = self._get_item(send_key(key))
        return send_record_from_item(item) if item else None

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
        put: dict[str, Any] = {"TableName": self.table_name, "Item": send_record_item(saved)}
        put.update(version_condition(expected_version))
        writes = [{"Put": put}, *self._event_puts(record.phone_number, events)]
        if tally:
            writes.append({"Update": tally_update(self.table_name, record.claim, tally)})
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
            raise unavailable(error) from error
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
                TableName=self.table_name, Item=item, **version_condition(previous or None)
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise unavailable(error) from error
        except BotoCoreError as error:
            raise unavailable(error) from error
        return True


def _counter_key(counter: LimitCounter) -> dict[str, Any]:
    return limit_counter_key(counter.kind.value, counter.scope, counter.period)
