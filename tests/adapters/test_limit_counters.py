"""The counters of the limits across numbers, on the DynamoDB adapter (moto): conditional
updates that never pass their limit, however many callers race."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber

from local.service import LockedClient
from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.adapters.dynamodb.sending import LIMIT_COUNTER_DAYS
from optin.adapters.schema import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, limit_counter_key
from optin.domain.errors import DependencyUnavailable
from optin.domain.subscribers import limits
from tests.support.harness import all_at_once

NOW = datetime(2026, 11, 23, 15, 20, tzinfo=UTC)
PREFIX, DAY = limits.counters("+12065550142", NOW)


def item(dynamodb, counter) -> dict:
    key = limit_counter_key(counter.kind.value, counter.scope, counter.period)
    return dynamodb.get_item(TableName="subscribers", Key=key).get("Item", {})


def test_counter_items_are_keyed_by_prefix_and_hour_and_by_day_and_expire_a_day_later(
    store, dynamodb
):
    assert store.take_unit(PREFIX, 10)
    assert store.take_unit(DAY, 1_000)
    prefix = item(dynamodb, PREFIX)
    assert (prefix[PARTITION_KEY], prefix[SORT_KEY]) == (
        {"S": "LIMIT#PREFIX#+1206555"},
        {"S": "2026-11-23T15"},
    )
    assert prefix["count"] == {"N": "1"}
    ends = datetime(2026, 11, 23, 16, tzinfo=UTC) + timedelta(days=LIMIT_COUNTER_DAYS)
    assert prefix[TTL_ATTRIBUTE] == {"N": str(int(ends.timestamp()))}
    day = item(dynamodb, DAY)
    assert (day[PARTITION_KEY], day[SORT_KEY]) == ({"S": "LIMIT#DAY"}, {"S": "2026-11-23"})
    ends = datetime(2026, 11, 24, tzinfo=UTC) + timedelta(days=LIMIT_COUNTER_DAYS)
    assert day[TTL_ATTRIBUTE] == {"N": str(int(ends.timestamp()))}


def test_a_unit_is_taken_only_below_the_limit(store):
    assert [store.take_unit(PREFIX, 3) for _ in range(5)] == [True, True, True, False, False]
    assert store.limit_count(PREFIX) == 3
    assert store.take_unit(PREFIX, 4)  # an operator raised the limit
    assert not store.take_unit(PREFIX, 2)  # or lowered it: a fuller counter stays refused
    assert store.limit_count(PREFIX) == 4


def test_a_unit_given_back_can_be_taken_again_and_a_counter_never_goes_below_zero(store):
    store.give_back_unit(PREFIX)  # never taken: nothing happens
    assert store.limit_count(PREFIX) == 0
    assert store.take_unit(PREFIX, 1)
    assert not store.take_unit(PREFIX, 1)
    store.give_back_unit(PREFIX)
    store.give_back_unit(PREFIX)
    assert store.limit_count(PREFIX) == 0
    assert store.take_unit(PREFIX, 1)


def test_fifty_callers_racing_for_ten_units_get_exactly_ten(dynamodb):
    store = DynamoSubscriberStore("subscribers", client=LockedClient(dynamodb))
    taken = all_at_once(50, lambda _: store.take_unit(PREFIX, 10))
    assert taken.count(True) == 10
    assert taken.count(False) == 40
    assert store.limit_count(PREFIX) == 10


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_a_throttled_counter_is_a_dependency_unavailable(dynamodb, code):
    store = DynamoSubscriberStore("subscribers", client=dynamodb)
    with Stubber(dynamodb) as stub:
        stub.add_client_error("update_item", service_error_code=code, http_status_code=400)
        with pytest.raises(DependencyUnavailable):
            store.take_unit(PREFIX, 10)
        stub.add_client_error("update_item", service_error_code=code, http_status_code=400)
        with pytest.raises(DependencyUnavailable):
            store.give_back_unit(PREFIX)
