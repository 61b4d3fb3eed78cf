"""Erasing a number: its ledger moved under a keyed hash, its profile deleted, and the
markers and send records that name it rewritten."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from optin.adapters.dynamodb.base import unavailable
from optin.adapters.dynamodb.codec import (
    erased_from_item,
    erased_item,
    event_from_item,
    event_item_at,
    format_time,
)
from optin.adapters.dynamodb.subscribers import SubscriberTable
from optin.adapters.schema import (
    EVENT_PREFIX,
    PARTITION_KEY,
    SORT_KEY,
    erased_key,
    erased_partition,
    event_key,
    inbound_key,
    send_key,
    subscriber_key,
    subscriber_partition,
)
from optin.domain.model import ConsentEvent, ErasedNumber
from optin.domain.sending.outbound import SendState

# Ledger events moved per transaction by an erasure (a put and a delete each: 100 actions).
ERASE_BATCH = 50


class ErasureTable(SubscriberTable):
    """Erasure: the ledger moves under the number's keyed hash, and the number is
    forgotten wherever else the table holds it."""

    _erasure_key_source: Callable[[], bytes] | None
    _erasure_key: bytes | None

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
        return erased_from_item(item)

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
        up_to = f"{EVENT_PREFIX}{format_time(event.at)}#~"  # later events are new activity
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
        batch = f"{time.time_ns():020d}{uuid.uuid4().hex[:8]}"
        sort_key = event_key(phone_number, format_time(event.at), batch, 0)[SORT_KEY]["S"]
        writes = [
            first,
            *self._counter_updates(before, None),
            {"Put": {"TableName": self.table_name, "Item": erased_item(number_hash, record)}},
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": event_item_at(erased_partition(number_hash), sort_key, event),
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
                original = event_from_item(item)
                cited = original.details.get("inboundMessageId")
                if isinstance(cited, str) and cited:
                    message_ids.add(cited)
                queued = original.details.get("messageKey")
                if isinstance(queued, str) and queued:
                    message_keys.add(queued)
                moved = event_item_at(target, item[SORT_KEY]["S"], scrub(original))
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
                raise unavailable(error) from error
