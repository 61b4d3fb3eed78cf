"""Broadcasts in local mode, over HTTP and through the CLI: the planner and the sender run
on the background worker, each phone's conversation shows the text with its own names,
quiet hours hold back the numbers whose day has not started (or is over), and a cancel
stops what has not left. A local mode of its own: a broadcast reaches every confirmed
number of its segment, and the session's shared one holds other tests' numbers. Its clock
starts at a fixed moment (LOCAL_CLOCK_START), so which numbers are inside their hours does
not depend on when the tests run."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from optin import cli
from optin.domain.broadcasts.quiet_hours import next_allowed_for
from tests.support.fakes import NO_PREFIX_LIMITS
from tests.support.local_mode import OUTPUT, LocalMode, wait_until

pytestmark = pytest.mark.e2e

# Fictional numbers in four zones: New Jersey, Washington (stricter), Texas, New York.
SPRING = ("+12015550150", "+12065550150", "+12145550150", "+12125550150")
ELSEWHERE = "+12135550150"  # another page: not in the segment
TIMEOUT = 90.0  # a broadcast batch waits 30 s while transactional messages are queued
# 21:30 in New York and New Jersey (quiet), 20:30 in Texas, 18:30 in Washington (whose
# 20:00 has not come): half a hour from any window's edge, far longer than the tests take.
CLOCK_START = datetime(2026, 6, 15, 1, 30, tzinfo=UTC)
INSIDE_THEIR_HOURS = {"+12065550150", "+12145550150"}
_started: list[datetime] = []


def local_now() -> datetime:
    """Local mode's clock, to a few seconds: CLOCK_START when it started, then real time."""
    return CLOCK_START + (datetime.now(UTC) - _started[0])


@pytest.fixture(scope="module")
def local() -> Iterator[LocalMode]:
    env = {
        "RESEND_COOLDOWN_SECONDS": "1",
        "LOCAL_CLOCK_START": CLOCK_START.isoformat(),
        **NO_PREFIX_LIMITS,
    }
    OUTPUT.mkdir(exist_ok=True)
    _started[:] = [datetime.now(UTC)]
    with LocalMode(log_path=OUTPUT / "local-mode-broadcasts.log", env=env) as mode:
        for index, number in enumerate((*SPRING, ELSEWHERE)):
            source = "/elsewhere" if number == ELSEWHERE else "/spring"
            first = ("Ana", "Zoë", "Kofi", "Mei", "Lars")[index]
            assert mode.register(number, firstName=first, source=source)[0] == 202
            mode.reply(number, "YES")
        yield mode


def admin(local: LocalMode, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, _, content = local.request(method, "/admin" + path, body)
    return status, json.loads(content) if content else None


def allowed_now(local: LocalMode, numbers: tuple[str, ...]) -> set[str]:
    now = local_now()
    zones = {n: (local.subscriber(n) or {}).get("timezone") or "" for n in numbers}
    return {n for n in numbers if next_allowed_for(now, n, zones[n]) == now}


def broadcast_bodies(local: LocalMode, number: str, status: str = "delivered") -> list[str]:
    return [
        m["body"]
        for m in local.messages(number)
        if m["direction"] == "outbound" and "spring sale" in m["body"] and m["status"] == status
    ]


def test_a_broadcast_reaches_its_segment_with_each_name(local: LocalMode) -> None:
    before = allowed_now(local, SPRING)
    assert before == INSIDE_THEIR_HOURS
    status, created = admin(
        local,
        "POST",
        "/broadcasts",
        {
            "text": "Hi {{firstName}}, the {{brandName}} spring sale is on",
            "segment": {"source": "/spring"},
        },
    )
    assert status == 201, created
    assert created["recipients"] == 4
    broadcast_id = created["broadcastId"]

    def progressed() -> Any:
        _, shown = admin(local, "GET", f"/broadcasts/{broadcast_id}")
        waiting = shown["waitingQuietHours"]
        return shown if shown["recipients"] == 4 and shown["sent"] + waiting == 4 else None

    shown = wait_until(progressed, timeout=TIMEOUT, interval=0.5)
    after = allowed_now(local, SPRING)
    assert after == before  # no window opened or closed meanwhile
    assert shown["sent"] == len(after)
    assert shown["waitingQuietHours"] == 4 - len(after)
    assert shown["status"] == ("DONE" if len(after) == 4 else "SENDING")
    names = dict(zip(SPRING, ("Ana", "Zoë", "Kofi", "Mei"), strict=True))
    for number in SPRING:
        wait_until(lambda n=number: n not in after or broadcast_bodies(local, n), TIMEOUT)
        expected = (
            [f"Hi {names[number]}, the Example Co spring sale is on. Reply STOP to opt out"]
            if number in after
            else []
        )
        assert broadcast_bodies(local, number) == expected, number
        if number not in after:  # waiting in the queue, as the operator wrote it
            assert broadcast_bodies(local, number, "queued") == [
                "Hi {{firstName}}, the {{brandName}} spring sale is on. Reply STOP to opt out"
            ]
    assert broadcast_bodies(local, ELSEWHERE) == []
    if after:
        sent = [
            e
            for e in admin(local, "GET", f"/subscribers/{sorted(after)[0]}")[1]["consentEvents"]
            if e["type"] == "BROADCAST_SENT"
        ]
        assert [e["broadcastId"] for e in sent] == [broadcast_id]
    # A second broadcast inside the interval skips those the first one reached.
    status, again = admin(
        local, "POST", "/broadcasts", {"text": "More spring sale", "segment": {"source": "/spring"}}
    )
    assert status == 201

    def skipped() -> Any:
        _, shown = admin(local, "GET", f"/broadcasts/{again['broadcastId']}")
        return (
            shown if shown["skippedFrequency"] == len(after) and shown["recipients"] == 4 else None
        )

    wait_until(skipped, timeout=TIMEOUT, interval=0.5)
    # Cancelled while those outside their hours wait; DONE already when nobody waits.
    status, cancelled = admin(local, "DELETE", f"/broadcasts/{again['broadcastId']}")
    assert (status, cancelled["status"]) == (200, "DONE" if len(after) == 4 else "CANCELLED")


def test_the_cli_creates_shows_follows_and_cancels(local: LocalMode) -> None:
    api = ["--api", local.base_url + "/admin"]

    def run(*arguments: str) -> tuple[int, str]:
        out = io.StringIO()
        code = cli.main([*api, *arguments], out)
        return code, out.getvalue()

    code, shown = run("broadcast", "create", "--text", "Sale", "--source", "/spring", "--dry-run")
    assert code == 0
    assert "4 recipients" in shown
    assert "preview: Sale. Reply STOP to opt out" in shown
    # Nobody signed up on /nowhere: planned at once, done at once; --follow returns.
    code, shown = run(
        "broadcast", "create", "--text", "Sale", "--source", "/nowhere", "--follow",
        "--interval", "0.2",
    )  # fmt: skip
    assert code == 0
    assert ": DONE" in shown
    later = ("--json", "broadcast", "create", "--text", "Spring sale", "--source", "/spring")
    # More than 30 days ahead: refused, exit 2.
    assert run(*later, "--send-at", "2099-01-01T00:00:00Z")[0] == 2
    # Scheduled a day ahead: still SCHEDULED when it is cancelled, whatever the hour.
    tomorrow = local_now().replace(microsecond=0) + timedelta(days=1)
    code, shown = run(*later, "--send-at", tomorrow.isoformat().replace("+00:00", "Z"))
    assert code == 0
    broadcast_id = json.loads(shown)["broadcastId"]
    code, shown = run("broadcast", "show", broadcast_id)
    assert code == 0
    assert broadcast_id in shown
    assert "waitingQuietHours" in shown
    assert "SCHEDULED" in shown
    code, shown = run("broadcast", "cancel", broadcast_id)
    assert code == 0
    assert f"{broadcast_id}: CANCELLED" in shown
    assert cli.main([*api, "broadcast", "show", "b-" + "0" * 24], io.StringIO()) == 1
