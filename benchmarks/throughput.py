"""Plain ``python -m local``: its memory before and after some registrations from
concurrent clients. (The burst of sign-ups and what became of its SMS: ``sending``.)"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.support.fakes import NO_PREFIX_LIMITS
from tests.support.harness import fictional_numbers
from tests.support.local_mode import LocalMode

FORM = {"firstName": "Ada", "lastName": "Lovelace", "consent": True, "source": "/bench"}


class _Client:
    """POST /register; a connection the server dropped before answering is retried (and
    counted): local mode listens with the standard library's backlog of 5 connections."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.dropped: list[str] = []
        self._lock = threading.Lock()

    def post(self, number: str) -> int:
        body = json.dumps({**FORM, "phoneNumber": number}).encode()
        for _attempt in range(5):
            request = urllib.request.Request(
                self.base_url + "/register",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    response.read()
                    return int(response.status)
            except urllib.error.HTTPError as error:
                return int(error.code)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                with self._lock:
                    self.dropped.append(type(getattr(error, "reason", error)).__name__)
                time.sleep(0.2)
        return -1


def _run_clients(base_url: str, numbers: list[str], clients: int) -> tuple[list[int], _Client]:
    statuses: list[int] = []
    lock = threading.Lock()
    client = _Client(base_url)

    def register(number: str) -> None:
        status = client.post(number)
        with lock:
            statuses.append(status)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(register, numbers))
    return statuses, client


def memory_growth(registrations: int = 300, clients: int = 8) -> dict[str, Any]:
    """Plain ``python -m local``: its memory before and after some registrations."""
    numbers = list(fictional_numbers(offset=3000))[:registrations]
    with (
        tempfile.TemporaryDirectory(prefix="optin-local-") as temp,
        LocalMode(Path(temp) / "local-mode.log", env=NO_PREFIX_LIMITS) as mode,
    ):
        before = mode.rss_megabytes()
        statuses, _ = _run_clients(mode.base_url, numbers, clients)
        after = mode.rss_megabytes()
    return {
        "command": "python -m local",
        "registrations": registrations,
        "accepted": statuses.count(202),
        "rss_before_mb": before,
        "rss_after_mb": after,
    }


if __name__ == "__main__":
    print(json.dumps({"memory": memory_growth()}, indent=1))
