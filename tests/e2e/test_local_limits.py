"""The limits across numbers in local mode, over HTTP: they run in the real registration
function on moto, as deployed (the WAF in front of the API exists only on AWS)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.local_mode import LocalMode

pytestmark = pytest.mark.e2e

PER_PREFIX = 3
BUDGET = 5


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMode]:
    env = {
        "MAX_CONFIRMATIONS_PER_PREFIX_PER_HOUR": str(PER_PREFIX),
        "DAILY_CONFIRMATION_BUDGET": str(BUDGET),
    }
    log = Path(tmp_path_factory.mktemp("limits")) / "local-mode.log"
    with LocalMode(log, env=env) as mode:
        yield mode


def post(mode: LocalMode, phone: str) -> tuple[int, dict[str, str], dict[str, object]]:
    status, headers, body = mode.request(
        "POST",
        "/register",
        {"firstName": "Ada", "lastName": "Lovelace", "phoneNumber": phone, "consent": True},
    )
    return status, headers, json.loads(body)


def seconds_until(moment: datetime) -> float:
    return (moment - datetime.now(UTC)).total_seconds()


def away_from_the_hour() -> None:
    """A run that straddles the top of an hour would start a new prefix count halfway."""
    now = datetime.now(UTC)
    if now.minute == 59 and now.second >= 50:
        time.sleep(61 - now.second)


def test_a_prefix_then_the_budget_are_refused_with_the_cool_downs_429(limited: LocalMode):
    away_from_the_hour()
    walked = [f"+1206555{line:04d}" for line in range(7000, 7000 + PER_PREFIX + 1)]
    answers = [post(limited, phone) for phone in walked]
    assert [status for status, _, _ in answers] == [202] * PER_PREFIX + [429]
    cooldown = post(limited, walked[0])
    assert cooldown[0] == 429
    _, prefix_headers, prefix_body = answers[-1]
    assert prefix_body == cooldown[2]  # same code, message and field
    next_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert abs(int(prefix_headers["Retry-After"]) - seconds_until(next_hour)) <= 5
    assert limited.subscriber(walked[-1]) is None
    assert limited.messages(walked[-1]) == []

    others = [f"+1{area}5557000" for area in ("415", "212", "303")]
    statuses = [post(limited, phone)[0] for phone in others]
    assert statuses == [202] * (BUDGET - PER_PREFIX) + [429]
    _, budget_headers, budget_body = post(limited, "+16175557000")
    assert budget_body == cooldown[2]
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert (
        abs(int(budget_headers["Retry-After"]) - seconds_until(midnight + timedelta(days=1))) <= 5
    )
    for phone in (*others[BUDGET - PER_PREFIX :], "+16175557000"):
        assert limited.subscriber(phone) is None
    sent = [phone for phone in (*walked, *others) if limited.messages(phone)]
    assert len(sent) == BUDGET
