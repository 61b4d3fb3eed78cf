"""What the SNS-triggered functions share: each record of a batch, handled and reported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar


class Handled(Protocol):
    @property
    def error(self) -> Exception | None: ...


Result = TypeVar("Result", bound=Handled)


def records_of(event: Any) -> list[Any]:
    """The records of an SNS event, or the event itself when invoked with one message."""
    records = event.get("Records") if isinstance(event, dict) else None
    return records if isinstance(records, list) else [event]


def handle_each(
    event: Any,
    handle: Callable[[Any], Result],
    report: Callable[[Result], None],
    failed: Callable[[int], None] = lambda _count: None,
) -> list[Result]:
    """Each record of an SNS event (or the event itself, when invoked with one message),
    handled, then reported (its metrics and its one log line), in order. Then, if any
    failed, ``failed`` is told how many and the first failure is raised: SNS retries the
    event, and what was done is not done twice."""
    results = []
    for record in records_of(event):
        result = handle(record)
        report(result)
        results.append(result)
    failures = [result.error for result in results if result.error is not None]
    if failures:
        failed(len(failures))
        raise failures[0]
    return results
