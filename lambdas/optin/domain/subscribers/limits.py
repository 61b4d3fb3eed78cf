"""Limits across numbers, against SMS pumping: confirmations per number prefix per hour,
and a budget of confirmations per UTC day for the whole service.

A pumper makes the form text a range of numbers it is paid for (``+1 206 342 0000``,
``0001``...): every number is new, so the per-number cool-down and daily cap never see it.
These limits do. They are counted in the store with conditional updates
(``SendStore.take_unit``): however many registrations race, no counter ever passes
its limit.

A registration takes one unit of each counter once the per-number rules have let it
through, and before it writes anything, whatever the number's state: the refusal, the
answer and the work are then the same for a new, pending, confirmed or opted-out number
(docs/decisions.md). It gives its units back when it ends without being accepted (a lost
race, a number that cannot receive SMS, a dependency down), so that a retry is not refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from optin.domain.errors import (
    BudgetExhausted,
    DependencyUnavailable,
    PrefixLimitReached,
    TooManyRequests,
)
from optin.domain.ports import CounterKind, LimitCounter, SendStore
from optin.domain.rules import Policy
from optin.domain.subscribers.lifecycle import LIMIT_MESSAGE, seconds_up

# Digits kept after the country code: an exchange in North America (+1 NPA NXX), where
# numbers are handed out by the thousand and by the ten thousand; four digits elsewhere.
NANP_PREFIX_DIGITS = 6
OTHER_PREFIX_DIGITS = 4
ONE_HOUR = timedelta(hours=1)
ONE_DAY = timedelta(days=1)


def number_prefix(e164: str) -> str:
    """The range a number belongs to: ``+1NPANXX`` in North America (``+12065550142`` ->
    ``+1206555``), else the country code and the next four digits (``+447700900123`` ->
    ``+447700``)."""
    import phonenumbers

    country_code = str(phonenumbers.parse(e164).country_code)
    rest = e164[1 + len(country_code) :]
    digits = NANP_PREFIX_DIGITS if country_code == "1" else OTHER_PREFIX_DIGITS
    return f"+{country_code}{rest[:digits]}"


def counters(e164: str, at: datetime) -> tuple[LimitCounter, LimitCounter]:
    """The two counters a registration at ``at`` counts in: its prefix's UTC hour, then
    the UTC day's budget."""
    utc = at.astimezone(UTC)
    hour = utc.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    return (
        LimitCounter(
            CounterKind.PREFIX_HOUR,
            number_prefix(e164),
            hour.strftime("%Y-%m-%dT%H"),
            hour + ONE_HOUR,
        ),
        LimitCounter(CounterKind.DAY, "", day.date().isoformat(), day + ONE_DAY),
    )


def limit_of(counter: LimitCounter, policy: Policy) -> int:
    if counter.kind is CounterKind.PREFIX_HOUR:
        return policy.confirmations_per_prefix_per_hour
    return policy.daily_confirmation_budget


def refusal(counter: LimitCounter, now: datetime) -> TooManyRequests:
    """The 429 of a full counter, as a number's cool-down answers it: the same message, and
    ``Retry-After`` the time until the limit lets a registration through (the next hour,
    or midnight UTC)."""
    wait = seconds_up(counter.ends_at - now)
    if counter.kind is CounterKind.DAY:
        return BudgetExhausted(LIMIT_MESSAGE, wait)
    return PrefixLimitReached(LIMIT_MESSAGE, wait)


def take(store: SendStore, e164: str, now: datetime, policy: Policy) -> tuple[LimitCounter, ...]:
    """Take one unit of each counter, or none: raises TooManyRequests (BudgetExhausted for
    the day's budget) after giving back what it took."""
    taken: list[LimitCounter] = []
    for counter in counters(e164, now):
        if not store.take_unit(counter, limit_of(counter, policy)):
            give_back(store, taken)
            raise refusal(counter, now)
        taken.append(counter)
    return tuple(taken)


def give_back(store: SendStore, taken: Sequence[LimitCounter]) -> None:
    """Best effort: a unit that cannot be given back (the table is down) stays taken, and
    the limit refuses a little sooner that hour, never later."""
    for counter in taken:
        try:
            store.give_back_unit(counter)
        except DependencyUnavailable:
            continue


def give_back_confirmation(store: SendStore, e164: str, claimed_at: datetime) -> None:
    """Give back the units of a confirmation that will never be sent (the send queue dropped
    it): ``claimed_at`` is the subscriber's ``confirmation_sent_at`` from the claim."""
    give_back(store, counters(e164, claimed_at))


class Units:
    """The units one registration holds while it runs.

    ``take`` is called on every attempt (a lost race reads again and decides again): the
    units are taken once, and taken again only when an attempt falls in another hour, so
    that they always count in the period of the write that follows.
    """

    def __init__(self, store: SendStore, policy: Policy) -> None:
        self._store = store
        self._policy = policy
        self.held: tuple[LimitCounter, ...] = ()

    def take(self, e164: str, now: datetime) -> None:
        if self.held == counters(e164, now):
            return
        self.give_back()
        self.held = take(self._store, e164, now, self._policy)

    def give_back(self) -> None:
        held, self.held = self.held, ()
        give_back(self._store, held)
