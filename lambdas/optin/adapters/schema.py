"""The DynamoDB table, defined once.

The CDK stack and the tests (moto) both build the table from these names, so the
deployed schema and the tested one cannot drift apart.

One table holds every item of a number in one partition:

- ``pk=SUB#<e164>, sk=PROFILE``: the subscriber's current state;
- ``pk=SUB#<e164>, sk=EVENT#<utc>#<id>``: the consent ledger, written once, never updated;
- ``pk=INBOUND#<message id>, sk=INBOUND``: inbound de-duplication markers (TTL);
- ``pk=ANSWERED#<e164>, sk=<template>``: when a number last got a once-a-day answer (TTL),
  subscriber or not;
- ``pk=DISCLOSURE#<version>, sk=DISCLOSURE``: each disclosure text the form showed;
- ``pk=SEND#<message key>, sk=SEND``: one queued SMS's send record (TTL);
- ``pk=RATE#<origination identity>, sk=RATE``: the pace bucket every sender shares.
- ``pk=ERASED#<keyed hash>, sk=PROFILE`` and ``sk=EVENT#...``: what stays of an erased
  number: its remembered state and its ledger without personal data (no number at all);
- ``pk=SEGMENT#<dimension>, sk=<value>#<shard>``: subscriber counts per status for one
  value of a dimension (status, source, country), kept by every state change;
- ``pk=META, sk=SEGMENTS_BACKFILL``: how far the counting of older profiles has come.
- ``pk=BROADCAST#<id>, sk=BROADCAST``: a broadcast: its text, segment, plan (page cursor)
  and counters;
- ``pk=LIMIT#PREFIX#<prefix>, sk=<UTC hour>`` and ``pk=LIMIT#DAY, sk=<UTC day>``: the
  counters of the limits across numbers (``count``, TTL a day after their period).
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expiresAt"

STATUS_INDEX = "byStatus"
STATUS_INDEX_PARTITION_KEY = "status"
STATUS_INDEX_SORT_KEY = "updatedAt"

PROFILE = "PROFILE"
INBOUND = "INBOUND"
DISCLOSURE = "DISCLOSURE"
SEND = "SEND"
RATE = "RATE"
BROADCAST = "BROADCAST"
EVENT_PREFIX = "EVENT#"
SUBSCRIBER_PREFIX = "SUB#"
ERASED_PREFIX = "ERASED#"
SEGMENT_PREFIX = "SEGMENT#"

# Counter items per (dimension, value): a state change adds to one of them, chosen at
# random, so concurrent transactions seldom touch the same item; a read sums them.
SEGMENT_SHARDS = 8
# A profile attribute: this profile's state is included in the segment counters.
COUNTED_ATTRIBUTE = "inSegments"

# Every key of the table is built here.


def _key(partition: str, sort: str) -> dict[str, Any]:
    return {PARTITION_KEY: {"S": partition}, SORT_KEY: {"S": sort}}


def subscriber_partition(phone_number: str) -> str:
    """The partition holding a number's profile and its ledger."""
    return f"{SUBSCRIBER_PREFIX}{phone_number}"


def subscriber_key(phone_number: str) -> dict[str, Any]:
    return _key(subscriber_partition(phone_number), PROFILE)


def event_key(phone_number: str, at: str, batch: str, position: int) -> dict[str, Any]:
    """A ledger event: sorted by time, then by the write that recorded it, then by its
    position in that write."""
    return _key(subscriber_partition(phone_number), f"{EVENT_PREFIX}{at}#{batch}#{position:02d}")


def inbound_key(message_id: str) -> dict[str, Any]:
    return _key(f"INBOUND#{message_id}", INBOUND)


def daily_answer_key(phone_number: str, template: str) -> dict[str, Any]:
    return _key(f"ANSWERED#{phone_number}", template)


def disclosure_key(version: str) -> dict[str, Any]:
    return _key(f"DISCLOSURE#{version}", DISCLOSURE)


def send_key(message_key: str) -> dict[str, Any]:
    return _key(f"SEND#{message_key}", SEND)


def broadcast_key(broadcast_id: str) -> dict[str, Any]:
    return _key(f"BROADCAST#{broadcast_id}", BROADCAST)


def rate_key(origination_identity: str) -> dict[str, Any]:
    return _key(f"RATE#{origination_identity}", RATE)


def erased_partition(number_hash: str) -> str:
    """What stays of an erased number: keyed by a keyed hash, never by the number."""
    return f"{ERASED_PREFIX}{number_hash}"


def erased_key(number_hash: str) -> dict[str, Any]:
    return _key(erased_partition(number_hash), PROFILE)


def segment_partition(dimension: str) -> str:
    return f"{SEGMENT_PREFIX}{dimension}"


def segment_key(dimension: str, value: str, shard: int) -> dict[str, Any]:
    return _key(segment_partition(dimension), f"{value}#{shard:02d}")


def segment_value(sort_key: str) -> str:
    """The dimension's value a counter item counts (its sort key less the shard)."""
    return sort_key.rsplit("#", 1)[0]


def backfill_key() -> dict[str, Any]:
    return _key("META", "SEGMENTS_BACKFILL")


def limit_counter_key(kind: str, scope: str, period: str) -> dict[str, Any]:
    """A limit's counter: one partition per prefix (or one for the daily budget), one item
    per period, so an operator can read a prefix's hours in one query."""
    return _key(f"LIMIT#{kind}#{scope}" if scope else f"LIMIT#{kind}", period)


def table_definition(table_name: str) -> dict[str, Any]:
    """Keyword arguments for ``dynamodb.create_table`` (used by tests and local mode)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
            {"AttributeName": STATUS_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": STATUS_INDEX_SORT_KEY, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": STATUS_INDEX,
                "KeySchema": [
                    {"AttributeName": STATUS_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": STATUS_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": ["phoneNumber", "optOut"],
                },
            }
        ],
    }
