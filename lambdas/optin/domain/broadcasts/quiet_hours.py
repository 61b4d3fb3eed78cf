"""When a broadcast may reach a subscriber: 08:00 to 21:00 in their own time zone, 20:00
where a state's law is stricter; the ``quietHours`` setting may make the window narrower,
never wider.

The time zone is the subscriber's ``timezone`` field, else what phonenumbers' metadata
gives for the number. A number whose metadata names several zones (a Canadian number
without a known area, a US number of an area code that straddles two zones) is sent only
when the hour is allowed in every one of them: the careful reading of "their own time".
Times are computed with ``zoneinfo``, so a DST change moves the window with the clocks.

``STRICT_AREA_CODES`` is the one place the stricter states' area codes are listed
(docs/broadcasts.md says why): NANPA adds overlays now and then, and a new one belongs
here the day it is announced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

START = time(8, 0)
END = time(21, 0)
STRICT_END = time(20, 0)
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Window:
    """The local hours a broadcast may reach a subscriber: from ``opens`` until
    ``closes`` (08:00-21:00, the law's, unless the operator's quiet hours are longer)."""

    opens: time = START
    closes: time = END

    def for_number(self, phone_number: str) -> Window:
        """This window, closing at 20:00 at the latest for a stricter state's number."""
        if strict_state(phone_number) and self.closes > STRICT_END:
            return replace(self, closes=STRICT_END)
        return self

    def __str__(self) -> str:
        """As the ``quietHours`` setting writes it: the quiet part, "21:00-08:00"."""
        return f"{self.closes:%H:%M}-{self.opens:%H:%M}"


LEGAL = Window()


def parse_quiet_hours(value: object) -> Window:
    """The ``quietHours`` setting, "HH:MM-HH:MM" (quiet from the first time until the
    second, overnight): it may cover more than 21:00-08:00, never less."""
    found = _HOURS.match(str(value).strip())
    if not found:
        raise ValueError(
            f'must be "HH:MM-HH:MM" (quiet from, until), like "21:00-08:00"; got {value!r}'
        )
    start_hour, start_minute, end_hour, end_minute = map(int, found.groups())
    window = Window(opens=time(end_hour, end_minute), closes=time(start_hour, start_minute))
    if not START <= window.opens < window.closes <= END:
        raise ValueError(
            f"may only lengthen the quiet hours of 21:00-08:00 (when the law lets no "
            f"broadcast reach a subscriber), and must leave some hours to send; got {value!r}"
        )
    return window


# Area codes of the states whose telemarketing laws stop texts at 20:00 (Florida's
# 501.059, Oklahoma's 15-775C, Maryland's Stop the Spam Calls Act, Washington's RCW
# 80.36.390, Connecticut's 42-288a), overlays included, as NANPA listed them in 2026.
STRICT_AREA_CODES: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "239", "305", "321", "324", "352", "386", "407", "448", "561", "645", "656",
            "689", "727", "728", "754", "772", "786", "813", "850", "863", "904", "941",
            "954",
        ),
        "FL",
    ),
    **dict.fromkeys(("203", "475", "860", "959"), "CT"),
    **dict.fromkeys(("227", "240", "301", "410", "443", "667"), "MD"),
    **dict.fromkeys(("405", "539", "572", "580", "918"), "OK"),
    **dict.fromkeys(("206", "253", "360", "425", "509", "564"), "WA"),
}  # fmt: skip

# Windows of zones further apart than this never meet: the first zone decides then.
_MAX_STEPS = 8


def strict_state(phone_number: str) -> str:
    """The stricter state a NANP number's area code belongs to, or ""."""
    if phone_number.startswith("+1") and len(phone_number) == 12:
        return STRICT_AREA_CODES.get(phone_number[2:5], "")
    return ""


def zones_for(phone_number: str, timezone: str = "") -> tuple[ZoneInfo, ...]:
    """The subscriber's own zone if it is a known one, else the number's zones; UTC when
    nothing is known (a number phonenumbers cannot place)."""
    own = _zone(timezone)
    if own is not None:
        return (own,)
    return _number_zones(phone_number) or (ZoneInfo("UTC"),)


@cache
def _zone(name: str) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@cache
def _number_zones(phone_number: str) -> tuple[ZoneInfo, ...]:
    import phonenumbers
    from phonenumbers import timezone

    try:
        parsed = phonenumbers.parse(phone_number)
    except phonenumbers.NumberParseException:
        return ()
    names = [name for name in timezone.time_zones_for_number(parsed) if name != "Etc/Unknown"]
    return tuple(zone for zone in map(_zone, names) if zone is not None)


def next_allowed(now: datetime, zones: tuple[ZoneInfo, ...], window: Window = LEGAL) -> datetime:
    """``now`` when a message may leave now, else the first moment it may (UTC)."""
    moment = now
    for _ in range(_MAX_STEPS):
        later = max(_next_in_zone(moment, zone, window) for zone in zones)
        if later == moment:
            return moment
        moment = later
    return _next_in_zone(now, zones[0], window)


def allowed_now(now: datetime, zones: tuple[ZoneInfo, ...], window: Window = LEGAL) -> bool:
    return next_allowed(now, zones, window) == now


def next_allowed_for(
    now: datetime, phone_number: str, timezone: str = "", window: Window = LEGAL
) -> datetime:
    """The moment a broadcast may reach this subscriber (``now`` if it may now)."""
    own = window.for_number(phone_number)
    return next_allowed(now, zones_for(phone_number, timezone), own)


def _next_in_zone(moment: datetime, zone: ZoneInfo, window: Window) -> datetime:
    local = moment.astimezone(zone)
    if window.opens <= local.time() < window.closes:
        return moment
    day = local.date() if local.time() < window.opens else local.date() + timedelta(days=1)
    # The opening hour exists on every day of every zone in use (clocks change at night);
    # were it in a gap, the offset before the change applies: just after the gap.
    return datetime.combine(day, window.opens, tzinfo=zone).astimezone(UTC)
