"""Profiles, their consent ledger, inbound markers, daily answers and disclosures, with
the segment counters every profile write keeps.

Every state change is conditional on the version that was read, and a transaction writes
the subscriber, its ledger events, the segment counters and the inbound marker together,
or nothing.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from optin.adapters.dynamodb.base import TableStore, unavailable, version_condition, written_once
from optin.adapters.dynamodb.codec import (
    event_from_item,
    event_item,
    format_time,
    marker_from_item,
    marker_item,
    subscriber_from_item,
    subscriber_item,
)
from optin.adapters.schema import (
    COUNTED_ATTRIBUTE,
    EVENT_PREFIX,
    PARTITION_KEY,
    SEGMENT_SHARDS,
    SORT_KEY,
    STATUS_INDEX_PARTITION_KEY,
    TTL_ATTRIBUTE,
    daily_answer_key,
    disclosure_key,
    inbound_key,
    segment_key,
    subscriber_key,
    subscriber_partition,
)
from optin.domain.language.messages import Template
from optin.domain.model import ConsentEvent, Dimension, Subscriber
from optin.domain.ports import ConcurrentUpdate, InboundMarker

DAILY_ANSWER_WINDOW = timedelta(days=1)
_MAX_SEEN = 1024  # profiles remembered for their segment counters (one container)

# A profile's place in the segment counters: (status, source, country).
Segments = tuple[str, str, str]


def segments_of(status: str, source: str, country: str) -> Segments:
    return (status, source, country)


def _dimension_values(segments: Segments) -> list[tuple[Dimension, str]]:
    status, source, country = segments
    return [(Dimension.STATUS, status), (Dimension.SOURCE, source), (Dimension.COUNTRY, country)]


class SubscriberTable(TableStore):
    """SubscriberStore: profiles, their ledger events, inbound markers, daily answers,
    disclosures; every profile write moves the segment counters in its transaction."""

    _kept_disclosures: set[str]  # versions this container already stored
    # number -> (version, its place in the counters or None when not counted), as read
    _seen: dict[str, tuple[int, Segments | None]]

    def get(self, phone_number: str) -> Subscriber | None:
        item = self._get_item(subscriber_key(phone_number))
        if item is None:
            return None
        self._remember(item)
        return subscriber_from_item(item)

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
            events.extend(event_from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return events
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def inbound_marker(self, message_id: str) -> InboundMarker | None:
        item = self._get_item(inbound_key(message_id))
        return marker_from_item(message_id, item) if item is not None else None

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
            self._transact(writes, once=written_once(writes, 0, event_id, inbound))

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
                    ":until": {"S": format_time(until)},
                    ":now": {"S": format_time(now)},
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
                    "answeredAt": {"S": format_time(now)},
                    "messageId": {"S": message_id},
                    TTL_ATTRIBUTE: {"N": str(int((now + 2 * DAILY_ANSWER_WINDOW).timestamp()))},
                },
                ConditionExpression=(
                    "attribute_not_exists(#pk) OR answeredAt <= :dayAgo OR messageId = :mine"
                ),
                ExpressionAttributeNames={"#pk": PARTITION_KEY},
                ExpressionAttributeValues={
                    ":dayAgo": {"S": format_time(now - DAILY_ANSWER_WINDOW)},
                    ":mine": {"S": message_id},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # Disclosures ------------------------------------------------------------------------

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
                raise unavailable(error) from error
        except BotoCoreError as error:
            raise unavailable(error) from error
        self._kept_disclosures.add(version)

    def disclosure(self, version: str) -> str | None:
        item = self._get_item(disclosure_key(version))
        return item["text"]["S"] if item else None

    # Segment counters --------------------------------------------------------------------

    def _remember(self, item: dict[str, Any]) -> None:
        counted = item.get(COUNTED_ATTRIBUTE, {}).get("BOOL", False)
        segments = (
            segments_of(
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

    def _profile_writes(
        self, saved: Subscriber, expected_version: int | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]], Segments]:
        """The profile's put, conditional on ``expected_version`` (None or 0: it must not
        exist yet), the counter updates that move it from where the version read is counted
        to where ``saved`` is, and that new place."""
        before = self._counted_at(saved.phone_number, expected_version)
        after = segments_of(saved.status.value, saved.source, saved.country)
        put = self._subscriber_put(saved, expected_version or None)
        return put, self._counter_updates(before, after), after

    def _subscriber_put(self, saved: Subscriber, expected_version: int | None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table_name, "Item": subscriber_item(saved)}
        put.update(version_condition(expected_version))
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
                    "Item": event_item(phone_number, event, batch, position),
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
                }
            }
            for position, event in enumerate(events)
        ]

    def _marker_put(self, marker: InboundMarker) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": marker_item(marker),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            }
        }
