"""Local mode under load: many clients at once, many registrations in one session."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from local.server import LocalServer
from tests.support.fakes import NO_PREFIX_LIMITS
from tests.support.harness import fictional_numbers
from tests.support.local_mode import LocalMode


def test_local_server_listens_with_a_backlog_for_concurrent_clients():
    assert LocalServer.request_queue_size >= 64


def test_local_mode_memory_stays_flat_over_two_hundred_registrations(tmp_path: Path):
    with LocalMode(tmp_path / "console.log", env=NO_PREFIX_LIMITS) as mode:

        def register(number: str) -> int:
            return int(mode.register(number)[0])

        register("+12065550199")
        before = mode.rss_megabytes()
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(register, list(fictional_numbers(offset=3500))[:200]))
        growth = mode.rss_megabytes() - before
    assert statuses.count(202) == 200, json.dumps(statuses)
    assert growth <= 100, f"local mode grew by {growth} MB"
