"""Quiet hours: 08:00 to 21:00 in the subscriber's own zone, 20:00 for the stricter states'
area codes, with the clocks' DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from optin.domain.broadcasts.quiet_hours import (
    LEGAL,
    STRICT_AREA_CODES,
    STRICT_END,
    Window,
    allowed_now,
    next_allowed,
    next_allowed_for,
    parse_quiet_hours,
    strict_state,
    zones_for,
)

NEW_YORK = "+12125550123"  # America/New_York, not a stricter state
SEATTLE = "+12065550142"  # Washington
MIAMI = "+13055550123"  # Florida
CHICAGO = "+12625550123"  # Wisconsin, Central time
PARIS = "+33612345678"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("number", "now", "expected"),
    [
        # New York in November is UTC-5: 08:00 is 13:00 UTC, 21:00 is 02:00 UTC.
        (NEW_YORK, utc(2026, 11, 23, 12, 59), utc(2026, 11, 23, 13, 0)),
        (NEW_YORK, utc(2026, 11, 23, 13, 0), utc(2026, 11, 23, 13, 0)),
        (NEW_YORK, utc(2026, 11, 24, 1, 59), utc(2026, 11, 24, 1, 59)),
        (NEW_YORK, utc(2026, 11, 24, 2, 0), utc(2026, 11, 24, 13, 0)),
        # Seattle (UTC-8) stops at 20:00: 04:00 UTC.
        (SEATTLE, utc(2026, 11, 24, 3, 59), utc(2026, 11, 24, 3, 59)),
        (SEATTLE, utc(2026, 11, 24, 4, 0), utc(2026, 11, 24, 16, 0)),
        # Miami (UTC-5, Florida) stops at 20:00 too: 01:00 UTC.
        (MIAMI, utc(2026, 11, 24, 0, 59), utc(2026, 11, 24, 0, 59)),
        (MIAMI, utc(2026, 11, 24, 1, 0), utc(2026, 11, 24, 13, 0)),
        # Chicago (UTC-6), not stricter: until 03:00 UTC.
        (CHICAGO, utc(2026, 11, 24, 2, 30), utc(2026, 11, 24, 2, 30)),
        (CHICAGO, utc(2026, 11, 24, 3, 0), utc(2026, 11, 24, 14, 0)),
        # Paris (UTC+1 in winter).
        (PARIS, utc(2026, 11, 23, 6, 30), utc(2026, 11, 23, 7, 0)),
    ],
)
def test_the_window_in_the_numbers_own_zone(number: str, now: datetime, expected: datetime) -> None:
    assert next_allowed_for(now, number) == expected


def test_the_subscribers_own_timezone_wins_over_the_number() -> None:
    # 13:00 UTC: 08:00 in New York, but 14:00 in Paris, where this subscriber lives.
    assert next_allowed_for(utc(2026, 11, 23, 20, 30), NEW_YORK, "Europe/Paris") == utc(
        2026, 11, 24, 7, 0
    )
    # A zone nobody knows is ignored: the number's zone applies.
    assert next_allowed_for(utc(2026, 11, 23, 20, 30), NEW_YORK, "Mars/Olympus") == utc(
        2026, 11, 23, 20, 30
    )


def test_the_strict_end_follows_the_area_code_not_the_zone() -> None:
    """A Washington number living in New York keeps Washington's 20:00."""
    assert LEGAL.for_number(SEATTLE).closes == STRICT_END
    assert next_allowed_for(utc(2026, 11, 24, 1, 30), SEATTLE, "America/New_York") == utc(
        2026, 11, 24, 13, 0
    )
    assert next_allowed_for(utc(2026, 11, 24, 1, 30), NEW_YORK) == utc(2026, 11, 24, 1, 30)


def test_spring_forward_moves_the_morning_an_hour_earlier_in_utc() -> None:
    # 2026-03-08: New York goes from UTC-5 to UTC-4 at 07:00 UTC.
    assert not allowed_now(utc(2026, 3, 7, 12, 30), zones_for(NEW_YORK))  # 07:30 EST
    assert allowed_now(utc(2026, 3, 8, 12, 30), zones_for(NEW_YORK))  # 08:30 EDT
    # Waiting overnight across the change: 08:00 EDT is 12:00 UTC, not 13:00.
    assert next_allowed_for(utc(2026, 3, 8, 3, 0), NEW_YORK) == utc(2026, 3, 8, 12, 0)


def test_fall_back_moves_the_morning_an_hour_later_in_utc() -> None:
    # 2026-11-01: New York goes from UTC-4 to UTC-5 at 06:00 UTC.
    assert allowed_now(utc(2026, 10, 31, 12, 30), zones_for(NEW_YORK))  # 08:30 EDT
    assert not allowed_now(utc(2026, 11, 1, 12, 30), zones_for(NEW_YORK))  # 07:30 EST
    assert next_allowed_for(utc(2026, 11, 1, 3, 0), NEW_YORK) == utc(2026, 11, 1, 13, 0)
    # The evening: 21:00 EDT on Oct 31 is 01:00 UTC; 21:00 EST on Nov 1 is 02:00 UTC.
    assert not allowed_now(utc(2026, 11, 1, 1, 30), zones_for(NEW_YORK))
    assert allowed_now(utc(2026, 11, 2, 1, 30), zones_for(NEW_YORK))


def test_dst_in_a_stricter_state() -> None:
    # Seattle on 2026-03-08 goes to UTC-7 at 10:00 UTC: 20:00 PDT is 03:00 UTC next day.
    assert allowed_now(utc(2026, 3, 9, 2, 59), zones_for(SEATTLE), LEGAL.for_number(SEATTLE))
    assert not allowed_now(utc(2026, 3, 9, 3, 0), zones_for(SEATTLE), LEGAL.for_number(SEATTLE))
    # The day before, still UTC-8: 20:00 PST is 04:00 UTC.
    assert next_allowed_for(utc(2026, 3, 8, 3, 59), SEATTLE) == utc(2026, 3, 8, 3, 59)
    assert next_allowed_for(utc(2026, 3, 9, 3, 0), SEATTLE) == utc(2026, 3, 9, 15, 0)


def test_a_number_in_several_zones_waits_for_an_hour_allowed_in_each() -> None:
    zones = (ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles"))
    # 13:00 UTC: 08:00 in New York, 05:00 in Los Angeles: wait for 08:00 there.
    assert next_allowed(utc(2026, 11, 23, 13, 0), zones) == utc(2026, 11, 23, 16, 0)
    # 02:00 UTC: 21:00 in New York (over), 18:00 in Los Angeles: wait for the next day.
    assert next_allowed(utc(2026, 11, 24, 2, 0), zones) == utc(2026, 11, 24, 16, 0)
    assert allowed_now(utc(2026, 11, 24, 1, 0), zones)


def test_a_number_nobody_can_place_uses_utc() -> None:
    assert zones_for("+15555550123") == (ZoneInfo("UTC"),)


def test_the_strict_table_covers_the_five_states() -> None:
    assert set(STRICT_AREA_CODES.values()) == {"FL", "CT", "MD", "OK", "WA"}
    assert all(len(code) == 3 and code.isdigit() for code in STRICT_AREA_CODES)
    assert strict_state("+19185550123") == "OK"
    assert strict_state("+18605550123") == "CT"
    assert strict_state("+14105550123") == "MD"
    assert strict_state(NEW_YORK) == ""
    assert strict_state("+442065550142") == ""  # 206 outside NANP is not Washington


def test_quiet_hours_may_be_longer_than_the_law_never_shorter() -> None:
    """The quietHours setting: quiet from the first time until the second, overnight."""
    assert parse_quiet_hours("21:00-08:00") == LEGAL
    assert str(LEGAL) == "21:00-08:00"
    longer = parse_quiet_hours("19:30-09:15")
    assert (longer.opens, longer.closes) == (time(9, 15), time(19, 30))
    for shorter in ("22:00-08:00", "21:00-07:00", "23:00-06:00"):
        with pytest.raises(ValueError, match="may only lengthen"):
            parse_quiet_hours(shorter)
    for malformed in ("9-19", "21:00", "25:00-08:00", "21:00 - 08:00x", ["21:00"]):
        with pytest.raises(ValueError, match="HH:MM-HH:MM"):
            parse_quiet_hours(malformed)
    # Quiet all day: no hour left to send in.
    for malformed in ("08:00-08:00", "21:00-21:00"):
        with pytest.raises(ValueError, match="some hours to send"):
            parse_quiet_hours(malformed)


def test_longer_quiet_hours_apply_and_a_stricter_state_keeps_the_earlier_end() -> None:
    window = parse_quiet_hours("20:30-09:00")
    # 13:30 UTC is 08:30 in New York: allowed by the law, not by these quiet hours.
    assert next_allowed_for(utc(2026, 11, 23, 13, 30), NEW_YORK, window=window) == utc(
        2026, 11, 23, 14, 0
    )
    # 01:15 UTC is 20:15 in New York: before 20:30, allowed.
    assert next_allowed_for(utc(2026, 11, 24, 1, 15), NEW_YORK, window=window) == utc(
        2026, 11, 24, 1, 15
    )
    # Miami, Florida: 20:00 still closes it (earlier than 20:30).
    assert window.for_number(MIAMI) == Window(opens=time(9, 0), closes=STRICT_END)
    # An operator's end earlier than 20:00 applies to the stricter states too.
    early = parse_quiet_hours("18:00-09:00")
    assert early.for_number(MIAMI) == early
