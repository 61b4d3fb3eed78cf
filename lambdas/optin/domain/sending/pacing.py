"""The pace of one origination identity: never more than ``rate`` message parts in any
one-second window, however many senders share it.

Every sender reserves a *slot* (the moment it may send) in one bucket per origination
identity, by a conditional write of what this module decides. The bucket remembers the
recent reservations (start and parts); a new one starts at the earliest moment when

- it is no earlier than the previous reservation plus that one's parts at the rate (so
  sends are spread evenly rather than in bursts), and
- the parts reserved in the window of ``WINDOW`` ending at it, its own included, are at
  most the rate. A message of more parts than the rate is sent alone in its window.

The window is one second plus ``LATENESS``: a sender may send up to that long after its
slot (it checks before sending, and reserves again when it is later), so sends that arrive
late still never put more than ``rate`` parts in any one second. That margin costs
``LATENESS`` per second of throughput (5 %).

Times are integer microseconds since the epoch, so that stored values compare exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SECOND = 1_000_000  # microseconds
LATENESS = timedelta(milliseconds=50)
WINDOW = SECOND + LATENESS // timedelta(microseconds=1)


@dataclass(frozen=True)
class Bucket:
    """The reservations of one origination identity, as stored."""

    next_start: int = 0  # no reservation may start earlier (µs)
    recent: tuple[tuple[int, int], ...] = ()  # (start µs, parts) a later window may still see
    version: int = 0  # for the conditional write


@dataclass(frozen=True)
class Reservation:
    slot: datetime  # when the message may be sent
    bucket: Bucket  # the bucket to write, conditional on the version that was read


def micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def moment(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def reserve(bucket: Bucket, now: datetime, parts: int, rate: int) -> Reservation:
    """The earliest slot for a message of ``parts`` parts at ``rate`` parts per second, and
    the bucket that records it."""
    if parts < 1 or rate < 1:
        raise ValueError("parts and rate must be at least 1")
    start = max(micros(now), bucket.next_start)
    recent = [entry for entry in bucket.recent if entry[0] > start - WINDOW]
    limit = max(rate, parts)
    seen = sum(count for _, count in recent)
    while seen + parts > limit:  # wait until the oldest reservation leaves the window
        oldest, count = recent.pop(0)
        start = max(start, oldest + WINDOW)
        seen -= count
    recent = [entry for entry in recent if entry[0] > start - WINDOW]
    spacing = -(-parts * SECOND // rate)  # rounded up: never faster than the rate
    return Reservation(
        slot=moment(start),
        bucket=Bucket(
            next_start=start + spacing,
            recent=(*recent, (start, parts)),
            version=bucket.version + 1,
        ),
    )


def window_totals(sends: list[tuple[datetime, int]], window: timedelta) -> list[int]:
    """For each send in time order, the parts sent inside the window that ends with it
    (its own included; the window's start included, its end excluded). ``sends`` are
    (when, parts)."""
    ordered = sorted(sends)
    totals, total, first = [], 0, 0
    for at, parts in ordered:
        total += parts
        while ordered[first][0] <= at - window:
            total -= ordered[first][1]
            first += 1
        totals.append(total)
    return totals


def most_parts_in_a_window(sends: list[tuple[datetime, int]], window: timedelta) -> int:
    """The most parts sent inside any window of ``window``: what a carrier counts against
    a rate."""
    return max(window_totals(sends, window), default=0)
