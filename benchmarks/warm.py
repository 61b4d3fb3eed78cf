"""Warm latency of each handler, in process: in-memory fakes (our own code and
Powertools), then the real adapters with moto answering DynamoDB (adapter overhead)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3

from benchmarks.stats import median, percentile
from tests.support.fakes import BASE_ENV, FAKE_AWS, NO_PREFIX_LIMITS, Clock, MemoryQueue, fake_ports
from tests.support.harness import fictional_numbers, moto_table

WARMUP = 50
BATCH = 50
# A thousand fictional numbers share ten prefixes: no limits across numbers in this run.
ENV = {**BASE_ENV, **NO_PREFIX_LIMITS}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Logs and EMF metrics are still formatted and written (that is part of the cost),
    but to /dev/null rather than the terminal."""
    from optin.observability import logger

    with open(os.devnull, "w", encoding="utf-8") as sink:
        handler = logger.registered_handler
        previous = handler.setStream(sink)  # type: ignore[attr-defined]
        stdout, sys.stdout = sys.stdout, sink
        try:
            yield
        finally:
            sys.stdout = stdout
            handler.setStream(previous)  # type: ignore[attr-defined]


def _form(number: str) -> str:
    return json.dumps(
        {
            "phoneNumber": number,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "consent": True,
            "source": "/signup",
        }
    )


class _MotoTimer:
    """Time spent inside moto's request handling (routing and its in-memory backend), so
    that it can be taken out of the adapter's figure: moto is not DynamoDB."""

    def __init__(self) -> None:
        self.spent = 0.0
        self._original: Any = None

    def __enter__(self) -> _MotoTimer:
        from moto.core.botocore_stubber import BotocoreStubber

        self._original = original = BotocoreStubber.__call__
        timer = self

        def timed(stubber: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(stubber, *args, **kwargs)
            finally:
                timer.spent += time.perf_counter() - started

        BotocoreStubber.__call__ = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *_exc: object) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        BotocoreStubber.__call__ = self._original  # type: ignore[method-assign]


class _Timings:
    def __init__(self, moto: _MotoTimer | None) -> None:
        self.total: list[float] = []
        self.without_moto: list[float] = []
        self._moto = moto

    def time(self, call: Callable[[], Any], check: Callable[[Any], bool]) -> None:
        moto_before = self._moto.spent if self._moto else 0.0
        started = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - started
        in_moto = (self._moto.spent if self._moto else 0.0) - moto_before
        self.total.append(elapsed * 1000)
        self.without_moto.append((elapsed - in_moto) * 1000)
        if not check(result):
            raise RuntimeError(f"unexpected handler result {result}")

    def summary(self, skip: int) -> dict[str, Any]:
        out = _summary(self.total[skip:])
        if self._moto:
            rest = _summary(self.without_moto[skip:])
            out["p50_excluding_moto_ms"] = rest["p50_ms"]
            out["p99_excluding_moto_ms"] = rest["p99_ms"]
        return out


def _summary(timings: list[float]) -> dict[str, Any]:
    return {
        "invocations": len(timings),
        "p50_ms": round(median(timings), 3),
        "p99_ms": round(percentile(timings, 0.99), 3),
        "mean_ms": round(sum(timings) / len(timings), 3),
    }


def _run(
    settings: Any,
    ports: Any,
    clock: Clock,
    invocations: int,
    moto: _MotoTimer | None = None,
    reset: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Batches of BATCH numbers: register each, then confirm each by a YES reply. Between
    batches ``reset`` may empty the table (untimed): moto copies a whole table on every
    transaction, which DynamoDB does not, so a growing table would measure moto alone."""
    from local.events import LambdaContext, api_gateway_event, sns_event, two_way_message
    from optin import runtime
    from optin.handlers import inbound, registration

    runtime.install(runtime.Runtime(settings, ports))
    numbers = list(fictional_numbers())[: invocations + WARMUP]
    context = LambdaContext()
    registrations, replies = _Timings(moto), _Timings(moto)

    def register(number: str) -> Any:
        clock.advance(seconds=1)
        return registration.handler(api_gateway_event(_form(number)), context)

    def confirm(number: str) -> Any:
        clock.advance(seconds=1)
        return inbound.handler(sns_event(two_way_message(number, "YES")), context)

    try:
        with _quiet():
            for start in range(0, len(numbers), BATCH):
                batch = numbers[start : start + BATCH]
                for number in batch:
                    registrations.time(lambda n=number: register(n), _accepted)
                for number in batch:
                    replies.time(lambda n=number: confirm(n), _processed)
                reset()
    finally:
        runtime.install(None)
    return {"registration": registrations.summary(WARMUP), "inbound": replies.summary(WARMUP)}


def _accepted(response: Any) -> bool:
    return bool(response["statusCode"] == 202)


def _processed(response: Any) -> bool:
    return bool(response == {"processed": 1})


def measure(invocations: int = 1000) -> dict[str, Any]:
    os.environ.update(FAKE_AWS)
    from optin.settings import Settings

    settings = Settings.from_env(ENV)
    clock = Clock()
    # The handlers alone: what they queue waits in the queue (the sender is not timed).
    memory = fake_ports(settings.rules, clock, queue=MemoryQueue(clock))
    result = {"in_memory": _run(settings, memory, clock, invocations)}
    queued = len(memory.queue.enqueued)  # type: ignore[attr-defined]
    if queued != 2 * (invocations + WARMUP):
        raise RuntimeError(f"in-memory run queued {queued} SMS")

    from moto import mock_aws

    with mock_aws():
        environment = {**ENV, **_queues()}
        saved = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        try:
            from optin import runtime

            moto_table(BASE_ENV["TABLE_NAME"])
            real = runtime.from_environment()  # the real adapters, as in Lambda
            ports = real.ports
            ports.clock = clock
            client = ports.store._client  # type: ignore[attr-defined]
            sqs = boto3.client("sqs", region_name="us-east-1")
            queued = 0

            def reset() -> None:
                nonlocal queued
                client.delete_table(TableName=BASE_ENV["TABLE_NAME"])
                moto_table(BASE_ENV["TABLE_NAME"])
                # A fresh store: the disclosure versions it kept went with the old table.
                from optin.adapters.dynamodb import DynamoSubscriberStore

                ports.store = DynamoSubscriberStore(BASE_ENV["TABLE_NAME"], client=client)
                # A fresh queue too, counted first: moto's queue, unlike SQS, slows as it grows.
                from optin.adapters.queue import SqsSendQueue

                old = ports.queue
                assert isinstance(old, SqsSendQueue)
                queued += int(
                    sqs.get_queue_attributes(
                        QueueUrl=old.transactional_url,
                        AttributeNames=["ApproximateNumberOfMessages"],
                    )["Attributes"]["ApproximateNumberOfMessages"]
                )
                fresh = sqs.create_queue(QueueName=f"send-{queued}")["QueueUrl"]
                ports.queue = SqsSendQueue(fresh, old.broadcast_url, sqs)

            with _MotoTimer() as timer:
                result["moto"] = _run(real.settings, ports, clock, invocations, timer, reset)
            if queued != 2 * (invocations + WARMUP):
                raise RuntimeError(f"moto run queued {queued} SMS")
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    result["method"] = (
        f"{invocations} timed invocations per handler after {WARMUP} warm-up ones, distinct "
        f"fictional numbers in batches of {BATCH} (register each, then YES from each pending "
        "number), fake clock advanced 1 s per call; logs and EMF metrics formatted and written "
        "to /dev/null; each SMS is queued (the sender's work is not timed); moto: the real "
        "adapters (botocore serialises, signs and parses every call), DynamoDB and SQS on "
        "moto, table emptied and a fresh queue between batches, 'excluding moto' subtracts the "
        "time spent inside moto's request handling"
    )
    return result


def _queues() -> dict[str, str]:
    """The send queues on moto (call inside ``mock_aws``), as the functions' environment."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    return {
        variable: sqs.create_queue(QueueName=name)["QueueUrl"]
        for variable, name in (("SEND_QUEUE_URL", "send"), ("BROADCAST_QUEUE_URL", "broadcast"))
    }
