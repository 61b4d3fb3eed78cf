"""Send records, event ids and the rate bucket on the DynamoDB adapter (moto)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from optin.adapters.dynamodb import DynamoRateBucket, DynamoSubscriberStore
from optin.adapters.schema import rate_key, send_key
from optin.domain.errors import DependencyUnavailable
from optin.domain.model import ConsentEvent, EventType, Status, Subscriber
from optin.domain.ports import AlreadyProcessed, ConcurrentUpdate, SendConflict
from optin.domain.sending.outbound import SendRecord, SendState
from optin.domain.sending.pacing import reserve

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
NUMBER = "+12065550142"
IDENTITY = "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-0123"


def record(**fields: Any) -> SendRecord:
    values: dict[str, Any] = {
        "key": "m-0123456789abcdef0123456789abcdef01234567",
        "phone_number": NUMBER,
        "kind": "confirmation",
        "state": SendState.RESERVED,
        "updated_at": NOW,
        **fields,
    }
    return SendRecord(**values)


def event(kind: EventType = EventType.DELIVERED, at: datetime = NOW) -> ConsentEvent:
    return ConsentEvent(type=kind, at=at, source="platform", details={"messageId": "msg-1"})


def drop(store: DynamoSubscriberStore, claimed: SendRecord, subscriber: Subscriber) -> None:
    """Settle a claimed confirmation as dropped, its claim given back in one transaction."""
    store.save_send(
        replace(claimed, state=SendState.DROPPED),
        expected_version=claimed.version,
        events=[event(EventType.CONFIRMATION_DROPPED)],
        subscriber=replace(subscriber, confirmation_sent_at=None),
    )


def test_a_send_record_reads_back_as_written(store: DynamoSubscriberStore) -> None:
    written = record(
        state=SendState.CLAIMED,
        slot=NOW + timedelta(seconds=3),
        lease_until=NOW + timedelta(seconds=63),
        parts=2,
        claim="2026-11-23T15:00:00.000000+00:00",
    )
    saved = store.save_send(written, expected_version=None)
    assert saved.version == 1
    assert store.send_record(written.key) == saved
    assert store.send_record("m-unknown") is None


def test_a_send_record_expires_after_the_queue_could_keep_it(
    store: DynamoSubscriberStore, dynamodb: Any
) -> None:
    store.save_send(record(), expected_version=None)
    item = dynamodb.get_item(TableName="subscribers", Key=send_key(record().key))["Item"]
    assert int(item["expiresAt"]["N"]) == int((NOW + timedelta(days=30)).timestamp())
    assert NUMBER not in record().key


def test_a_record_changed_since_it_was_read_is_not_overwritten(
    store: DynamoSubscriberStore,
) -> None:
    first = store.save_send(record(), expected_version=None)
    with pytest.raises(SendConflict):
        store.save_send(record(state=SendState.CLAIMED), expected_version=None)
    claimed = store.save_send(replace(first, state=SendState.CLAIMED), expected_version=1)
    with pytest.raises(SendConflict):  # a second claim from the same read
        store.save_send(replace(first, state=SendState.CLAIMED), expected_version=1)
    assert store.send_record(first.key) == claimed


def test_settling_writes_the_record_its_events_and_the_subscriber_together(
    store: DynamoSubscriberStore,
) -> None:
    subscriber = store.save(
        Subscriber(NUMBER, Status.PENDING, NOW, NOW, confirmation_sent_at=NOW),
        expected_version=None,
    )
    claimed = store.save_send(record(state=SendState.CLAIMED), expected_version=None)
    drop(store, claimed, subscriber)
    assert store.send_record(claimed.key).state is SendState.DROPPED  # type: ignore[union-attr]
    assert [e.type for e in store.events(NUMBER)] == [EventType.CONFIRMATION_DROPPED]
    after = store.get(NUMBER)
    assert after is not None
    assert (after.confirmation_sent_at, after.version) == (None, 2)


def test_a_subscriber_that_changed_fails_the_whole_settlement(
    store: DynamoSubscriberStore,
) -> None:
    subscriber = store.save(Subscriber(NUMBER, Status.PENDING, NOW, NOW), expected_version=None)
    store.save(replace(subscriber, status=Status.CONFIRMED), expected_version=subscriber.version)
    claimed = store.save_send(record(state=SendState.CLAIMED), expected_version=None)
    with pytest.raises(ConcurrentUpdate):
        drop(store, claimed, subscriber)
    assert store.send_record(claimed.key).state is SendState.CLAIMED  # type: ignore[union-attr]
    assert store.events(NUMBER) == []


def test_a_transaction_conflict_is_a_retry_not_a_duplicate(
    store: DynamoSubscriberStore, dynamodb: Any
) -> None:
    claimed = store.save_send(record(state=SendState.CLAIMED), expected_version=None)
    conflict = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
            "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
        },
        "TransactWriteItems",
    )
    store._client = _Failing(dynamodb, "transact_write_items", conflict)  # type: ignore[attr-defined]
    with pytest.raises(DependencyUnavailable):
        store.save_send(
            replace(claimed, state=SendState.SENT),
            expected_version=claimed.version,
            events=[event(EventType.CONFIRMATION_SENT)],
        )


class _Failing:
    def __init__(self, client: Any, operation: str, error: Exception) -> None:
        self._client, self._operation, self._error = client, operation, error

    def __getattr__(self, name: str) -> Any:
        if name == self._operation:

            def fail(**_params: Any) -> Any:
                raise self._error

            return fail
        return getattr(self._client, name)


def test_events_with_an_id_are_written_once(store: DynamoSubscriberStore) -> None:
    store.append(NUMBER, [event()], event_id="delivery|msg-1|TEXT_DELIVERED")
    with pytest.raises(AlreadyProcessed):
        store.append(NUMBER, [event()], event_id="delivery|msg-1|TEXT_DELIVERED")
    store.append(NUMBER, [event(EventType.FAILED)], event_id="delivery|msg-1|TEXT_BLOCKED")
    assert [e.type for e in store.events(NUMBER)] == [EventType.DELIVERED, EventType.FAILED]


def test_a_save_with_an_event_id_is_written_once(store: DynamoSubscriberStore) -> None:
    subscriber = store.save(Subscriber(NUMBER, Status.PENDING, NOW, NOW), expected_version=None)
    saved = store.save(
        replace(subscriber, confirmation_sent_at=None),
        [event(EventType.FAILED)],
        expected_version=subscriber.version,
        event_id="delivery|msg-1|TEXT_BLOCKED",
    )
    with pytest.raises(AlreadyProcessed):
        store.save(
            saved,
            [event(EventType.FAILED)],
            expected_version=saved.version,
            event_id="delivery|msg-1|TEXT_BLOCKED",
        )
    assert store.get(NUMBER).version == saved.version  # type: ignore[union-attr]


def test_the_rate_bucket_round_trips_and_refuses_a_stale_write(dynamodb: Any) -> None:
    bucket = DynamoRateBucket("subscribers", IDENTITY, dynamodb)
    first = bucket.load()
    assert first.version == 0
    mine = reserve(first, NOW, 2, 20).bucket
    theirs = reserve(first, NOW, 1, 20).bucket
    assert bucket.store(mine)
    assert not bucket.store(theirs)  # read the same version: the second writer loses
    assert bucket.load() == mine
    again = reserve(bucket.load(), NOW, 1, 20)
    assert bucket.store(again.bucket)
    assert bucket.load().recent == again.bucket.recent
    item = dynamodb.get_item(TableName="subscribers", Key=rate_key(IDENTITY))["Item"]
    assert set(item) == {"pk", "sk", "nextStart", "recent", "version"}


def test_the_rate_bucket_names_dynamodb_when_it_fails(dynamodb: Any) -> None:
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "GetItem"
    )
    bucket = DynamoRateBucket("subscribers", IDENTITY, _Failing(dynamodb, "get_item", throttled))
    with pytest.raises(DependencyUnavailable, match="ProvisionedThroughputExceeded"):
        bucket.load()
