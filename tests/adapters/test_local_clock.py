"""LOCAL_CLOCK_START: local mode's clock starts at a chosen moment and runs at the real pace
from there, so quiet hours can be tried (and tested) at any hour of the day."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from local.service import clock_from

START = datetime(2026, 6, 15, 1, 30, tzinfo=UTC)


def test_without_a_start_the_clock_is_the_real_one():
    for unset in (None, ""):
        reading = clock_from(unset)()
        assert abs(reading - datetime.now(UTC)) < timedelta(seconds=1)
        assert reading.tzinfo is not None


@pytest.mark.parametrize(
    "written", ["2026-06-15T01:30:00Z", "2026-06-15T01:30:00+00:00", "2026-06-14T21:30:00-04:00"]
)
def test_a_start_reads_that_moment_then_runs_on(written: str):
    clock = clock_from(written)
    first = clock()
    assert timedelta(0) <= first - START < timedelta(seconds=1)
    time.sleep(0.05)
    assert timedelta(seconds=0.05) <= clock() - first < timedelta(seconds=1)


def test_a_start_without_a_zone_is_utc():
    assert timedelta(0) <= clock_from("2026-06-15T01:30:00")() - START < timedelta(seconds=1)


def test_a_bad_start_stops_local_mode_naming_the_variable():
    with pytest.raises(SystemExit, match="LOCAL_CLOCK_START must be an ISO 8601 moment"):
        clock_from("half past one")
