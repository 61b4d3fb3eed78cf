"""Broadcasts: planning at scale, and sending through the paced queue in local mode.

    .venv/bin/python benchmarks/broadcasts.py [--memory 10000,100000] [--moto 1000,5000]
                                              [--send 1000]

Planning: N CONFIRMED subscribers written straight into a store, then a broadcast's plan
steps run one after the other through ``plan_step`` (the sender's use case) until the last
page: recipients planned per second, and the peak memory above the start (tracemalloc) of
the planning alone. The queue counts what it is handed and keeps nothing (SQS keeps the
messages outside the function); every key is checked planned once through a checksum.
The in-memory store answers a page from a listing sorted once when it is filled, as the
status index does, so a page costs the page (the test fake sorts everything per call).

Sending: local mode in process (the real handlers, moto, the phone simulator at
``SIMULATOR_MPS=20``, ``SEND_RATE_PER_SECOND=20``), N confirmed subscribers whose own
zones are inside their quiet hours now and a few whose zones are not, one broadcast to
them; meanwhile a registration every two seconds, whose confirmation must not wait behind
the broadcast. Counts duplicates, quiet-hour violations (each sent message's local hour,
checked again here with ``zoneinfo``), and each confirmation's wait.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT / "lambdas"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from benchmarks.admin import growth, print_runs, quiet_environment, sizes  # noqa: E402

MEMORY_SIZES = (10_000, 100_000)
# moto's Query walks the whole index on every call: a broadcast's planning costs it
# O(N^2) (12 s at 1,000 here), so its sizes stay small.
MOTO_SIZES = (1_000, 2_000)
SEND_RECIPIENTS = 1_000
OUT_OF_HOURS = 50  # recipients whose zone is outside its quiet hours: they must wait
MPS = 20
REGISTRATION_EVERY = 2.0  # seconds, while the broadcast sends
CANDIDATE_ZONES = (
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Halifax",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
START = datetime(2026, 1, 1, tzinfo=UTC)


def number(index: int) -> str:
    """Distinct valid-looking New York numbers."""
    return f"+1212{200 + index // 10_000:03d}{index % 10_000:04d}"


def subscriber(index: int) -> Any:
    from optin.domain.model import Status, Subscriber

    at = START + timedelta(seconds=index)
    return Subscriber(
        phone_number=number(index),
        status=Status.CONFIRMED,
        created_at=at,
        updated_at=at + timedelta(minutes=1),
        first_name="Ada",
        last_name="Lovelace",
        source="/spring",
        country="US",
        confirmed_at=at + timedelta(seconds=30),
    )


def _key_sum(keys: Any) -> int:
    return sum(int(key[2:18], 16) for key in keys) % 2**64


# Planning ----------------------------------------------------------------------------------


class CountingQueue:
    """SendQueue that counts what it is handed (and a checksum of the keys), keeping only
    the plan steps still to run."""

    def __init__(self) -> None:
        self.messages = 0
        self.key_sum = 0
        self.steps: list[Any] = []
        self.ports: Any = None

    def enqueue(self, message: Any) -> None:
        self.enqueue_many([message])

    def enqueue_many(self, messages: Any) -> None:
        self.messages += len(messages)
        self.key_sum = (self.key_sum + _key_sum(m.key for m in messages)) % 2**64

    def enqueue_step(self, step: Any) -> None:
        self.steps.append(step)

    def defer(self, *_args: Any) -> None: ...

    def url_of(self, queue_arn: str) -> str:
        return queue_arn

    def is_broadcast(self, queue_url: str) -> bool:
        return True

    def transactional_waiting(self) -> int:
        return 0


def paged_memory_store(count: int) -> Any:
    from optin.domain.ports import Page
    from tests.support.fakes import MemoryStore

    class PagedMemoryStore(MemoryStore):
        """The test fake, with a listing sorted once (newest change first), as the status
        index keeps it: a page costs the page."""

        def __init__(self, order: list[str]) -> None:
            super().__init__()
            self.order = order

        def list_subscribers(self, where: Any, *, limit: int, cursor: str | None) -> Any:
            start = int(cursor or 0)
            found = []
            position = start
            while position < len(self.order) and len(found) < limit:
                item = self.subscribers[self.order[position]]
                position += 1
                if (where.status is None or item.status is where.status) and (
                    where.source is None or item.source == where.source
                ):
                    found.append(item)
            return Page(found, str(position) if position < len(self.order) else None)

    store = PagedMemoryStore([number(index) for index in reversed(range(count))])
    for index in range(count):
        store.save(subscriber(index), expected_version=None)
    store.calls.clear()
    return store


def moto_store(count: int) -> Any:
    import boto3

    from optin.adapters.dynamodb import DynamoSubscriberStore, codec
    from optin.adapters.schema import table_definition

    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(**table_definition("subscribers"))
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        request = {"subscribers": [{"PutRequest": {"Item": item}} for item in batch]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        batch.clear()

    for index in range(count):
        saved = subscriber(index).__class__(**{**subscriber(index).__dict__, "version": 1})
        batch.append(codec.subscriber_item(saved))
        if len(batch) == 25:
            flush()
    if batch:
        flush()
    return DynamoSubscriberStore("subscribers", client=client)


def plan(store: Any, count: int) -> dict[str, Any]:
    from optin.domain.broadcasts import broadcast
    from optin.domain.broadcasts.model import BroadcastPolicy, Segment, Tally
    from optin.settings import Settings
    from tests.support.fakes import BASE_ENV, Clock, NoPace, fake_ports

    settings = Settings.from_env(BASE_ENV)
    clock = Clock(datetime.now(UTC))
    queue = CountingQueue()
    ports = fake_ports(settings.rules, clock, store, queue=queue, bucket=NoPace())  # type: ignore[arg-type]
    made = broadcast.draft(
        store,
        text="Our spring sale starts today",
        segment=Segment(source="/spring"),
        send_at=None,
        now=clock(),
        policy=BroadcastPolicy.of(settings.rules),
        created_by="bench",
    )
    tracemalloc.start()
    baseline, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    created = broadcast.create(ports, store, made)
    steps = 0
    while queue.steps:
        step = queue.steps.pop(0)
        result = broadcast.plan_step(step, ports, store)
        steps += 1
        if not result.done:
            queue.steps.append(step)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    found = store.broadcast(created.broadcast_id)
    from optin.domain.sending.outbound import OutboundMessage

    expected = _key_sum(
        OutboundMessage.for_broadcast(created.broadcast_id, number(i), "", clock()).key
        for i in range(count)
    )
    return {
        "subscribers": count,
        "planned": found.count(Tally.RECIPIENTS),
        "enqueued": queue.messages,
        "keys_match": queue.key_sum == expected,
        "plan_steps": steps,
        "seconds": round(seconds, 2),
        "recipients_per_second": round(count / seconds),
        "peak_kib_above_start": round((peak - baseline) / 1024, 1),
    }


def measure_planning(memory_sizes: tuple[int, ...], moto_sizes: tuple[int, ...]) -> dict[str, Any]:
    from moto import mock_aws

    quiet_environment()
    figures: dict[str, Any] = {"in_memory": {"runs": []}, "moto": {"runs": []}}
    for size in memory_sizes:
        print(f"  planning {size:,} on the in-memory store ...", file=sys.stderr, flush=True)
        figures["in_memory"]["runs"].append(plan(paged_memory_store(size), size))
    for size in moto_sizes:
        print(f"  planning {size:,} on moto ...", file=sys.stderr, flush=True)
        with mock_aws():
            figures["moto"]["runs"].append(plan(moto_store(size), size))
    for backend in figures.values():
        runs = backend["runs"]
        backend["growth"] = {
            "subscribers": growth(runs, lambda run: run["subscribers"]),
            "peak_memory": growth(runs, lambda run: run["peak_kib_above_start"]),
            "recipients_per_second": growth(runs, lambda run: run["recipients_per_second"]),
        }
    return figures


# Sending in local mode ---------------------------------------------------------------------


def _zones_by_hours(now: datetime, margin: timedelta) -> tuple[list[str], list[str]]:
    """Zones inside 08:00-20:00 from now until ``margin`` later, and zones outside 08:00-21:00
    for as long (every number here is a New York one: not a stricter state, 21:00)."""
    inside, outside = [], []
    for name in CANDIDATE_ZONES:
        zone = ZoneInfo(name)
        hours = [(now + margin * step / 4).astimezone(zone).hour for step in range(5)]
        if all(8 <= hour < 20 for hour in hours):
            inside.append(name)
        elif all(hour >= 21 or hour < 8 for hour in hours):
            outside.append(name)
    return inside, outside


def measure_sending(recipients: int = SEND_RECIPIENTS) -> dict[str, Any]:
    """Local mode in this process; what its functions print (metrics) is left out."""
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        return _send(recipients)


def _send(recipients: int) -> dict[str, Any]:
    from tests.support.fakes import NO_PREFIX_LIMITS
    from tests.support.harness import fictional_numbers
    from tests.support.local_mode import free_port

    os.environ.update(
        {
            "SIMULATOR_MPS": str(MPS),
            "SEND_RATE_PER_SECOND": str(MPS),
            **NO_PREFIX_LIMITS,
        }
    )
    from local.service import LocalService
    from optin.domain.broadcasts.quiet_hours import STRICT_AREA_CODES
    from tests.support.broadcasts import confirmed

    service = LocalService(free_port(), printer=lambda *_args: None)
    try:
        now = datetime.now(UTC)
        inside, outside = _zones_by_hours(now, timedelta(minutes=30))
        numbers = list(fictional_numbers())
        # New York numbers only would do, but 555-01xx gives 100 per area code: the
        # stricter states' codes are left out, so 21:00 is every recipient's end.
        numbers = [n for n in numbers if n[2:5] not in STRICT_AREA_CODES]
        waiting = OUT_OF_HOURS if outside else 0
        audience = numbers[: recipients + waiting]
        registering = iter(numbers[recipients + waiting :])
        zones = {}
        for index, phone in enumerate(audience):
            zone = (inside if index < recipients else outside)[
                index % len(inside if index < recipients else outside)
            ]
            zones[phone] = zone
            service.store.save(
                confirmed(phone, now, first_name="Ada", source="/spring", timezone=zone),
                expected_version=None,
            )
        body = json.dumps(
            {
                "text": "Hi {{firstName}}, our spring sale starts today",
                "segment": {"source": "/spring"},
            }
        ).encode()
        started = time.monotonic()
        created_at = datetime.now(UTC)
        status, _, text = service.admin("POST", "/admin/broadcasts", "", body)
        assert status == 201, text
        broadcast_id = json.loads(text)["broadcastId"]
        registrations: list[tuple[str, datetime]] = []
        shown: dict[str, Any] = {}
        next_registration = time.monotonic()
        while time.monotonic() - started < 600:
            if time.monotonic() >= next_registration:
                phone = next(registering)
                form = {
                    "firstName": "Grace",
                    "lastName": "Hopper",
                    "phoneNumber": phone,
                    "consent": True,
                    "source": "/during",
                }
                answer, _, _ = service.register(
                    json.dumps(form).encode(), {"Content-Type": "application/json"}, "203.0.113.7"
                )
                assert answer == 202, answer
                registrations.append((phone, datetime.now(UTC)))
                next_registration += REGISTRATION_EVERY
            _, _, text = service.admin("GET", f"/admin/broadcasts/{broadcast_id}", "", b"")
            shown = json.loads(text)
            if shown["recipients"] == len(audience) and shown["sent"] >= recipients:
                break
            time.sleep(0.25)
        seconds = time.monotonic() - started
        time.sleep(2)  # the last confirmations leave
        sent = [
            message
            for message in service.simulator.all_messages()
            if message["kind"] == "broadcast" and message["status"] in ("sent", "delivered")
        ]
        per_phone = Counter(message["phoneNumber"] for message in sent)
        violations = 0
        for message in sent:
            at = datetime.fromisoformat(message["at"].replace("Z", "+00:00"))
            local = at.astimezone(ZoneInfo(zones[message["phoneNumber"]]))
            if not 8 <= local.hour < 21:
                violations += 1
        waits: list[float] = []
        when: list[float] = []  # seconds after the broadcast's creation
        for phone, registered_at in registrations:
            confirmations = [
                m
                for m in service.simulator.messages(phone)
                if m.kind == "confirmation" and m.status in ("sent", "delivered")
            ]
            if confirmations:
                waits.append((confirmations[0].at - registered_at).total_seconds())
                when.append(round((registered_at - created_at).total_seconds(), 1))
        return {
            "recipients_in_hours": recipients,
            "recipients_out_of_hours": waiting,
            "zones_in_hours": inside,
            "zones_out_of_hours": outside,
            "simulator_mps": MPS,
            "send_rate_per_second": MPS,
            "broadcast": shown,
            "seconds": round(seconds, 1),
            "ideal_seconds": round(recipients / MPS, 1),
            "sent": len(sent),
            "duplicates": sum(count - 1 for count in per_phone.values()),
            "quiet_hour_violations": violations,
            "sent_out_of_hours": sum(per_phone[p] for p in audience[recipients:]),
            "registrations_during": len(registrations),
            "confirmations_sent": len(waits),
            "confirmation_wait_p50_seconds": round(statistics.median(waits), 2) if waits else None,
            "confirmation_wait_max_seconds": round(max(waits), 2) if waits else None,
            "slowest_confirmations": sorted(
                (
                    {"registered_after_seconds": at, "wait_seconds": round(wait, 2)}
                    for at, wait in zip(when, waits, strict=True)
                ),
                key=lambda slow: -slow["wait_seconds"],
            )[:5],
            "throttled": service.simulator.throttled,
        }
    finally:
        service.close()


def measure(
    memory_sizes: tuple[int, ...] = MEMORY_SIZES,
    moto_sizes: tuple[int, ...] = MOTO_SIZES,
    recipients: int = SEND_RECIPIENTS,
) -> dict[str, Any]:
    return {
        "planning": measure_planning(memory_sizes, moto_sizes),
        "sending": measure_sending(recipients),
    }


def print_summary(figures: dict[str, Any]) -> None:
    planning = figures["planning"]
    print_runs(
        "Broadcasts: planning (plan steps through the sender's use case)",
        "subscribers  planned  recipients/s   seconds  peak memory",
        planning,
        lambda run: (
            f"{run['subscribers']:>12,} {run['planned']:>8,}"
            f" {run['recipients_per_second']:>13,} {run['seconds']:>9.1f}"
            f" {run['peak_kib_above_start']:>9.1f} KiB"
        ),
    )
    for backend in ("in_memory", "moto"):
        grown = planning[backend].get("growth") or {}
        if grown.get("subscribers"):
            print(
                f"  {backend:<9} x{grown['subscribers']} subscribers: peak memory"
                f" x{grown['peak_memory']}, rate x{grown['recipients_per_second']}"
            )
    sending = figures["sending"]
    print(f"\nBroadcasts: sending in local mode (SIMULATOR_MPS={sending['simulator_mps']})")
    print(
        f"  {sending['sent']} sent of {sending['recipients_in_hours']} in hours in "
        f"{sending['seconds']} s (ideal {sending['ideal_seconds']} s); duplicates "
        f"{sending['duplicates']}; quiet-hour violations {sending['quiet_hour_violations']}; "
        f"{sending['recipients_out_of_hours']} out of hours waiting "
        f"({sending['broadcast'].get('waitingQuietHours')} counted), "
        f"{sending['sent_out_of_hours']} sent"
    )
    print(
        f"  confirmations during it: {sending['confirmations_sent']} of "
        f"{sending['registrations_during']}, wait p50 {sending['confirmation_wait_p50_seconds']} s,"
        f" max {sending['confirmation_wait_max_seconds']} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--memory", default=",".join(map(str, MEMORY_SIZES)))
    parser.add_argument("--moto", default=",".join(map(str, MOTO_SIZES)))
    parser.add_argument("--send", type=int, default=SEND_RECIPIENTS)
    args = parser.parse_args(argv)
    figures = measure(sizes(args.memory), sizes(args.moto), args.send)
    print(json.dumps(figures, indent=1, default=str))
    print_summary(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
