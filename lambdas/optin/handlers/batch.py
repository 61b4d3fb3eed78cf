"""What the SNS-triggered functions share: each record of a batch, handled and reported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Result = TypeVar("Result")


def handle_each(
    event: Any, handle: Callable[[Any], Result], report: Callable[[Result], None]
) -> list[Result]:
    """Each record of an SNS event (or the event itself, when invoked with one message),
    handled, then reported (its metrics and its one log line), in order."""
    records = event.get("Records") if isinstance(event, dict) else None
    results = []
    for record in records if isinstance(records, list) else [event]:
        result = handle(record)
        report(result)
        results.append(result)
    return results
