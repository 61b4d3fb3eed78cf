"""The limits across numbers: number prefixes, and the counters a registration takes, with a
fake clock across hour and day boundaries (in-memory store; the DynamoDB adapter's own
conditional counters are tested on moto in tests/adapters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from optin.domain.errors import (
    BudgetExhausted,
    Dependency,
    DependencyUnavailable,
    PrefixLimitReached,
    TooManyRequests,
)
from optin.domain.ports import CounterKind, LimitCounter
from optin.domain.rules import Policy
from optin.domain.subscribers import lifecycle, limits
from optin.settings import Settings
from tests.support.fakes import BASE_ENV, MemoryStore

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def policy(per_prefix: int = 10, budget: int = 1_000) -> Policy:
    env = {
        **BASE_ENV,
        "MAX_CONFIRMATIONS_PER_PREFIX_PER_HOUR": str(per_prefix),
        "DAILY_CONFIRMATION_BUDGET": str(budget),
    }
    return Settings.from_env(env).rules.policy


def take(store: MemoryStore, number: str, now: datetime, rules: Policy) -> None:
    limits.take(store, number, now, rules)


@pytest.mark.parametrize(
    ("number", "prefix"),
    [
        ("+12065550142", "+1206555"),  # US: +1 NPA NXX
        ("+12065559999", "+1206555"),
        ("+12065560142", "+1206556"),  # the next exchange is another prefix
        ("+14165550142", "+1416555"),  # Canada shares country code 1
        ("+18095550142", "+1809555"),  # so does the rest of the plan (Dominican Republic)
        ("+447700900123", "+447700"),  # elsewhere: country code and 4 digits
        ("+33612345678", "+336123"),
        ("+390612345678", "+390612"),  # Italy keeps its leading zero in E.164
        ("+353851234567", "+3538512"),  # a three-digit country code
        ("+8613800138000", "+861380"),
    ],
)
def test_the_prefix_is_the_exchange_in_north_america_and_four_digits_elsewhere(number, prefix):
    assert limits.number_prefix(number) == prefix


def test_a_registration_counts_in_its_prefix_utc_hour_and_its_utc_day():
    paris = timezone(timedelta(hours=1))
    prefix, day = limits.counters("+12065550142", datetime(2026, 11, 24, 0, 30, tzinfo=paris))
    assert prefix == LimitCounter(
        CounterKind.PREFIX_HOUR, "+1206555", "2026-11-23T23", datetime(2026, 11, 24, tzinfo=UTC)
    )
    assert day == LimitCounter(
        CounterKind.DAY, "", "2026-11-23", datetime(2026, 11, 24, tzinfo=UTC)
    )


def test_the_eleventh_number_of_a_prefix_in_an_hour_is_refused_until_the_hour_ends():
    store, rules = MemoryStore(), policy(per_prefix=10)
    now = NOW + timedelta(minutes=20, seconds=15)
    for line in range(10):
        take(store, f"+120655501{line:02d}", now, rules)
    with pytest.raises(TooManyRequests) as refused:
        take(store, "+12065550110", now, rules)
    assert isinstance(refused.value, PrefixLimitReached)
    assert refused.value.retry_after_seconds == 39 * 60 + 45  # until 16:00 UTC
    assert refused.value.message == lifecycle.LIMIT_MESSAGE
    prefix, day = limits.counters("+12065550110", now)
    assert (store.counters[prefix], store.counters[day]) == (10, 10)  # nothing taken


def test_another_prefix_is_not_held_back_by_a_full_one():
    store, rules = MemoryStore(), policy(per_prefix=2)
    for number in ("+12065550100", "+12065550101"):
        take(store, number, NOW, rules)
    take(store, "+12065560100", NOW, rules)  # 206-556: another exchange
    take(store, "+14155550100", NOW, rules)  # another area code


def test_a_full_prefix_takes_registrations_again_in_the_next_hour():
    store, rules = MemoryStore(), policy(per_prefix=1)
    take(store, "+12065550100", NOW + timedelta(minutes=59, seconds=59), rules)
    with pytest.raises(TooManyRequests) as refused:
        take(store, "+12065550101", NOW + timedelta(minutes=59, seconds=59, milliseconds=1), rules)
    assert refused.value.retry_after_seconds == 1  # rounded up, never 0
    take(store, "+12065550101", NOW + timedelta(hours=1), rules)


def test_past_the_daily_budget_every_number_is_refused_until_midnight_utc():
    store, rules = MemoryStore(), policy(per_prefix=10, budget=3)
    evening = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)
    for area in ("206", "415", "212"):
        take(store, f"+1{area}5550100", evening, rules)
    with pytest.raises(BudgetExhausted) as refused:
        take(store, "+13035550100", evening, rules)
    assert isinstance(refused.value, TooManyRequests)
    assert refused.value.retry_after_seconds == 2 * 3600 + 30 * 60
    assert refused.value.message == lifecycle.LIMIT_MESSAGE
    prefix, _ = limits.counters("+13035550100", evening)
    assert store.counters[prefix] == 0  # the prefix's unit was given back
    take(store, "+13035550100", datetime(2026, 11, 24, 0, 0, tzinfo=UTC), rules)


def test_the_budget_counts_every_prefix_and_the_prefix_limit_is_checked_first():
    store, rules = MemoryStore(), policy(per_prefix=1, budget=2)
    take(store, "+12065550100", NOW, rules)
    with pytest.raises(TooManyRequests) as refused:
        take(store, "+12065550101", NOW, rules)
    assert isinstance(refused.value, PrefixLimitReached)  # the prefix refused; budget untouched
    take(store, "+14155550100", NOW, rules)
    with pytest.raises(BudgetExhausted):
        take(store, "+13035550100", NOW, rules)


def test_units_held_by_a_registration_are_taken_once_across_attempts():
    store, rules = MemoryStore(), policy(per_prefix=1)
    units = limits.Units(store, rules)
    units.take("+12065550100", NOW)
    units.take("+12065550100", NOW + timedelta(milliseconds=5))  # a lost race: the next attempt
    prefix, day = limits.counters("+12065550100", NOW)
    assert (store.counters[prefix], store.counters[day]) == (1, 1)
    units.give_back()
    assert (store.counters[prefix], store.counters[day]) == (0, 0)
    units.give_back()  # nothing held any more: nothing given twice
    assert (store.counters[prefix], store.counters[day]) == (0, 0)


def test_an_attempt_in_the_next_hour_moves_the_units_to_that_hour():
    store, rules = MemoryStore(), policy()
    units = limits.Units(store, rules)
    before = NOW - timedelta(milliseconds=1)  # 14:59:59.999
    units.take("+12065550100", before)
    units.take("+12065550100", NOW)
    old_prefix, day = limits.counters("+12065550100", before)
    new_prefix, same_day = limits.counters("+12065550100", NOW)
    assert day == same_day
    assert (store.counters[old_prefix], store.counters[new_prefix], store.counters[day]) == (
        0,
        1,
        1,
    )
    assert units.held == (new_prefix, day)


def test_a_confirmation_that_will_never_be_sent_gives_its_units_back():
    store, rules = MemoryStore(), policy(per_prefix=1)
    take(store, "+12065550100", NOW, rules)
    limits.give_back_confirmation(store, "+12065550100", NOW)
    take(store, "+12065550101", NOW, rules)


def test_counters_never_go_below_zero():
    store = MemoryStore()
    limits.give_back_confirmation(store, "+12065550100", NOW)
    assert set(store.counters.values()) == {0}


def test_a_unit_that_cannot_be_given_back_stays_taken_and_the_refusal_still_answers():
    class TableDownOnGiveBack(MemoryStore):
        def give_back_unit(self, counter: LimitCounter) -> None:
            raise DependencyUnavailable(Dependency.TABLE, "DynamoDB unavailable")

    store, rules = TableDownOnGiveBack(), policy(per_prefix=10, budget=1)
    take(store, "+12065550100", NOW, rules)
    with pytest.raises(BudgetExhausted):  # not DependencyUnavailable
        take(store, "+14155550100", NOW, rules)
    assert issubclass(BudgetExhausted, TooManyRequests)
    assert not issubclass(BudgetExhausted, DependencyUnavailable)
