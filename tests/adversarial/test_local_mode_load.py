"""Local mode under load: many clients at once, many registrations in one session."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from local.server import LocalServer
from tests.adversarial.harness import LocalMode, fictional_numbers


@pytest.mark.xfail(
    strict=True,
    reason="LocalServer keeps socketserver's listen backlog (request_queue_size = 5): with "
    "32 concurrent clients, 5-20% of connections were reset or timed out before reaching "
    "the handler (benchmarks/throughput.py counts and retries them)",
)
def test_local_server_listens_with_a_backlog_for_concurrent_clients():
    assert LocalServer.request_queue_size >= 64


@pytest.mark.xfail(
    strict=True,
    reason="moto tracks every model instance it creates (BaseModel.instances_tracked) and "
    "TransactWriteItems deep-copies the whole table first, so each registration keeps a copy "
    "of the table alive: python -m local grew by ~280 MB over 200 registrations (1.1 GB at "
    "400, 7 GB+ at ~1,500, then died); benchmarks/local_mode.py shows the one-line fix",
)
def test_local_mode_memory_stays_flat_over_two_hundred_registrations(tmp_path: Path):
    mode = LocalMode(tmp_path / "console.log")
    try:
        form = {"firstName": "Ada", "lastName": "Lovelace", "consent": True}

        def register(number: str) -> int:
            return mode.json("POST", "/register", {**form, "phoneNumber": number})[0]

        register("+12065550199")
        before = mode.rss_megabytes()
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(register, list(fictional_numbers(offset=3500))[:200]))
        growth = mode.rss_megabytes() - before
    finally:
        mode.stop()
    assert statuses.count(202) == 200, json.dumps(statuses)
    assert growth <= 100, f"local mode grew by {growth} MB"
