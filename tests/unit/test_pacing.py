"""The pacing decision: where the next slot goes, and that no one-second window ever holds
more parts than the rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optin.domain.sending.pacing import (
    LATENESS,
    WINDOW,
    Bucket,
    micros,
    most_parts_in_a_window,
    reserve,
)

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)


def slots(parts: list[int], rate: int, now: datetime = NOW) -> list[datetime]:
    bucket = Bucket()
    found = []
    for count in parts:
        reservation = reserve(bucket, now, count, rate)
        bucket = reservation.bucket
        found.append(reservation.slot)
    return found


def test_an_idle_bucket_sends_at_once() -> None:
    assert reserve(Bucket(), NOW, 1, 1).slot == NOW


def test_a_bucket_that_was_idle_long_ago_sends_at_once() -> None:
    old = reserve(Bucket(), NOW - timedelta(hours=1), 3, 1).bucket
    assert reserve(old, NOW, 1, 1).slot == NOW


def test_single_parts_are_spread_at_the_rate() -> None:
    found = slots([1] * 5, rate=4)
    assert [slot - NOW for slot in found] == [
        timedelta(seconds=s) for s in (0, 0.25, 0.5, 0.75, 1.05)
    ]


def test_the_window_has_room_for_the_lateness_a_sender_is_allowed() -> None:
    """Four single parts at four per second: the fifth waits for the first to leave a
    window of one second and the allowed lateness."""
    fifth = slots([1] * 5, rate=4)[4]
    assert fifth - NOW == ONE_SECOND + LATENESS


def test_one_part_per_second_and_a_two_part_message() -> None:
    """A new 10DLC number (1 part/s) sends a two-part confirmation alone, and the next
    message waits two seconds."""
    found = slots([2, 1, 1], rate=1)
    assert [slot - NOW for slot in found] == [
        timedelta(0),
        timedelta(seconds=2),
        timedelta(seconds=3.05),
    ]


def test_a_message_longer_than_the_rate_is_sent_alone() -> None:
    found = slots([1, 3, 1], rate=2)
    assert most_parts_in_a_window(list(zip(found, [1, 3, 1], strict=True)), ONE_SECOND) == 3
    assert found[1] - found[0] >= ONE_SECOND


def test_two_part_messages_at_twenty_parts_per_second() -> None:
    """The throughput the lateness margin leaves: 2,000 two-part messages at 20 parts per
    second take 5 % more than 200 s."""
    found = slots([2] * 2000, rate=20)
    elapsed = (found[-1] - found[0]).total_seconds()
    assert 200 <= elapsed <= 200 * 1.06


def test_the_bucket_remembers_only_one_window() -> None:
    bucket = Bucket()
    for _ in range(500):
        bucket = reserve(bucket, NOW, 1, 20).bucket
    newest = bucket.recent[-1][0]
    assert all(start > newest - WINDOW for start, _ in bucket.recent)
    assert len(bucket.recent) <= 22


def test_each_reservation_bumps_the_version() -> None:
    bucket = reserve(Bucket(version=7), NOW, 1, 1).bucket
    assert bucket.version == 8
    assert bucket.next_start == micros(NOW) + 1_000_000


@pytest.mark.parametrize(("parts", "rate"), [(0, 1), (1, 0)])
def test_nonsense_is_refused(parts: int, rate: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        reserve(Bucket(), NOW, parts, rate)


@settings(max_examples=300, deadline=None)
@given(
    rate=st.integers(1, 40),
    messages=st.lists(
        st.tuples(
            st.integers(1, 4),  # parts
            st.integers(0, 400_000),  # µs after the previous message was queued
            st.integers(0, 50_000),  # µs the sender is late (at most the allowed lateness)
        ),
        min_size=1,
        max_size=120,
    ),
)
def test_no_window_of_one_second_holds_more_than_the_rate(
    rate: int, messages: list[tuple[int, int, int]]
) -> None:
    bucket = Bucket()
    now = NOW
    sends = []
    for parts, gap, late in messages:
        now += timedelta(microseconds=gap)
        reservation = reserve(bucket, now, parts, rate)
        bucket = reservation.bucket
        sends.append((reservation.slot + timedelta(microseconds=late), parts))
    longest = max(parts for parts, _, _ in messages)
    assert most_parts_in_a_window(sends, ONE_SECOND) <= max(rate, longest)


def test_the_window_count_sees_a_burst() -> None:
    sends = [(NOW, 1), (NOW + timedelta(milliseconds=999), 2), (NOW + ONE_SECOND, 5)]
    assert most_parts_in_a_window(sends, ONE_SECOND) == 7
    assert most_parts_in_a_window(sends[:2], ONE_SECOND) == 3
