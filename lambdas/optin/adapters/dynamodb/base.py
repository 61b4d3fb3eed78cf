"""The DynamoDB client and the plumbing every part of the store shares: one call, one
all-or-nothing transaction, and the conditions they write under."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from optin.adapters.schema import PARTITION_KEY
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.ports import AlreadyProcessed, ConcurrentUpdate, InvalidCursor

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


def unavailable(error: ClientError | BotoCoreError) -> DependencyUnavailable:
    name = (
        error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
    )
    return DependencyUnavailable(Dependency.TABLE, f"DynamoDB unavailable: {name}")


def dynamodb_client() -> Any:
    return boto3.client("dynamodb", config=_CLIENT_CONFIG)


class TableStore:
    """What every part of the store shares: the table, the client, and the calls that
    turn DynamoDB's answers into the domain's errors."""

    table_name: str
    _client: Any

    def _call(self, operation: str, **params: Any) -> Any:
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in _THROTTLED:
                raise unavailable(error) from error
            if code == "ValidationException" and "ExclusiveStartKey" in params:
                # Only a cursor can make a read start where DynamoDB will not.
                raise InvalidCursor("not a cursor this API handed out") from error
            raise
        except BotoCoreError as error:
            raise unavailable(error) from error

    def _get_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self._call("get_item", TableName=self.table_name, Key=key, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

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
                    raise unavailable(error) from error
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
                raise unavailable(error) from error
            raise
        except BotoCoreError as error:
            raise unavailable(error) from error


def written_once(
    writes: list[dict[str, Any]], first_event: int, event_id: str | None, inbound: object
) -> tuple[int, ...]:
    """The indexes of ``writes`` that are written once for good: the events named by an id,
    and the inbound marker (last)."""
    last = len(writes) - 1
    events = range(first_event, last if inbound is not None else last + 1)
    return (*(events if event_id is not None else ()), *((last,) if inbound is not None else ()))


def version_condition(expected_version: int | None) -> dict[str, Any]:
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
