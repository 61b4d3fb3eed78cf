"""Broadcasts: created once, then saved conditional on their version; counters added."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from optin.adapters.dynamodb.base import TableStore, unavailable
from optin.adapters.dynamodb.codec import (
    COUNT_PREFIX,
    broadcast_from_item,
    broadcast_item,
    format_time,
)
from optin.adapters.schema import PARTITION_KEY, broadcast_key
from optin.domain.broadcasts.model import Broadcast
from optin.domain.ports import ConcurrentUpdate


class BroadcastTable(TableStore):
    """A broadcast's item: its plan, its cancellation and its counters."""

    def broadcast(self, broadcast_id: str) -> Broadcast | None:
        item = self._get_item(broadcast_key(broadcast_id))
        return broadcast_from_item(item) if item else None

    def create_broadcast(self, broadcast: Broadcast) -> Broadcast:
        saved = replace(broadcast, version=1)
        self._call(
            "put_item",
            TableName=self.table_name,
            Item=broadcast_item(saved),
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
            values[":cancelled"] = {"S": format_time(broadcast.cancelled_at)}
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
            raise unavailable(error) from error
        except BotoCoreError as error:
            raise unavailable(error) from error
        return broadcast_from_item(answer["Attributes"])

    def tally_broadcast(self, broadcast_id: str, add: Mapping[str, int]) -> None:
        if add:
            self._call("update_item", **tally_update(self.table_name, broadcast_id, add))


def _tally_adds(add: Mapping[str, int], names: dict[str, str], values: dict[str, Any]) -> str:
    """``ADD`` clauses for a broadcast's counters (their attributes are ``count_<name>``)."""
    clauses = []
    for index, (name, amount) in enumerate(sorted(add.items())):
        if amount:
            names[f"#c{index}"] = COUNT_PREFIX + name
            values[f":c{index}"] = {"N": str(amount)}
            clauses.append(f"#c{index} :c{index}")
    return ", ".join(clauses)


def tally_update(table_name: str, broadcast_id: str, add: Mapping[str, int]) -> dict[str, Any]:
    """An update adding ``add`` to a broadcast's counters (in a transaction or alone)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    expression = "ADD " + _tally_adds(add, names, values)
    return {
        "TableName": table_name,
        "Key": broadcast_key(broadcast_id),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
