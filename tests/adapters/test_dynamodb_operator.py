"""The DynamoDB adapter's operator side on moto: segment counters kept in the transactions
(and counted for older profiles), pages of subscribers and of the ledger, and erasure that
leaves no personal data anywhere in the table."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.adapters.schema import COUNTED_ATTRIBUTE, segment_partition
from optin.domain.model import Dimension, EventType, Status, SubscriberFilter
from optin.domain.ports import InvalidCursor, Ports
from optin.domain.subscribers.erasure import erase_subscriber
from optin.settings import Settings
from tests.support.fakes import (
    BASE_ENV,
    NO_PREFIX_LIMITS,
    Clock,
    fake_ports,
    installed,
)
from tests.support.lifecycle import NUMBER, arrange, register, reply

KEY = b"k" * 32
OTHERS = [f"+1206555{line:04d}" for line in range(150, 168)]


class CountingClient:
    """The moto client, with every operation called counted (the boundary, not mocked)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls[name] + 1
            return attribute(*args, **kwargs)

        return call


@pytest.fixture
def settings() -> Settings:
    """Many numbers of a few prefixes: the limits across numbers are lifted."""
    return Settings.from_env({**BASE_ENV, **NO_PREFIX_LIMITS})


@pytest.fixture
def client(dynamodb: Any) -> CountingClient:
    return CountingClient(dynamodb)


@pytest.fixture
def keyed(client: CountingClient) -> DynamoSubscriberStore:
    return DynamoSubscriberStore("subscribers", client=client, erasure_key=lambda: KEY)


@pytest.fixture
def moto(settings: Settings, clock: Clock, keyed: DynamoSubscriberStore) -> Iterator[Ports]:
    ports = fake_ports(settings.rules, clock, keyed)
    with installed(ports, settings):
        yield ports


def scan(dynamodb: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"TableName": "subscribers"}
    while True:
        page = dynamodb.scan(**params)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def recount(store: DynamoSubscriberStore, dynamodb: Any, dimension: Dimension) -> dict:
    """The counts a full scan of the profiles gives, to compare the counters with."""
    counts: dict[str, dict[str, int]] = {}
    for item in scan(dynamodb):
        if item["sk"]["S"] != "PROFILE" or not item["pk"]["S"].startswith("SUB#"):
            continue
        status = item["status"]["S"]
        value = {
            Dimension.STATUS: status,
            Dimension.SOURCE: item.get("source", {}).get("S", ""),
            Dimension.COUNTRY: item.get("country", {}).get("S", ""),
        }[dimension]
        row = counts.setdefault(value, dict.fromkeys(s.value for s in Status))
        for key in row:
            row[key] = row[key] or 0
        row[status] += 1
    return dict(sorted(counts.items()))


def populate(ports: Ports) -> None:
    """Every state, two sources, two countries, through the real use cases."""
    clock: Any = ports.clock
    for index, number in enumerate(OTHERS):
        register(ports, number, source="/a" if index % 2 else "/b")
        if index % 3 == 0:
            reply(ports, "YES", number=number)
        if index % 5 == 0:
            reply(ports, "STOP", number=number)
    register(ports, "+14165550142", source="/a")
    clock.advance(hours=25)
    reply(ports, "YES", number=OTHERS[1])  # past the window: EXPIRED


# Segment counters ------------------------------------------------------------------------


@pytest.mark.parametrize("dimension", list(Dimension))
def test_the_counters_agree_with_a_full_count(moto, keyed, dynamodb, dimension):
    populate(moto)
    assert keyed.segment_counts(dimension) == recount(keyed, dynamodb, dimension)


def test_reading_the_counts_queries_the_counters_only(moto, keyed, client):
    populate(moto)
    client.calls.clear()
    counts = keyed.segment_counts(Dimension.STATUS)
    assert sum(count for row in counts.values() for count in row.values()) == len(OTHERS) + 1
    assert client.calls == Counter({"query": 1})  # one partition of small items, no scan


def test_counters_are_spread_over_shards(moto, dynamodb):
    populate(moto)
    items = dynamodb.query(
        TableName="subscribers",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": segment_partition("status")}},
    )["Items"]
    assert len({item["sk"]["S"].rsplit("#", 1)[1] for item in items}) > 1


def test_profiles_from_before_the_counters_are_counted_once(moto, keyed, dynamodb, client):
    populate(moto)
    # Profiles as the table held them before the counters: no counter items, no mark.
    for item in scan(dynamodb):
        if item["pk"]["S"].startswith("SEGMENT#"):
            dynamodb.delete_item(TableName="subscribers", Key={"pk": item["pk"], "sk": item["sk"]})
        elif item["sk"]["S"] == "PROFILE":
            dynamodb.update_item(
                TableName="subscribers",
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression=f"REMOVE {COUNTED_ATTRIBUTE}",
            )
    fresh = DynamoSubscriberStore("subscribers", client=client, erasure_key=lambda: KEY)
    assert fresh.segment_counts(Dimension.STATUS) == {}
    reply(moto, "STOP", number=OTHERS[3])  # a live change of an uncounted profile

    while not fresh.count_older_profiles(limit=7):
        pass

    for dimension in Dimension:
        assert fresh.segment_counts(dimension) == recount(fresh, dynamodb, dimension)
    client.calls.clear()
    assert fresh.count_older_profiles(limit=7) is True
    assert "scan" not in client.calls  # done once: later runs read one item


# Pages -----------------------------------------------------------------------------------


def test_subscribers_page_through_with_filters(moto, keyed):
    populate(moto)
    seen: list[str] = []
    cursor = None
    while True:
        page = keyed.list_subscribers(SubscriberFilter(source="/a"), limit=4, cursor=cursor)
        seen.extend(s.phone_number for s in page.items)
        assert all(s.source == "/a" for s in page.items)
        cursor = page.cursor
        if cursor is None:
            break
    expected = {n for i, n in enumerate(OTHERS) if i % 2} | {"+14165550142"}
    assert sorted(seen) == sorted(expected)
    confirmed = keyed.list_subscribers(
        SubscriberFilter(status=Status.CONFIRMED, country="US"), limit=100, cursor=None
    )
    assert {s.status for s in confirmed.items} == {Status.CONFIRMED}
    assert confirmed.cursor is None


@pytest.mark.parametrize("cursor", ["nonsense", "e30", "eyJrIjogeyJ4IjogeyJTIjogIjEifX19"])
def test_a_cursor_not_handed_out_is_refused(keyed, cursor):
    with pytest.raises(InvalidCursor):
        keyed.list_subscribers(SubscriberFilter(), limit=1, cursor=cursor + "!")
    with pytest.raises(InvalidCursor):
        keyed.ledger_entries(since=None, until=None, limit=1, cursor='{"k": 1}')


def test_the_ledger_pages_through_every_event_once(moto, keyed):
    populate(moto)
    expected = Counter(
        (number, event.type.value, event.at)
        for number in [*OTHERS, "+14165550142"]
        for event in keyed.events(number)
    )
    seen: Counter = Counter()
    cursor = None
    progress = []
    while True:
        page = keyed.ledger_entries(since=None, until=None, limit=17, cursor=cursor)
        assert len(page.items) <= 17
        seen.update((e.phone_number, e.event.type.value, e.event.at) for e in page.items)
        progress.append(page.progress)
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == expected
    assert progress == sorted(progress)
    assert progress[-1] == 1.0


def test_each_ledger_entry_resumes_right_after_itself(moto, keyed):
    populate(moto)
    first = keyed.ledger_entries(since=None, until=None, limit=10, cursor=None)
    resumed = keyed.ledger_entries(since=None, until=None, limit=5, cursor=first.items[4].cursor)
    assert [e.event for e in resumed.items] == [e.event for e in first.items[5:10]]


def test_the_ledger_between_two_times(moto, keyed):
    register(moto)
    start = moto.clock()
    moto.clock.advance(hours=1)
    reply(moto, "YES")
    page = keyed.ledger_entries(
        since=start + timedelta(minutes=1), until=None, limit=100, cursor=None
    )
    assert {e.event.type for e in page.items} == {
        EventType.INBOUND,
        EventType.CONFIRMED,
        EventType.WELCOME_SENT,
    }
    before = keyed.ledger_entries(
        since=None, until=start + timedelta(minutes=1), limit=100, cursor=None
    )
    assert {e.event.type for e in before.items} == {
        EventType.REGISTERED,
        EventType.CONFIRMATION_SENT,
    }


def test_stale_lists_only_what_did_not_change_since(moto, keyed):
    register(moto)
    moto.clock.advance(hours=2)
    register(moto, "+14165550142")
    stale = keyed.stale(Status.PENDING, moto.clock() - timedelta(hours=1), limit=10, cursor=None)
    assert [s.phone_number for s in stale.items] == [NUMBER]
    assert stale.cursor is None


# Erasure ---------------------------------------------------------------------------------

PERSONAL = ("Carlos", "Salazar", "203.0.113.9", "pytest")
PAGE = "Registration form test"  # the page the form was on


def erase(ports: Ports, number: str = NUMBER):
    return erase_subscriber(
        ports.store, number, requested_by="arn:ops", source="operator", clock=ports.clock
    )


@pytest.mark.parametrize("state", ["PENDING", "CONFIRMED", "OPTED_OUT", "EXPIRED"])
def test_after_an_erasure_no_item_of_the_table_names_the_person(moto, dynamodb, state):
    arrange(moto, state)
    reply(moto, "it's Carlos, please stop")
    everything = json.dumps(scan(dynamodb))
    assert all(word in everything for word in (*PERSONAL, PAGE, NUMBER))

    erase(moto)

    items = scan(dynamodb)
    everything = json.dumps(items)
    for word in (*PERSONAL, "it's Carlos", NUMBER):
        assert word not in everything, word
    # A page is still a segment's name (a count, of nobody now), in no profile or event.
    assert PAGE not in json.dumps([i for i in items if not i["pk"]["S"].startswith("SEGMENT#")])


def test_an_erased_opted_out_number_keeps_its_opt_out(moto, keyed):
    arrange(moto, "OPTED_OUT")
    erase(moto)
    assert keyed.erased_number(NUMBER).status is Status.OPTED_OUT
    sent = len(moto.sender.sent)
    register(moto)
    assert len(moto.sender.sent) == sent
    assert keyed.get(NUMBER).resubscribe_requested_at is not None


def test_erasure_moves_a_long_ledger_and_updates_the_counters(moto, keyed):
    register(moto)
    for index in range(120):  # more events than one transaction can move
        reply(moto, f"hello {index}")
    assert keyed.segment_counts(Dimension.STATUS) == {
        "PENDING": {"PENDING": 1, "CONFIRMED": 0, "OPTED_OUT": 0, "EXPIRED": 0}
    }
    count = len(keyed.events(NUMBER))
    erase(moto)
    assert keyed.events(NUMBER) == []
    kept = [
        e
        for e in keyed.ledger_entries(since=None, until=None, limit=1000, cursor=None).items
        if e.number_hash
    ]
    assert len(kept) == count + 1  # and the ERASED event
    assert {e.phone_number for e in kept} == {""}
    assert keyed.segment_counts(Dimension.STATUS) == {}


def test_the_inbound_markers_forget_the_number(moto, dynamodb):
    register(moto)
    reply(moto, "YES", message_id="in-erase")
    erase(moto)
    marker = dynamodb.get_item(
        TableName="subscribers", Key={"pk": {"S": "INBOUND#in-erase"}, "sk": {"S": "INBOUND"}}
    )["Item"]
    assert marker["phoneNumber"]["S"].startswith("ERASED#")
    assert "owedSms" not in marker


class FailingOnce:
    """The moto client, failing the n-th TransactWriteItems the way a throttled call does."""

    def __init__(self, client: Any, fail_at: int) -> None:
        self._client = client
        self._left = fail_at

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name != "transact_write_items":
            return attribute

        def call(**kwargs: Any) -> Any:
            self._left -= 1
            if self._left == 0:
                from botocore.exceptions import EndpointConnectionError

                raise EndpointConnectionError(endpoint_url="https://dynamodb")
            return attribute(**kwargs)

        return call


@pytest.mark.parametrize("fail_at", [1, 2, 3])  # two moves of events, then the profile
def test_an_interrupted_erasure_finishes_on_retry_and_loses_nothing(
    moto, dynamodb, settings, fail_at
):
    from optin.domain.errors import DependencyUnavailable

    register(moto)
    for index in range(70):
        reply(moto, f"hello {index}")
    count = len(moto.store.events(NUMBER))
    failing = DynamoSubscriberStore(
        "subscribers", client=FailingOnce(dynamodb, fail_at), erasure_key=lambda: KEY
    )
    with pytest.raises(DependencyUnavailable):
        erase_subscriber(
            failing, NUMBER, requested_by="arn:ops", source="operator", clock=moto.clock
        )
    erase(moto)
    assert moto.store.get(NUMBER) is None
    assert moto.store.events(NUMBER) == []
    entries = moto.store.ledger_entries(since=None, until=None, limit=1000, cursor=None).items
    moved = [e for e in entries if e.number_hash and e.event.type is not EventType.ERASED]
    assert len(moved) == count
    assert "hello" not in json.dumps(scan(dynamodb))
