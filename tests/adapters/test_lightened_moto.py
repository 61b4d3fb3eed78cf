"""Local mode's lighter moto keeps DynamoDB's all-or-nothing transactions: a transaction
that fails leaves no trace of the writes it made before the failing condition."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.service import lighten_moto
from tests.support.harness import moto_table

TABLE = "subscribers"


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def add_one(pk: str, sk: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": key(pk, sk),
            "UpdateExpression": "ADD #count :one",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def put(pk: str, sk: str, condition: str | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"TableName": TABLE, "Item": key(pk, sk)}
    if condition:
        action["ConditionExpression"] = condition
    return {"Put": action}


def count(client: Any, pk: str, sk: str) -> int | None:
    item = client.get_item(TableName=TABLE, Key=key(pk, sk)).get("Item")
    return int(item["count"]["N"]) if item and "count" in item else None


def test_a_failed_transaction_undoes_its_updates_puts_and_deletes() -> None:
    lighten_moto()
    with mock_aws():
        client = moto_table(TABLE)
        client.put_item(TableName=TABLE, Item={**key("A", "1"), "count": {"N": "1"}})
        client.put_item(TableName=TABLE, Item=key("C", "1"))
        with pytest.raises(ClientError) as refused:
            client.transact_write_items(
                TransactItems=[
                    add_one("A", "1"),
                    put("B", "1"),
                    {"Delete": {"TableName": TABLE, "Key": key("C", "1")}},
                    put("D", "1", condition="attribute_exists(pk)"),  # fails: no such item
                ]
            )
        assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
        assert count(client, "A", "1") == 1
        assert "Item" not in client.get_item(TableName=TABLE, Key=key("B", "1"))
        assert "Item" in client.get_item(TableName=TABLE, Key=key("C", "1"))
        # The same without the failing condition applies every action, once.
        client.transact_write_items(TransactItems=[add_one("A", "1"), add_one("A", "2")])
        assert (count(client, "A", "1"), count(client, "A", "2")) == (2, 1)
