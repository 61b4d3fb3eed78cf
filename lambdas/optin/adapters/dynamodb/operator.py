"""The operator's reads: subscribers by status, segment counts, the ledger export, stale
profiles, and the backfill of the segment counters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from optin.adapters.dynamodb.codec import (
    INDEX_KEY,
    TABLE_KEY,
    decode_cursor,
    encode_cursor,
    format_time,
    ledger_entry,
    subscriber_from_item,
)
from optin.adapters.dynamodb.subscribers import SubscriberTable, segments_of
from optin.adapters.schema import (
    COUNTED_ATTRIBUTE,
    EVENT_PREFIX,
    PARTITION_KEY,
    PROFILE,
    SORT_KEY,
    STATUS_INDEX,
    STATUS_INDEX_PARTITION_KEY,
    STATUS_INDEX_SORT_KEY,
    SUBSCRIBER_PREFIX,
    backfill_key,
    segment_partition,
    segment_value,
    subscriber_key,
)
from optin.domain.model import Dimension, Status, Subscriber, SubscriberFilter
from optin.domain.ports import ConcurrentUpdate, InvalidCursor, LedgerEntry, Page

# The ledger export reads the table in this many scan segments, one after the other: how
# many are done is the export's progress.
EXPORT_SEGMENTS = 16
# Index items one page of subscribers examines at most, however few match its filter.
LIST_EXAMINED_PER_PAGE = 1000


class OperatorTable(SubscriberTable):
    """What the operator API and housekeeping read (and the counters' backfill)."""

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

    def list_subscribers(
        self, where: SubscriberFilter, *, limit: int, cursor: str | None
    ) -> Page[Subscriber]:
        """From the status index (profiles only), newest change first, one status after
        the other; source and country are checked on the profiles read."""
        statuses = [where.status] if where.status else list(Status)
        state = decode_cursor(cursor, INDEX_KEY)
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
                        return Page(found, encode_cursor({"s": position, "k": next_key}))
            start_key = page.get("LastEvaluatedKey")
            if start_key is None:
                position += 1
        if position >= len(statuses):
            return Page(found, None)
        return Page(found, encode_cursor({"s": position, "k": start_key}))

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
        state = decode_cursor(cursor, TABLE_KEY)
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
            values[":since"] = {"S": format_time(since)}
        if until is not None:
            condition += " AND #at < :until"
            values[":until"] = {"S": format_time(until)}
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
                entries.append(ledger_entry(item, encode_cursor({"g": segment, "k": key})))
                if len(entries) == limit:
                    return Page(entries, entries[-1].cursor, segment / EXPORT_SEGMENTS)
            start_key = page.get("LastEvaluatedKey")
            if start_key is None:
                segment += 1
        if segment >= EXPORT_SEGMENTS:
            return Page(entries, None, 1.0)
        return Page(
            entries,
            encode_cursor({"g": segment, "k": start_key}),
            segment / EXPORT_SEGMENTS,
        )

    def stale(
        self, status: Status, before: datetime, *, limit: int, cursor: str | None
    ) -> Page[Subscriber]:
        state = decode_cursor(cursor, INDEX_KEY)
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
                ":before": {"S": format_time(before)},
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
        return Page(found, encode_cursor({"k": next_key}) if next_key else None)

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
            params["ExclusiveStartKey"] = decode_cursor(progress["cursor"]["S"], TABLE_KEY)["k"]
        page = self._call("scan", **params)
        for item in page.get("Items", []):
            self._count_profile(item)
        next_key = page.get("LastEvaluatedKey")
        record: dict[str, Any] = {**backfill_key(), "done": {"BOOL": next_key is None}}
        if next_key is not None:
            record["cursor"] = {"S": encode_cursor({"k": next_key})}
        self._call("put_item", TableName=self.table_name, Item=record)
        return next_key is None

    def _count_profile(self, item: dict[str, Any]) -> None:
        """Add one profile written before the counters existed, unless it changed since it
        was read (its next save counts it then)."""
        subscriber = subscriber_from_item(item)
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
        after = segments_of(subscriber.status.value, subscriber.source, subscriber.country)
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
                    subscriber = subscriber_from_item(item)
                    found[subscriber.phone_number] = subscriber
                request = response.get("UnprocessedKeys") or {}
        return found


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
