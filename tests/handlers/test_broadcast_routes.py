"""The operator API's broadcast routes as deployed: API Gateway proxy events in, the real
DynamoDB adapter on moto; the plan steps and the messages run by the sender's use cases
on in-memory queues and a fake clock."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from optin import runtime
from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.domain.model import EventType
from optin.domain.ports import ConcurrentUpdate, Ports
from optin.settings import Settings
from tests.handlers.test_admin_handler import call, code, document
from tests.support.broadcasts import add_confirmed, confirmed, numbers
from tests.support.fakes import (
    BASE_ENV,
    Clock,
    FakeSender,
    MemoryBucket,
    MemoryQueue,
    drain,
    fake_ports,
)


@pytest.fixture
def settings() -> Settings:
    """The defaults: at most 3 parts, names cut to 20 characters."""
    return Settings.from_env(BASE_ENV)


@pytest.fixture
def deployed(settings: Settings, clock: Clock, dynamodb: Any) -> Iterator[Ports]:
    """The operator function's runtime on the real store (moto); the queue waits to be
    drained, so a test sees what is queued before it leaves."""
    store = DynamoSubscriberStore("subscribers", client=dynamodb)
    ports = fake_ports(
        settings.rules, clock, store, queue=MemoryQueue(clock), bucket=MemoryBucket()
    )
    runtime.install(runtime.Runtime(settings, ports))
    yield ports
    runtime.install(None)


TEXT = "Hi {{User.UserAttributes.FirstName}}, {{brandName}} sale today"


def subscribers(ports: Ports, count: int, **fields: Any) -> list[str]:
    made = list(numbers(count))
    for number in made:
        with contextlib.suppress(ConcurrentUpdate):
            add_confirmed(ports.store, [confirmed(number, ports.clock(), **fields)])
    return made


def queue_of(ports: Ports) -> MemoryQueue:
    assert isinstance(ports.queue, MemoryQueue)
    return ports.queue


def sent(ports: Ports) -> list[tuple[str, str, str, str]]:
    assert isinstance(ports.sender, FakeSender)
    return ports.sender.sent


def create(body: dict[str, Any]) -> tuple[int, Any]:
    return document(call("POST", "/admin/broadcasts", body=body))


def test_a_dry_run_counts_renders_and_creates_nothing(deployed: Ports) -> None:
    subscribers(deployed, 3)
    subscribers(deployed, 2)  # the same numbers again: refused, nothing counted twice
    status, answer = create({"text": TEXT, "dryRun": True, "segment": {"country": "us"}})
    assert status == 200
    assert answer["dryRun"] is True
    assert answer["recipients"] == 3
    assert answer["recipientsExact"] is True
    assert answer["broadcastId"] is None
    assert answer["encoding"] == "GSM-7"
    # Names cut to 20 characters, each of which may be an emoji: UCS-2, 2 parts at worst.
    assert answer["parts"] == 2
    assert answer["preview"] == "Hi Alex, ExampleCorp sale today. Reply STOP to opt out"
    assert queue_of(deployed).steps == []
    assert isinstance(deployed.store, DynamoSubscriberStore)


def test_create_plans_sends_and_reports(deployed: Ports) -> None:
    made = subscribers(deployed, 5)
    status, answer = create({"text": "Hi {{firstName}}", "segment": {"source": "/signup"}})
    assert status == 201, answer
    broadcast_id = answer["broadcastId"]
    assert answer["status"] == "SCHEDULED"
    assert answer["recipients"] == 5
    drain(deployed)
    status, shown = document(call("GET", f"/admin/broadcasts/{broadcast_id}"))
    assert status == 200
    assert shown["status"] == "DONE"
    assert (shown["recipients"], shown["queued"], shown["sent"]) == (5, 0, 5)
    assert shown["skippedOptedOut"] == shown["skippedFrequency"] == 0
    assert shown["waitingQuietHours"] == 0
    assert sorted(number for number, _, _, _ in sent(deployed)) == sorted(made)
    events = deployed.store.events(made[0])
    assert [e.details["broadcastId"] for e in events if e.type is EventType.BROADCAST_SENT] == [
        broadcast_id
    ]


def test_the_segment_and_its_dates_choose_the_recipients(deployed: Ports) -> None:
    now = deployed.clock()
    old = subscribers(deployed, 2)
    recent = [n.replace("+1212", "+1646") for n in numbers(2)]
    add_confirmed(
        deployed.store,
        (confirmed(n, now, confirmed_at=now - timedelta(minutes=5)) for n in recent),
    )
    status, answer = create(
        {
            "text": "New here? Welcome",
            "segment": {"confirmedAfter": (now - timedelta(hours=1)).isoformat()},
        }
    )
    assert status == 201
    assert answer["recipientsExact"] is False  # the counters know no dates: a bound
    drain(deployed)
    assert sorted(number for number, _, _, _ in sent(deployed)) == sorted(recent)
    assert not set(old) & {number for number, _, _, _ in sent(deployed)}


def test_an_unknown_placeholder_is_a_400_naming_it(deployed: Ports) -> None:
    status, answer = create({"text": "Hi {{nickname}}"})
    assert status == 400
    assert answer["error"]["code"] == "UNKNOWN_PLACEHOLDER"
    assert "{{nickname}}" in answer["error"]["message"]


def test_the_name_cut_decides_what_a_personalised_text_may_hold(
    deployed: Ports, settings: Settings
) -> None:
    """At the defaults (3 parts, names cut to 20 characters) a personalised text of 150
    characters is accepted: its worst case is UCS-2, 3 parts. With names cut to 100
    characters (the form's limit) the same text is refused."""
    text = "Hi {{firstName}}, " + "s" * 100
    assert (settings.max_broadcast_parts, settings.broadcast_name_characters) == (3, 20)
    status, answer = create({"text": text, "dryRun": True})
    assert (status, answer["parts"]) == (200, 3)
    uncut = Settings.from_env({**BASE_ENV, "BROADCAST_NAME_CHARACTERS": "100"})
    runtime.install(runtime.Runtime(uncut, replace(deployed, rules=uncut.rules)))
    status, answer = create({"text": text, "dryRun": True})
    assert (status, answer["error"]["code"]) == (400, "TOO_MANY_PARTS")
    assert "100 characters" in answer["error"]["message"]


def test_too_many_parts_is_a_400(deployed: Ports) -> None:
    assert code(call("POST", "/admin/broadcasts", body={"text": "a" * 1200})) == (
        400,
        "TOO_MANY_PARTS",
    )


def test_a_request_the_api_cannot_read_is_a_400(deployed: Ports) -> None:
    for body in (
        {"text": "Hi", "segment": {"state": "WA"}},
        {"text": "Hi", "segment": {"country": "USA"}},
        {"text": "Hi", "sendAt": "tomorrow"},
        {"text": "Hi", "dryRun": "yes"},
        {"text": "Hi", "audience": "all"},
        {"segment": {}},
    ):
        status, answer = create(body)
        assert status == 400, body
        assert answer["error"]["code"] in ("INVALID_FIELD", "MISSING_FIELD"), body


def test_an_unknown_broadcast_is_404(deployed: Ports) -> None:
    assert code(call("GET", "/admin/broadcasts/b-" + "0" * 24)) == (404, "NOT_FOUND")
    assert code(call("GET", "/admin/broadcasts/nope")) == (404, "NOT_FOUND")
    assert code(call("DELETE", "/admin/broadcasts/b-" + "0" * 24)) == (404, "NOT_FOUND")


def test_cancel_stops_what_has_not_left(deployed: Ports) -> None:
    subscribers(deployed, 4)
    _, answer = create({"text": "Flash sale"})
    broadcast_id = answer["broadcastId"]
    queue = queue_of(deployed)
    queue.run_step()  # the page is planned: four messages wait in the queue
    assert len(queue.messages) == 4
    queue.receive(queue.messages[0])  # one leaves before the cancel
    status, shown = document(call("DELETE", f"/admin/broadcasts/{broadcast_id}"))
    assert status == 200
    assert shown["status"] == "CANCELLED"
    drain(deployed)
    assert len(sent(deployed)) == 1
    _, shown = document(call("GET", f"/admin/broadcasts/{broadcast_id}"))
    assert (shown["status"], shown["sent"], shown["cancelled"], shown["queued"]) == (
        "CANCELLED",
        1,
        3,
        0,
    )


def test_send_at_schedules_the_whole_broadcast(deployed: Ports) -> None:
    subscribers(deployed, 2)
    when = deployed.clock() + timedelta(hours=2)
    status, answer = create({"text": "Later", "sendAt": when.isoformat()})
    assert status == 201
    assert answer["status"] == "SCHEDULED"
    queue = queue_of(deployed)
    result = queue.run_step()
    assert result.retry_after == timedelta(hours=2)
    _, shown = document(call("GET", f"/admin/broadcasts/{answer['broadcastId']}"))
    assert shown["status"] == "SCHEDULED"
    drain(deployed)
    assert len(sent(deployed)) == 2
    assert all(at >= when for at in deployed.sender.sent_at)  # type: ignore[attr-defined]


def test_a_past_send_at_is_refused(deployed: Ports) -> None:
    past = (deployed.clock() - timedelta(hours=1)).isoformat()
    assert code(call("POST", "/admin/broadcasts", body={"text": "x", "sendAt": past})) == (
        400,
        "INVALID_FIELD",
    )


def test_the_body_may_hold_a_long_text(deployed: Ports) -> None:
    body = json.dumps({"text": "é" * 1500, "dryRun": True})
    status, _, answer = call("POST", "/admin/broadcasts", body=body)
    assert status == 400  # too many parts, not too large
    assert json.loads(answer)["error"]["code"] == "TOO_MANY_PARTS"


@pytest.mark.parametrize(
    "body",
    [
        '{"text": "\\ud800 hi", "dryRun": true}',
        '{"text": "hi", "sendAt": "9999-12-31T23:59:59-23:59"}',
        '{"text": "hi", "segment": {"confirmedAfter": "0001-01-01T00:00:00+23:59"}}',
        '{"text": "hi", "sendAt": 5}',
        '{"text": ["a"]}',
        "[1]",
        '{"text": "hi", "segment": {"source": "\\ud800"}, "dryRun": true}',
        '{"text": "hi", "segment": {"confirmedAfter": "2026-01-02", "confirmedBefore": "2026"}}',
    ],
)
def test_an_odd_request_is_never_a_5xx(deployed: Ports, body: str) -> None:
    status, _, _ = call("POST", "/admin/broadcasts", body=body)
    assert status < 500
