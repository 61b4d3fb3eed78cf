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

from benchmarks.stats import median, percentile
from tests.support.fakes import BASE_ENV, FAKE_AWS, NO_PREFIX_LIMITS, Clock, fake_ports
from tests.support.harness import CannedSms, fictional_numbers, moto_table

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
    memory = fake_ports(settings.rules, clock)
    result = {"in_memory": _run(settings, memory, clock, invocations)}
    sent = len(memory.sender.sent)  # type: ignore[attr-defined]
    if sent != 2 * (invocations + WARMUP):
        raise RuntimeError(f"in-memory run sent {sent} SMS")

    from moto import mock_aws

    with mock_aws():
        saved = {name: os.environ.get(name) for name in ENV}
        os.environ.update(ENV)
        try:
            from optin import runtime

            moto_table(BASE_ENV["TABLE_NAME"])
            real = runtime.from_environment()  # the real adapters, as in Lambda
            ports = real.ports
            ports.clock = clock
            canned = CannedSms()
            canned.attach(ports.sender._client)  # type: ignore[attr-defined]
            client = ports.store._client  # type: ignore[attr-defined]

            def reset() -> None:
                client.delete_table(TableName=BASE_ENV["TABLE_NAME"])
                moto_table(BASE_ENV["TABLE_NAME"])
                # A fresh store: the disclosure versions it kept went with the old table.
                from optin.adapters.dynamodb import DynamoSubscriberStore

                ports.store = DynamoSubscriberStore(BASE_ENV["TABLE_NAME"], client=client)

            with _MotoTimer() as timer:
                result["moto"] = _run(real.settings, ports, clock, invocations, timer, reset)
            if len(canned.sent) != 2 * (invocations + WARMUP):
                raise RuntimeError(f"moto run sent {len(canned.sent)} SMS")
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
        "to /dev/null; moto: the real adapters (botocore serialises, signs and parses every "
        "call), table emptied between batches, 'excluding moto' subtracts the time spent "
        "inside moto's request handling; SMS answered at botocore before-send"
    )
    return result
