"""Plain ``python -m local``: its memory before and after some registrations from
concurrent clients. (The burst of sign-ups and what became of its SMS: ``sending``.)"""

from __future__ import annotations

import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.sending import Client
from tests.support.fakes import NO_PREFIX_LIMITS
from tests.support.harness import fictional_numbers
from tests.support.local_mode import LocalMode


def memory_growth(registrations: int = 300, clients: int = 8) -> dict[str, Any]:
    """Plain ``python -m local``: its memory before and after some registrations."""
    numbers = list(fictional_numbers(offset=3000))[:registrations]
    with (
        tempfile.TemporaryDirectory(prefix="optin-local-") as temp,
        LocalMode(Path(temp) / "local-mode.log", env=NO_PREFIX_LIMITS) as mode,
    ):
        before = mode.rss_megabytes()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            statuses = list(pool.map(Client(mode.base_url).post, numbers))
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
