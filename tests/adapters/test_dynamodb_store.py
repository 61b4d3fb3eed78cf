"""The DynamoDB adapter against moto: round trips, conditional writes, transactions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.adapters.schema import TTL_ATTRIBUTE, subscriber_key
from optin.domain.errors import DependencyUnavailable
from optin.domain.language.messages import Template
from optin.domain.model import ConsentEvent, EventType, Status, Subscriber
from optin.domain.ports import AlreadyProcessed, ConcurrentUpdate, InboundMarker

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
NUMBER = "+12065550142"


def pending(**changes) -> Subscriber:
    base = Subscriber(
        phone_number=NUMBER,
        status=Status.PENDING,
        created_at=NOW,
        updated_at=NOW,
        first_name="Carlos",
        last_name="Salazar",
        source="test",
        country="US",
        timezone="America/Los_Angeles",
        number_type="MOBILE",
        requested_at=NOW,
        confirmation_sent_at=NOW,
        confirmations_day="2026-11-23",
        confirmations_that_day=1,
        correlation_id="corr-1",
    )
    return replace(base, **changes)


def event(kind=EventType.REGISTERED, **details) -> ConsentEvent:
    return ConsentEvent(type=kind, at=NOW, source="test", details={"ip": "203.0.113.9", **details})


def test_subscriber_round_trip(store):
    saved = store.save(pending(), [event()], expected_version=None)
    assert saved.version == 1
    assert store.get(NUMBER) == saved
    assert store.get("+14165550142") is None


def test_item_keeps_the_seed_meaning(store, dynamodb):
    store.save(pending(), expected_version=None)
    item = dynamodb.get_item(TableName="subscribers", Key=subscriber_key(NUMBER))["Item"]
    assert item["optOut"] == {"S": "ALL"}
    assert item["status"] == {"S": "PENDING"}
    assert item["source"] == {"S": "test"}
    store.save(pending(status=Status.CONFIRMED, confirmed_at=NOW), expected_version=1)
    item = dynamodb.get_item(TableName="subscribers", Key=subscriber_key(NUMBER))["Item"]
    assert item["optOut"] == {"S": "NONE"}
    assert item["confirmedAt"]["S"].startswith("2026-11-23T15:00")


def test_create_is_conditional(store):
    store.save(pending(), expected_version=None)
    with pytest.raises(ConcurrentUpdate):
        store.save(pending(), [event()], expected_version=None)
    assert len(store.events(NUMBER)) == 0  # the transaction wrote nothing


def test_update_is_conditional_on_the_version_read(store):
    store.save(pending(), expected_version=None)
    store.save(pending(first_name="A"), expected_version=1)
    with pytest.raises(ConcurrentUpdate):
        store.save(pending(first_name="B"), expected_version=1)
    assert store.get(NUMBER).first_name == "A"


def test_ledger_is_ordered_and_complete(store):
    store.save(pending(), [event(EventType.REGISTERED)], expected_version=None)
    later = ConsentEvent(
        EventType.CONFIRMATION_SENT, NOW.replace(minute=1), "x", {"messageId": "m"}
    )
    store.append(NUMBER, [later])
    events = store.events(NUMBER)
    assert [e.type for e in events] == [EventType.REGISTERED, EventType.CONFIRMATION_SENT]
    assert events[0].details == {"ip": "203.0.113.9"}
    assert events[1].at == NOW.replace(minute=1)


def test_ledger_pages_through_many_events(store):
    many = [
        replace(event(index=str(i), blob="x" * 9000), at=NOW.replace(microsecond=i))
        for i in range(150)
    ]  # 1.3 MB: two pages
    for start in range(0, 150, 50):
        store.append(NUMBER, many[start : start + 50])
    assert [e.details["index"] for e in store.events(NUMBER)] == [str(i) for i in range(150)]


def test_inbound_marker_makes_a_redelivery_a_no_op(store):
    store.save(pending(), expected_version=None)
    marker = InboundMarker("in-1", NUMBER, NOW, owed_sms=Template.WELCOME, remove_opt_out=True)
    store.save(pending(status=Status.CONFIRMED), [event()], expected_version=1, inbound=marker)
    with pytest.raises(AlreadyProcessed):
        store.save(pending(status=Status.CONFIRMED), [event()], expected_version=2, inbound=marker)
    with pytest.raises(AlreadyProcessed):
        store.append(NUMBER, [event()], inbound=marker)
    assert store.inbound_marker("in-1") == marker
    assert store.get(NUMBER).version == 2
    assert len(store.events(NUMBER)) == 1


def test_marker_expires_by_ttl_and_settles(store, dynamodb):
    store.append(
        NUMBER, [event()], inbound=InboundMarker("in-2", NUMBER, NOW, owed_sms=Template.EXPIRED)
    )
    item = dynamodb.get_item(
        TableName="subscribers", Key={"pk": {"S": "INBOUND#in-2"}, "sk": {"S": "INBOUND"}}
    )["Item"]
    assert int(item[TTL_ATTRIBUTE]["N"]) > NOW.timestamp() + 29 * 86400
    store.settle_inbound("in-2", NUMBER, [event(EventType.EXPIRED_NOTICE_SENT)])
    assert store.inbound_marker("in-2").owed_sms is None  # nothing owed any more
    assert [e.type for e in store.events(NUMBER)][-1] is EventType.EXPIRED_NOTICE_SENT


def test_disclosure_is_kept_once_by_version(store):
    store.keep_disclosure("d-0123456789ab", "first text")
    store.keep_disclosure("d-0123456789ab", "another text")
    assert store.disclosure("d-0123456789ab") == "first text"


def test_status_index_lists_numbers_in_a_state(store):
    store.save(pending(), expected_version=None)
    store.save(pending(phone_number="+14165550142", status=Status.CONFIRMED), expected_version=None)
    assert store.phone_numbers_with_status(Status.CONFIRMED) == ["+14165550142"]
    assert store.phone_numbers_with_status(Status.PENDING) == [NUMBER]


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"],
)
def test_throughput_errors_become_unavailable(dynamodb, code):
    store = DynamoSubscriberStore("subscribers", client=dynamodb)
    with Stubber(dynamodb) as stub:
        stub.add_client_error("get_item", service_error_code=code, http_status_code=400)
        with pytest.raises(DependencyUnavailable):
            store.get(NUMBER)
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields={"CancellationReasons": [{"Code": code}, {"Code": "None"}]},
        )
        with pytest.raises(DependencyUnavailable):
            store.save(pending(), [event()], expected_version=None)


def test_transaction_conflict_is_a_concurrent_update(dynamodb):
    store = DynamoSubscriberStore("subscribers", client=dynamodb)
    with Stubber(dynamodb) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields={
                "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]
            },
        )
        with pytest.raises(ConcurrentUpdate):
            store.save(pending(), [event()], expected_version=None)


def test_other_errors_are_not_swallowed(dynamodb):
    store = DynamoSubscriberStore("subscribers", client=dynamodb)
    with Stubber(dynamodb) as stub:
        stub.add_client_error("get_item", service_error_code="ResourceNotFoundException")
        with pytest.raises(ClientError):
            store.get(NUMBER)


def test_owed_sms_is_claimed_by_one_invocation_at_a_time(store):
    from datetime import timedelta

    marker = InboundMarker("in-3", NUMBER, NOW, owed_sms=Template.WELCOME, claimed_until=NOW)
    store.append(NUMBER, [event()], inbound=marker)
    later = NOW + timedelta(seconds=1)
    assert store.claim_owed_sms("in-3", later, later + timedelta(minutes=2)) is True
    assert store.claim_owed_sms("in-3", later, later + timedelta(minutes=2)) is False
    store.release_owed_sms("in-3")
    assert store.claim_owed_sms("in-3", later, later + timedelta(minutes=2)) is True
    store.settle_inbound("in-3", NUMBER, [])
    assert store.inbound_marker("in-3").claimed_until is None
    assert store.claim_owed_sms("in-3", later + timedelta(hours=1), later) is False  # settled


def test_marker_items_keep_their_stored_shape(store, dynamodb):
    """Markers written before the owed SMS and the opt-out removal were typed read the same."""
    marker = InboundMarker("in-4", NUMBER, NOW, owed_sms=Template.WELCOME, remove_opt_out=True)
    store.append(NUMBER, [event()], inbound=marker)
    key = {"pk": {"S": "INBOUND#in-4"}, "sk": {"S": "INBOUND"}}
    item = dynamodb.get_item(TableName="subscribers", Key=key)["Item"]
    assert item["owedSms"] == {"S": "welcome"}
    assert item["details"] == {"M": {"removeOptOut": {"BOOL": True}}}
    older = {
        **key,
        "phoneNumber": {"S": NUMBER},
        "receivedAt": {"S": "2026-11-23T15:00:00.000000+00:00"},
        "owedSms": {"S": "expired"},
        "details": {"M": {"removeOptOut": {"BOOL": False}}},
    }
    dynamodb.put_item(TableName="subscribers", Item={**older, "pk": {"S": "INBOUND#in-5"}})
    read = store.inbound_marker("in-5")
    assert (read.owed_sms, read.remove_opt_out) == (Template.EXPIRED, False)


def test_a_store_writes_each_disclosure_version_once(dynamodb):
    """The cache of kept versions lives in the store (one per container)."""
    calls = []

    class Counting:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(dynamodb, name)

    store = DynamoSubscriberStore("subscribers", client=Counting())
    store.keep_disclosure("d-0123456789ab", "first text")
    store.keep_disclosure("d-0123456789ab", "first text")
    assert calls.count("put_item") == 1
    another_container = DynamoSubscriberStore("subscribers", client=dynamodb)
    another_container.keep_disclosure("d-0123456789ab", "another text")
    assert store.disclosure("d-0123456789ab") == "first text"


def test_an_owed_opt_out_is_claimed_and_settled_like_an_owed_sms(store, dynamodb):
    from datetime import timedelta

    marker = InboundMarker("in-6", NUMBER, NOW, owed_sms=Template.STOP, add_opt_out=True)
    store.append(NUMBER, [event()], inbound=marker)
    key = {"pk": {"S": "INBOUND#in-6"}, "sk": {"S": "INBOUND"}}
    assert dynamodb.get_item(TableName="subscribers", Key=key)["Item"]["owedOptOut"] == {
        "BOOL": True
    }
    assert store.inbound_marker("in-6") == marker
    later = NOW + timedelta(seconds=1)
    assert store.claim_owed_sms("in-6", later, later + timedelta(minutes=2)) is True
    # The confirmation left, the opt-out list call failed: only the list is still owed.
    store.settle_inbound(
        "in-6", NUMBER, [event(EventType.OPT_OUT_CONFIRMATION_SENT)], opt_out_owed=True
    )
    left = store.inbound_marker("in-6")
    assert (left.owed_sms, left.add_opt_out, left.claimed_until) == (None, True, None)
    assert store.claim_owed_sms("in-6", later, later + timedelta(minutes=2)) is True
    store.settle_inbound("in-6", NUMBER, [])
    assert store.inbound_marker("in-6").add_opt_out is False
    assert store.claim_owed_sms("in-6", later + timedelta(hours=1), later) is False


def test_an_opt_out_alone_is_owed_work(store):
    from datetime import timedelta

    marker = InboundMarker("in-7", NUMBER, NOW, add_opt_out=True, claimed_until=NOW)
    store.append(NUMBER, [event()], inbound=marker)
    later = NOW + timedelta(seconds=1)
    assert store.claim_owed_sms("in-7", later, later + timedelta(minutes=2)) is True


def test_a_daily_answer_is_claimed_once_a_day_per_number_and_kind(store, dynamodb):
    from datetime import timedelta

    claim = store.claim_daily_answer
    assert claim(NUMBER, Template.SIGNUP, "in-1", NOW) is True
    assert claim(NUMBER, Template.SIGNUP, "in-1", NOW) is True  # the same message, retried
    assert claim(NUMBER, Template.SIGNUP, "in-2", NOW + timedelta(hours=23)) is False
    assert claim(NUMBER, Template.HELP, "in-2", NOW + timedelta(hours=23)) is True
    assert claim("+14165550142", Template.SIGNUP, "in-3", NOW) is True
    assert claim(NUMBER, Template.SIGNUP, "in-4", NOW + timedelta(days=1)) is True
    item = dynamodb.get_item(
        TableName="subscribers", Key={"pk": {"S": f"ANSWERED#{NUMBER}"}, "sk": {"S": "signup"}}
    )["Item"]
    assert int(item[TTL_ATTRIBUTE]["N"]) > (NOW + timedelta(days=1)).timestamp()
    assert item["messageId"] == {"S": "in-4"}
