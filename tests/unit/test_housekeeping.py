"""The hourly housekeeping with a fake clock: expiry past the window, erasure of numbers
that never confirmed past the retention, nothing else touched, and twice is once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from optin.domain.model import EventType, Status
from optin.domain.subscribers.housekeeping import HousekeepingPolicy, run_housekeeping
from optin.settings import Settings
from tests.support.fakes import BASE_ENV, NO_PREFIX_LIMITS
from tests.support.lifecycle import NUMBER, arrange, register, reply

POLICY = HousekeepingPolicy(window=timedelta(hours=24), unconfirmed_retention=timedelta(days=30))
OTHER = "+14165550142"


def run(ports, time_left=lambda: True):
    return run_housekeeping(ports.store, POLICY, ports.clock, time_left=time_left)


@pytest.fixture
def settings() -> Settings:
    """Many numbers of a few prefixes: the limits across numbers are lifted."""
    return Settings.from_env({**BASE_ENV, **NO_PREFIX_LIMITS})


def test_a_pending_number_expires_once_its_window_has_passed(ports):
    register(ports)
    ports.clock.advance(hours=23)
    assert run(ports).expired == 0
    assert ports.store.get(NUMBER).status is Status.PENDING

    ports.clock.advance(hours=1, seconds=1)
    result = run(ports)

    assert result.expired == 1
    subscriber = ports.store.get(NUMBER)
    assert subscriber.status is Status.EXPIRED
    assert subscriber.expired_at == ports.clock()
    last = ports.store.events(NUMBER)[-1]
    assert (last.type, last.source, last.at) == (EventType.EXPIRED, "housekeeping", ports.clock())
    assert last.details == {"fromStatus": "PENDING", "toStatus": "EXPIRED"}
    assert ports.sender.kinds(NUMBER) == ["confirmation"]  # expiry itself texts nobody


def test_running_twice_changes_nothing_the_second_time(ports):
    register(ports)
    ports.clock.advance(hours=25)
    assert run(ports).expired == 1
    before = ports.store.snapshot()
    assert run(ports).expired == 0
    assert ports.store.snapshot() == before


def test_a_new_registration_restarts_the_window(ports):
    register(ports)
    ports.clock.advance(hours=20)
    register(ports)  # past the cool-down: a new confirmation, a new window
    ports.clock.advance(hours=20)
    assert run(ports).expired == 0
    assert ports.store.get(NUMBER).status is Status.PENDING


def test_a_number_that_never_confirmed_is_erased_after_the_retention(ports):
    register(ports, first_name="Carlos")
    ports.clock.advance(hours=25)
    run(ports)  # EXPIRED now
    ports.clock.advance(days=29)
    assert run(ports).erased == 0
    assert ports.store.get(NUMBER) is not None

    ports.clock.advance(days=1, seconds=1)
    result = run(ports)

    assert result.erased == 1
    assert ports.store.get(NUMBER) is None
    assert "Carlos" not in repr(ports.store.erased_ledger)
    erased = ports.store.erased_number(NUMBER)
    assert erased.status is Status.EXPIRED  # free to register afresh
    [kept] = ports.store.erased_ledger.values()
    assert kept[-1].type is EventType.ERASED
    assert kept[-1].details["requestedBy"] == "housekeeping"
    assert run(ports).erased == 0


@pytest.mark.parametrize("state", ["CONFIRMED", "OPTED_OUT"])
def test_confirmed_and_opted_out_ledgers_are_kept(ports, state):
    arrange(ports, state)
    ports.clock.advance(days=400)
    before = ports.store.snapshot()
    result = run(ports)
    assert (result.expired, result.erased) == (0, 0)
    assert ports.store.snapshot() == before


def test_an_expired_number_that_registered_again_is_not_erased(ports):
    arrange(ports, "EXPIRED")
    ports.clock.advance(days=29)
    register(ports)  # PENDING again, a fresh window
    ports.clock.advance(days=2)
    result = run(ports)
    assert result.erased == 0
    assert result.expired == 1  # its new window passed: expired again, kept 30 more days
    assert ports.store.get(NUMBER).status is Status.EXPIRED


def test_only_stale_numbers_are_touched(ports):
    register(ports)
    ports.clock.advance(hours=30)
    register(ports, OTHER)
    reply(ports, "YES", number=OTHER)
    result = run(ports)
    assert result.expired == 1
    assert ports.store.get(OTHER).status is Status.CONFIRMED


def test_without_time_left_nothing_runs_and_the_next_run_catches_up(ports):
    register(ports)
    ports.clock.advance(hours=25)
    result = run(ports, time_left=lambda: False)
    assert (result.expired, result.complete) == (0, False)
    assert ports.store.get(NUMBER).status is Status.PENDING
    assert run(ports).complete is True
    assert ports.store.get(NUMBER).status is Status.EXPIRED


def test_pages_through_many_candidates(ports):
    numbers = [f"+1206555{line:04d}" for line in range(150, 400)]
    for number in numbers:
        register(ports, number)
    ports.clock.advance(hours=25)
    assert run(ports).expired == len(numbers)
    assert {ports.store.get(n).status for n in numbers} == {Status.EXPIRED}
