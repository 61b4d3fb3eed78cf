"""The hourly housekeeping (EventBridge schedule; local mode runs it on a timer too):
expire pending numbers past their window, erase the personal data of numbers that never
confirmed once ``unconfirmedRetentionDays`` have passed, count older profiles into the
segment counters. Stops starting new pages shortly before the function's time runs out;
the next run goes on from there."""

from __future__ import annotations

from typing import Any

from optin import runtime
from optin.domain.subscribers.housekeeping import run_housekeeping
from optin.observability import Metric, count, entry_point, logger

# Start no new page with less time left than this (a page is at most 100 candidates).
RESERVE_MILLISECONDS = 20_000


@entry_point()
def handler(event: Any, context: Any) -> dict[str, Any]:
    current = runtime.current()
    remaining = getattr(context, "get_remaining_time_in_millis", None)

    def time_left() -> bool:
        return remaining is None or remaining() > RESERVE_MILLISECONDS

    result = run_housekeeping(
        current.ports.store,
        current.settings.housekeeping,
        current.ports.clock,
        time_left=time_left,
    )
    count(Metric.EXPIRED, result.expired)
    count(Metric.ERASED, result.erased)
    summary = {
        "expired": result.expired,
        "erased": result.erased,
        "countersComplete": result.counters_complete,
        "complete": result.complete,
    }
    logger.info("housekeeping done", extra=summary)
    return summary
