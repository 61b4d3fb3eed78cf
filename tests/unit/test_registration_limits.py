"""Registration under the limits across numbers (in-memory ports, fake clock): what is
refused, with which answer, what is counted, and what is given back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from optin.domain.errors import (
    BudgetExhausted,
    Dependency,
    DependencyUnavailable,
    NotAMobileNumber,
    PrefixLimitReached,
    TooManyRequests,
)
from optin.domain.ports import ConcurrentUpdate, Ports
from optin.domain.sending.send import SendOutcome
from optin.domain.subscribers import limits
from optin.domain.subscribers.phone import LANDLINE, NumberFacts
from optin.settings import Settings
from tests.support.fakes import BASE_ENV, Clock, MemoryQueue, MemoryStore, drain, fake_ports
from tests.support.lifecycle import arrange, register

NUMBER = "+12065550142"  # the number the lifecycle helpers arrange
START = datetime(2026, 11, 23, 15, 20, tzinfo=UTC)


def limited(per_prefix: int, budget: int = 1_000) -> Settings:
    return Settings.from_env(
        {
            **BASE_ENV,
            "MAX_CONFIRMATIONS_PER_PREFIX_PER_HOUR": str(per_prefix),
            "DAILY_CONFIRMATION_BUDGET": str(budget),
        }
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def ports_with(settings: Settings, clock: Clock) -> Ports:
    return fake_ports(settings.rules, clock)


def counts(ports: Ports, number: str = NUMBER) -> tuple[int, int]:
    """(this number's prefix this hour, the day's budget)."""
    store = ports.store
    assert isinstance(store, MemoryStore)
    prefix, day = limits.counters(number, ports.clock())
    return store.counters[prefix], store.counters[day]


def same_prefix(count: int) -> Iterator[str]:
    """Other numbers of NUMBER's prefix (+1 206 555)."""
    return (f"+12065559{line:03d}" for line in range(count))


def cooldown_refusal(ports: Ports) -> TooManyRequests:
    register(ports, "+14155550100")
    with pytest.raises(TooManyRequests) as refused:
        register(ports, "+14155550100")
    return refused.value


def over_the_prefix_limit(ports: Ports) -> PrefixLimitReached:
    """Three numbers of a prefix whose limit is three, then NUMBER of that prefix: refused."""
    for number in same_prefix(3):
        register(ports, number)
    with pytest.raises(PrefixLimitReached) as refused:
        register(ports, NUMBER)
    return refused.value


def test_past_the_prefix_limit_a_new_number_gets_the_cool_downs_429_and_nothing_happens(clock):
    ports = ports_with(limited(per_prefix=3), clock)
    refused = over_the_prefix_limit(ports)
    assert ports.store.get(NUMBER) is None
    assert ports.store.events(NUMBER) == []
    assert [sent[0] for sent in ports.sender.sent].count(NUMBER) == 0
    assert ports.lookup.calls.count(NUMBER) == 0  # not even the paid lookup
    cooldown = cooldown_refusal(ports)
    assert (refused.status, refused.code, refused.message) == (
        cooldown.status,
        cooldown.code,
        cooldown.message,
    )
    assert refused.field is cooldown.field is None
    assert refused.retry_after_seconds == 40 * 60  # until 16:00 UTC


def test_the_prefix_takes_registrations_again_in_the_next_hour(clock):
    ports = ports_with(limited(per_prefix=3), clock)
    clock.advance(seconds=over_the_prefix_limit(ports).retry_after_seconds)
    register(ports, NUMBER)
    assert ports.store.get(NUMBER) is not None


def test_the_cool_down_refuses_first_and_takes_no_unit(clock):
    ports = ports_with(limited(per_prefix=10), clock)
    register(ports, NUMBER)
    for _ in range(5):
        with pytest.raises(TooManyRequests) as refused:
            register(ports, NUMBER)
        assert not isinstance(refused.value, PrefixLimitReached | BudgetExhausted)
    assert counts(ports) == (1, 1)


@pytest.mark.parametrize("start", ["PENDING", "EXPIRED", "CONFIRMED", "OPTED_OUT"])
def test_a_full_prefix_refuses_every_state_alike(clock, start):
    ports = ports_with(limited(per_prefix=10), clock)
    arrange(ports, start)
    taken, _ = counts(ports)
    for number in same_prefix(10 - taken):
        register(ports, number)
    before = (ports.store.get(NUMBER), ports.store.events(NUMBER), list(ports.sender.sent))
    with pytest.raises(PrefixLimitReached) as refused:
        register(ports, NUMBER)
    next_hour = clock.now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert refused.value.retry_after_seconds == (next_hour - clock.now).total_seconds()
    assert (ports.store.get(NUMBER), ports.store.events(NUMBER), ports.sender.sent) == before


@pytest.mark.parametrize("start", ["none", "PENDING", "EXPIRED", "CONFIRMED", "OPTED_OUT"])
def test_every_accepted_registration_takes_one_unit_of_each_whatever_the_state(clock, start):
    ports = ports_with(limited(per_prefix=10), clock)
    arrange(ports, start)
    before = counts(ports)
    register(ports, NUMBER)
    after = counts(ports)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_past_the_daily_budget_every_prefix_is_refused_until_midnight_utc(clock):
    ports = ports_with(limited(per_prefix=10, budget=3), clock)
    for number in ("+12065550100", "+14155550100", "+12125550100"):
        register(ports, number)
    with pytest.raises(BudgetExhausted) as refused:
        register(ports, "+13035550100")
    assert refused.value.message == cooldown_refusal_message(clock)
    assert refused.value.retry_after_seconds == 8 * 3600 + 40 * 60
    assert ports.store.get("+13035550100") is None
    clock.advance(seconds=refused.value.retry_after_seconds)
    register(ports, "+13035550100")


def cooldown_refusal_message(clock: Clock) -> str:
    """The message of a cool-down refusal, from ports of their own."""
    return cooldown_refusal(ports_with(limited(per_prefix=10), Clock(clock.now))).message


def test_a_failed_enqueue_gives_the_units_back(clock):
    ports = ports_with(limited(per_prefix=1), clock)
    queue = ports.queue
    assert isinstance(queue, MemoryQueue)
    queue.failures.append(DependencyUnavailable(Dependency.QUEUE, "throttled"))
    with pytest.raises(DependencyUnavailable):
        register(ports, NUMBER)
    assert counts(ports) == (0, 0)
    register(ports, NUMBER)  # the retry at once is neither in the cool-down nor over the limit
    assert counts(ports) == (1, 1)


def test_a_confirmation_dropped_unsent_gives_the_units_back(clock):
    settings = limited(per_prefix=1)
    ports = fake_ports(settings.rules, clock, queue=MemoryQueue(clock))  # nothing sent yet
    register(ports, NUMBER)
    assert counts(ports) == (1, 1)
    clock.advance(seconds=settings.rules.policy.confirmation_max_delay.total_seconds() + 1)
    [result] = drain(ports)
    assert result.outcome is SendOutcome.DROPPED
    assert counts(ports) == (0, 0)
    register(ports, NUMBER)  # at once: neither in the cool-down nor over the prefix's limit
    assert counts(ports) == (1, 1)


def test_a_failed_lookup_or_a_landline_gives_the_units_back(clock):
    ports = ports_with(limited(per_prefix=1), clock)
    ports.lookup.fail = True
    with pytest.raises(DependencyUnavailable):
        register(ports, NUMBER)
    assert counts(ports) == (0, 0)
    ports.lookup.fail = False
    ports.lookup.facts[NUMBER] = NumberFacts(LANDLINE)
    with pytest.raises(NotAMobileNumber):
        register(ports, NUMBER)
    assert counts(ports) == (0, 0)


def test_a_lost_race_takes_its_units_once_and_a_refusal_after_it_gives_them_back(clock):
    class LosesOnce(MemoryStore):
        """A competing registration of the number saves first."""

        def __init__(self) -> None:
            super().__init__()
            self.lose = 1

        def save(self, subscriber, events=(), *, expected_version, inbound=None):
            if self.lose:
                self.lose -= 1
                raise ConcurrentUpdate()
            return super().save(
                subscriber, events, expected_version=expected_version, inbound=inbound
            )

    ports = fake_ports(limited(per_prefix=10).rules, clock, LosesOnce())
    register(ports, NUMBER)  # lost once, won on the next attempt
    assert counts(ports) == (1, 1)

    class WinnerSavedFirst(MemoryStore):
        """The competitor's claim is in place when ours is written: we read it again and
        the cool-down refuses us."""

        def save(self, subscriber, events=(), *, expected_version, inbound=None):
            if not self.subscribers:
                competitor = fake_ports(ports.rules, Clock(clock.now), self)
                self.save = super().save  # type: ignore[method-assign]
                register(competitor, subscriber.phone_number)
                raise ConcurrentUpdate()
            return super().save(
                subscriber, events, expected_version=expected_version, inbound=inbound
            )

    store = WinnerSavedFirst()
    ports = fake_ports(limited(per_prefix=10).rules, clock, store)
    with pytest.raises(TooManyRequests):
        register(ports, NUMBER)
    assert counts(ports) == (1, 1)  # the competitor's units only
