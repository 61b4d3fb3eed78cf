"""The operator API at scale: segment counts and a full ledger export, through the admin
function, over N subscribers with 5 ledger events each, on the in-memory store and on the
real DynamoDB adapter (moto). Time, peak memory (tracemalloc) and how each grows with N.

    .venv/bin/python benchmarks/admin.py [--memory 10000,100000] [--moto 10000,20000]

The data is written straight into each store (the in-memory store's own ``save``; on moto,
BatchWriteItem of the items the adapter writes, counters included), so the figures are the
reads alone. The export is read page by page, as the CLI does, into a temporary file.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT / "lambdas"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

EVENTS_PER_SUBSCRIBER = 5
MEMORY_SIZES = (10_000, 100_000)
# moto's Scan and Query walk every item of the table on each call, so a paged export costs
# it O(N^2): 2,000 subscribers already take about two minutes under tracemalloc.
MOTO_SIZES = (1_000, 2_000)
SEGMENT_REQUESTS = 20
EXPORT_PAGE = 1000
SOURCES = [f"/landing-{index:02d}" for index in range(20)]
START = datetime(2026, 1, 1, tzinfo=UTC)


def quiet_environment() -> None:
    from tests.support.fakes import BASE_ENV, FAKE_AWS

    os.environ.update(FAKE_AWS)
    os.environ.update(BASE_ENV)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"


def number(index: int) -> str:
    """Distinct valid-looking numbers: US 206 and Canadian 416 exchanges."""
    area = "206" if index % 4 else "416"
    return f"+1{area}{200 + index // 10_000:03d}{index % 10_000:04d}"


def subscriber_and_events(index: int) -> tuple[Any, list[Any]]:
    from optin.domain.model import ConsentEvent, EventType, Status, Subscriber

    phone = number(index)
    at = START + timedelta(seconds=index)
    status = [Status.CONFIRMED] * 7 + [Status.PENDING, Status.OPTED_OUT, Status.EXPIRED]
    subscriber = Subscriber(
        phone_number=phone,
        status=status[index % 10],
        created_at=at,
        updated_at=at + timedelta(minutes=1),
        first_name="Ada",
        last_name="Lovelace",
        source=SOURCES[index % len(SOURCES)],
        country="CA" if phone.startswith("+1416") else "US",
        timezone="America/Los_Angeles",
        number_type="MOBILE",
        requested_at=at,
        confirmed_at=at + timedelta(seconds=30),
    )
    request = {
        "ip": "203.0.113.9",
        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)",
        "disclosureVersion": "d-0123456789ab",
        "correlationId": f"corr-{index}",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "consentCheckbox": True,
        "fromStatus": "",
        "toStatus": "PENDING",
    }
    events = [
        ConsentEvent(EventType.REGISTERED, at, subscriber.source, request),
        ConsentEvent(EventType.CONFIRMATION_SENT, at, "registration", {"messageId": f"m-{index}"}),
        ConsentEvent(
            EventType.INBOUND,
            at + timedelta(seconds=30),
            "sms",
            {"body": "Yes", "keyword": "CONFIRM", "inboundMessageId": f"in-{index}"},
        ),
        ConsentEvent(
            EventType.CONFIRMED,
            at + timedelta(seconds=30),
            "sms",
            {"fromStatus": "PENDING", "toStatus": "CONFIRMED", "inboundMessageId": f"in-{index}"},
        ),
        ConsentEvent(EventType.WELCOME_SENT, at + timedelta(seconds=31), "sms", {"messageId": "w"}),
    ]
    return subscriber, events


# Filling the stores ------------------------------------------------------------------------


def fill_memory(count: int) -> Any:
    from tests.support.fakes import MemoryStore

    store = MemoryStore()
    for index in range(count):
        subscriber, events = subscriber_and_events(index)
        store.save(subscriber, events, expected_version=None)
    store.calls.clear()
    return store


def fill_moto(client: Any, table: str, count: int) -> None:
    """The items the adapter writes, in batches of 25, and the counters they add up to."""
    from optin.adapters.dynamodb import codec
    from optin.adapters.schema import segment_key

    counters: dict[tuple[str, str], dict[str, int]] = {}
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        request = {table: [{"PutRequest": {"Item": item}} for item in batch]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        batch.clear()

    for index in range(count):
        subscriber, events = subscriber_and_events(index)
        saved = subscriber.__class__(**{**subscriber.__dict__, "version": 1})
        batch.append(codec.subscriber_item(saved))
        for position, event in enumerate(events):
            batch.append(codec.event_item(saved.phone_number, event, f"{index:020d}", position))
            if len(batch) == 25:
                flush()
        for dimension, value in (
            ("status", saved.status.value),
            ("source", saved.source),
            ("country", saved.country),
        ):
            row = counters.setdefault((dimension, value), {})
            row[saved.status.value] = row.get(saved.status.value, 0) + 1
    if batch:
        flush()
    for (dimension, value), row in counters.items():
        item = {**segment_key(dimension, value, 0)}
        item.update({status: {"N": str(n)} for status, n in row.items()})
        client.put_item(TableName=table, Item=item)


# Measuring through the admin function -------------------------------------------------------


def _call(query: dict[str, str], path: str) -> dict[str, Any]:
    from local.events import LambdaContext
    from local.service import admin_event
    from optin.handlers import admin

    text = "&".join(f"{k}={v}" for k, v in query.items())
    # Powertools prints a full metric set even when metrics are off: kept off the output.
    with contextlib.redirect_stdout(io.StringIO()):
        response: dict[str, Any] = admin.handler(
            admin_event("GET", path, text, b"", caller="bench"), LambdaContext()
        )
    return response


def _header(response: dict[str, Any], name: str) -> str | None:
    values = (response.get("multiValueHeaders") or {}).get(name)
    return values[0] if values else (response.get("headers") or {}).get(name)


def measure_segments() -> dict[str, Any]:
    timings = []
    _call({"by": "status"}, "/admin/segments")  # first use of the function: not measured
    tracemalloc.start()
    for _ in range(SEGMENT_REQUESTS):
        for by in ("status", "source", "country"):
            started = time.perf_counter()
            response = _call({"by": by}, "/admin/segments")
            timings.append((time.perf_counter() - started) * 1000)
            assert response["statusCode"] == 200, response["body"]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    counts = json.loads(_call({"by": "status"}, "/admin/segments")["body"])["counts"]
    return {
        "requests": len(timings),
        "p50_ms": round(statistics.median(timings), 3),
        "max_ms": round(max(timings), 3),
        "peak_kib": round(peak / 1024, 1),
        "subscribers_counted": sum(sum(row.values()) for row in counts.values()),
    }


def measure_export() -> dict[str, Any]:
    pages = rows = written = 0
    query = {"format": "csv", "limit": str(EXPORT_PAGE)}
    _call({"format": "csv", "limit": "1"}, "/admin/export")  # first use: not measured
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        started = time.perf_counter()
        while True:
            response = _call(query, "/admin/export")
            assert response["statusCode"] == 200, response["body"]
            body = response["body"].encode()
            out.write(body)
            written += len(body)
            pages += 1
            rows += body.count(b"\n")
            cursor = _header(response, "X-Next-Cursor")
            if not cursor:
                break
            query["cursor"] = cursor
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "pages": pages,
        "events": rows - 1,  # the CSV header
        "seconds": round(seconds, 2),
        "events_per_second": round((rows - 1) / seconds),
        "megabytes_written": round(written / 1e6, 1),
        "peak_kib_above_start": round((peak - before) / 1024, 1),
    }


def _install(store: Any) -> None:
    from optin import runtime
    from optin.settings import Settings
    from tests.support.fakes import Clock, fake_ports

    settings = Settings.from_env(os.environ)
    ports = fake_ports(settings.rules, Clock(), store)
    runtime.install(runtime.Runtime(settings, ports))


def run_memory(count: int) -> dict[str, Any]:
    started = time.perf_counter()
    store = fill_memory(count)
    filled = time.perf_counter() - started
    _install(store)
    return {
        "subscribers": count,
        "fill_seconds": round(filled, 1),
        "segments": measure_segments(),
        "export": measure_export(),
    }


def run_moto(count: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from optin.adapters.dynamodb import DynamoSubscriberStore
    from optin.adapters.schema import table_definition

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition("bench"))
        started = time.perf_counter()
        fill_moto(client, "bench", count)
        filled = time.perf_counter() - started
        reads: list[str] = []
        scanned: list[int] = []

        def after_call(event_name: str, parsed: dict[str, Any], **_: Any) -> None:
            reads.append(event_name.rsplit(".", 1)[1])
            scanned.append(int(parsed.get("ScannedCount", 0)))

        client.meta.events.register("after-call.dynamodb.*", after_call)
        _install(DynamoSubscriberStore("bench", client=client, erasure_key=lambda: b"k" * 32))
        segments = measure_segments()
        segments["dynamodb_calls_per_request"] = round(len(reads) / (segments["requests"] + 1), 2)
        segments["items_read_per_request"] = round(sum(scanned) / len(scanned), 1)
        reads.clear()
        export = measure_export()
        export["dynamodb_calls"] = {name: reads.count(name) for name in sorted(set(reads))}
    return {"subscribers": count, "fill_seconds": round(filled, 1), "segments": segments,
            "export": export}  # fmt: skip


def print_runs(
    title: str, header: str, figures: dict[str, Any], row: Callable[[dict[str, Any]], str]
) -> None:
    """One line a run, in memory then on moto, under ``title`` and ``header``."""
    print(f"\n{title}")
    print(f"  store      {header}")
    for backend in ("in_memory", "moto"):
        for run in figures[backend]["runs"]:
            print(f"  {backend:<9} {row(run)}")


def growth(runs: list[dict[str, Any]], pick: Callable[[dict[str, Any]], float]) -> float | None:
    if len(runs) < 2 or not pick(runs[0]):
        return None
    return round(pick(runs[-1]) / pick(runs[0]), 2)


def measure(memory_sizes: tuple[int, ...], moto_sizes: tuple[int, ...]) -> dict[str, Any]:
    quiet_environment()
    memory = []
    for count in memory_sizes:
        print(f"  operator API, in memory, {count:,} subscribers ...", file=sys.stderr, flush=True)
        memory.append(run_memory(count))
    moto = []
    for count in moto_sizes:
        print(f"  operator API, moto, {count:,} subscribers ...", file=sys.stderr, flush=True)
        moto.append(run_moto(count))
    from optin import runtime

    runtime.install(None)
    summary: dict[str, Any] = {}
    for name, runs in (("in_memory", memory), ("moto", moto)):
        summary[name] = {
            "runs": runs,
            "growth": {
                "subscribers": growth(runs, lambda r: r["subscribers"]),
                "segments_p50_ms": growth(runs, lambda r: r["segments"]["p50_ms"]),
                "segments_peak_kib": growth(runs, lambda r: r["segments"]["peak_kib"]),
                "export_seconds": growth(runs, lambda r: r["export"]["seconds"]),
                "export_peak_kib": growth(runs, lambda r: r["export"]["peak_kib_above_start"]),
            },
        }
    summary["method"] = (
        f"{EVENTS_PER_SUBSCRIBER} ledger events per subscriber; {SEGMENT_REQUESTS} x 3 "
        f"GET /admin/segments (by status, source, country); GET /admin/export?format=csv, "
        f"pages of {EXPORT_PAGE}, until no X-Next-Cursor, into a temporary file; through "
        "optin.handlers.admin.handler with proxy events; peak memory by tracemalloc"
    )
    return summary


def sizes(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--memory", default=",".join(map(str, MEMORY_SIZES)), help="in-memory sizes"
    )
    parser.add_argument("--moto", default=",".join(map(str, MOTO_SIZES)), help="moto sizes")
    args = parser.parse_args(argv)
    print(json.dumps(measure(sizes(args.memory), sizes(args.moto)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
