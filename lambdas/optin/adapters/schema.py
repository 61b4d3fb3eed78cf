"""The DynamoDB table, defined once.

The CDK stack and the tests (moto) both build the table from these names, so the
deployed schema and the tested one cannot drift apart.

One table holds every item of a number in one partition:

- ``pk=SUB#<e164>, sk=PROFILE``: the subscriber's current state;
- ``pk=SUB#<e164>, sk=EVENT#<utc>#<id>``: the consent ledger, written once, never updated;
- ``pk=INBOUND#<message id>, sk=INBOUND``: inbound de-duplication markers (TTL);
- ``pk=DISCLOSURE#<version>, sk=DISCLOSURE``: each disclosure text the form showed.
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expiresAt"

STATUS_INDEX = "byStatus"
STATUS_INDEX_PARTITION_KEY = "status"
STATUS_INDEX_SORT_KEY = "updatedAt"


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
