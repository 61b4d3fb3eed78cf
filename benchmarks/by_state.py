"""Does a registration's answer or its timing tell the number's state? Local mode over HTTP.

Numbers are first brought into each state through local mode itself (the form, then the
simulated phone's YES and STOP). Then, states interleaved in a shuffled order each round so
that load from other work on the machine hits them alike, each number is registered once
(timed: accepted) and once more straight away (timed: refused inside the cool-down).
Reported: the median response time of each state, the spread of those medians, and whether
every state got the same status, body and ``Retry-After``.

``PYTHONPATH=lambdas:. .venv/bin/python -m benchmarks.by_state`` runs it alone.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.stats import median
from tests.support.fakes import NO_PREFIX_LIMITS
from tests.support.harness import fictional_numbers
from tests.support.local_mode import LocalMode

STATES = ("new", "pending", "confirmed", "opted_out")
FORM = {"firstName": "Ada", "lastName": "Lovelace", "consent": True, "source": "/bench"}
# A short cool-down lets the arranged numbers be registered again after one second instead
# of a minute; the code path is the same whatever its length.
COOLDOWN_SECONDS = 1
PER_STATE = 50
WARMUP = 5


def spread(medians: dict[str, float]) -> float:
    """(slowest - fastest) / fastest of the states' medians."""
    fastest, slowest = min(medians.values()), max(medians.values())
    return (slowest - fastest) / fastest


def _post(base_url: str, number: str) -> tuple[float, int, str, str]:
    """(milliseconds, status, body, Retry-After) of one registration."""
    request = urllib.request.Request(
        base_url + "/register",
        data=json.dumps({**FORM, "phoneNumber": number}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, body, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, body, headers = error.code, error.read(), error.headers
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, int(status), body.decode(), str(headers.get("Retry-After") or "")


def _arrange(mode: LocalMode, state: str, number: str) -> None:
    if state == "new":
        return
    status = _post(mode.base_url, number)[1]
    if status != 202:
        raise RuntimeError(f"arranging {state}: registration answered {status}")
    replies = {"pending": [], "confirmed": ["YES"], "opted_out": ["YES", "STOP"]}[state]
    for text in replies:
        reply = {"originationNumber": number, "messageBody": text}
        mode.json("POST", "/simulator/api/inbound", reply)
    _, document = mode.json("GET", f"/simulator/api/subscribers/{number}")
    expected = {"pending": "PENDING", "confirmed": "CONFIRMED", "opted_out": "OPTED_OUT"}[state]
    if document["status"] != expected:
        raise RuntimeError(f"arranging {state}: the number is {document['status']}")


def measure(per_state: int = PER_STATE) -> dict[str, Any]:
    pool = fictional_numbers(offset=2000)
    numbers = {state: [next(pool) for _ in range(per_state + WARMUP)] for state in STATES}
    accepted: dict[str, list[float]] = {state: [] for state in STATES}
    refused: dict[str, list[float]] = {state: [] for state in STATES}
    answers: dict[str, set[tuple[int, str, str]]] = {state: set() for state in STATES}
    refusals: dict[str, set[tuple[int, str, str]]] = {state: set() for state in STATES}
    env = {"RESEND_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS), **NO_PREFIX_LIMITS}
    with tempfile.TemporaryDirectory(prefix="optin-by-state-") as temp:
        mode = LocalMode(Path(temp) / "local-mode.log", env=env)
        try:
            for index in range(per_state + WARMUP):
                for state in STATES:
                    _arrange(mode, state, numbers[state][index])
            time.sleep(COOLDOWN_SECONDS + 0.5)
            order = list(STATES)
            shuffle = random.Random(0).shuffle  # a fixed order could meet a periodic cost
            for index in range(per_state + WARMUP):
                shuffle(order)
                for state in order:
                    number = numbers[state][index]
                    took, status, body, retry = _post(mode.base_url, number)
                    again, status_again, body_again, retry_again = _post(mode.base_url, number)
                    if index < WARMUP:
                        continue
                    accepted[state].append(took)
                    refused[state].append(again)
                    answers[state].add((status, body, retry))
                    refusals[state].add((status_again, body_again, retry_again))
        finally:
            mode.stop()
    accepted_medians = {state: round(median(accepted[state]), 2) for state in STATES}
    refused_medians = {state: round(median(refused[state]), 2) for state in STATES}
    return {
        "method": f"python -m local (RESEND_COOLDOWN_SECONDS={COOLDOWN_SECONDS}); "
        f"{per_state} numbers per state after {WARMUP} warm-up ones, brought into their state "
        "through /register and /simulator/api/inbound (YES, STOP); then, states interleaved, "
        "each number registered once (timed: accepted) and once more at once (timed: "
        "refused inside the cool-down); urllib, one client, time to the full response",
        "per_state": per_state,
        "accepted_median_ms": accepted_medians,
        "accepted_spread": round(spread(accepted_medians), 3),
        "refused_median_ms": refused_medians,
        "refused_spread": round(spread(refused_medians), 3),
        "accepted_statuses": {s: sorted({a[0] for a in answers[s]}) for s in STATES},
        "refused_statuses": {s: sorted({a[0] for a in refusals[s]}) for s in STATES},
        "same_accepted_answer": len(set().union(*answers.values())) == 1,
        "same_refused_answer": len(set().union(*refusals.values())) == 1,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
