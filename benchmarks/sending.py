"""A burst of sign-ups in local mode, and what became of each confirmation SMS.

``python -m local`` on a free port (the settings given as its environment: the simulated
number's rate, the service's pace, duplicated queue deliveries), ``registrations`` distinct
fictional numbers posted by ``clients`` threads at once. Then, until every confirmation has
left (or ``drain_timeout``), the simulator's messages are read back: how many were accepted,
sent, sent twice, never sent, the most message parts the simulated number received in any
one second, how long accepting the burst and sending it took.

It runs against this checkout's local mode. Copied into an older checkout (one from before
the send queue, with ``--scenario before``), it reads that local mode's messages number by
number, as it has no listing of every message, and counts every outbound message as sent.

``PYTHONPATH=lambdas:. .venv/bin/python -m benchmarks.sending`` runs the scenarios alone.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from optin.domain.sending.pacing import most_parts_in_a_window, window_totals
from optin.domain.sending.parts import count_parts
from tests.support.fakes import NO_PREFIX_LIMITS
from tests.support.harness import fictional_numbers
from tests.support.local_mode import LocalMode

FORM = {"firstName": "Ada", "lastName": "Lovelace", "consent": True, "source": "/bench"}
WAITING = ("queued", "sent")  # states a message leaves (sent: its delivery event is due)
ONE_SECOND = timedelta(seconds=1)


class Client:
    """POST /register; a connection the server dropped before answering is retried (and
    counted): local mode listens with the standard library's backlog of 5 connections."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.dropped = 0
        self._lock = threading.Lock()

    def post(self, number: str) -> int:
        body = json.dumps({**FORM, "phoneNumber": number}).encode()
        for _ in range(5):
            request = urllib.request.Request(
                self.base_url + "/register",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    response.read()
                    return int(response.status)
            except urllib.error.HTTPError as error:
                return int(error.code)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                with self._lock:
                    self.dropped += 1
                time.sleep(0.2)
        return -1


def _outbound(mode: LocalMode, numbers: list[str]) -> list[dict[str, Any]]:
    """Every outbound message to ``numbers``, each with its number: from the listing of
    every message when local mode has one, else number by number."""
    wanted = set(numbers)
    status, document = mode.json("GET", "/simulator/api/messages")
    if status == 200:
        messages = document["messages"]
    else:
        messages = [
            {**message, "phoneNumber": number}
            for number in numbers
            for message in mode.json("GET", f"/simulator/api/messages?phoneNumber={number}")[1][
                "messages"
            ]
        ]
    return [
        message
        for message in messages
        if message["phoneNumber"] in wanted and message["direction"] == "outbound"
    ]


def _at(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["at"].replace("Z", "+00:00"))


def burst(
    registrations: int = 2000,
    clients: int = 32,
    env: dict[str, str] | None = None,
    *,
    rate: int = 20,
    drain_timeout: float = 900.0,
) -> dict[str, Any]:
    """One burst; ``rate`` is the simulated number's parts per second (the drain's ideal)."""
    numbers = list(fictional_numbers())[:registrations]
    client_statuses: list[int] = []
    with tempfile.TemporaryDirectory(prefix="optin-bench-") as temp:
        log = Path(temp) / "local-mode.log"
        # Thousands of fictional numbers share a few prefixes: the limits across numbers
        # are lifted, as in the other runs of many numbers.
        with LocalMode(log, env={**NO_PREFIX_LIMITS, **(env or {})}) as mode:
            client = Client(mode.base_url)
            started_wall = time.time()
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                client_statuses = list(pool.map(client.post, numbers))
            accept_seconds = time.perf_counter() - started
            deadline = time.monotonic() + drain_timeout
            while True:
                outbound = _outbound(mode, numbers)
                waiting = [m for m in outbound if m.get("status") in WAITING]
                if not waiting or time.monotonic() > deadline:
                    break
                time.sleep(1.0)
            subscribers = sum(
                mode.json("GET", f"/simulator/api/subscribers/{n}")[0] == 200 for n in numbers
            )
            console = "".join(mode.log)
            rss = mode.rss_megabytes()
    confirmations = [m for m in outbound if m.get("kind", "confirmation") == "confirmation"]
    sent = [m for m in confirmations if m.get("status", "sent") in ("sent", "delivered", "failed")]
    per_number = Counter(m["phoneNumber"] for m in sent)
    accepted = client_statuses.count(202)
    sends = [(_at(m), m.get("parts") or count_parts(m["body"]).count) for m in sent]
    parts = sum(count for _, count in sends)
    last_send = max((at for at, _ in sends), default=None)
    drain_seconds = last_send.timestamp() - started_wall if last_send else 0.0
    ideal = parts / rate
    return {
        "registrations": registrations,
        "clients": clients,
        "environment": dict(env or {}),
        "accepted": accepted,
        "other_statuses": {
            str(s): client_statuses.count(s) for s in sorted(set(client_statuses)) if s != 202
        },
        "accept_seconds": round(accept_seconds, 1),
        "registrations_per_second": round(registrations / accept_seconds, 1),
        "subscribers": subscribers,
        "confirmations_sent": len(per_number),
        "duplicates": sum(count - 1 for count in per_number.values()),
        "lost": accepted - len(per_number),
        "still_waiting": sum(m.get("status") in WAITING for m in confirmations),
        "not_sent": sum(m.get("status") == "not sent" for m in confirmations),
        "parts": parts,
        "most_parts_in_one_second": most_parts_in_a_window(sends, ONE_SECOND),
        "seconds_over_the_rate": _seconds_over(sends, rate),
        "drain_seconds": round(drain_seconds, 1),
        "ideal_drain_seconds": round(ideal, 1),
        "drain_over_ideal": round(drain_seconds / ideal - 1, 3) if ideal else None,
        "throttled": console.count(" throttled: "),
        "deliveries_duplicated": console.count("delivered twice"),
        "connections_dropped_then_retried": client.dropped,
        "local_mode_rss_after_mb": rss,
    }


def _seconds_over(sends: list[tuple[datetime, int]], rate: int) -> int:
    """Sends that, counted with those of the second before them, went over ``rate``: what
    a platform enforcing that rate would have refused."""
    return sum(total > rate for total in window_totals(sends, ONE_SECOND))


SCENARIOS = {
    "paced to the number": {"SIMULATOR_MPS": "20", "SEND_RATE_PER_SECOND": "20"},
    "paced at twice the number's rate": {"SIMULATOR_MPS": "20", "SEND_RATE_PER_SECOND": "40"},
    "10 % of queue deliveries duplicated": {
        "SIMULATOR_MPS": "20",
        "SEND_RATE_PER_SECOND": "20",
        "LOCAL_QUEUE_DUPLICATES": "10",
    },
}


def measure(registrations: int = 2000, clients: int = 32) -> dict[str, Any]:
    results = {}
    for name, env in SCENARIOS.items():
        print(f"  burst: {name} ...", file=sys.stderr, flush=True)
        results[name] = burst(registrations, clients, env)
    return {
        "method": f"python -m local on a free port with the scenario's environment; "
        f"{registrations} distinct fictional numbers POSTed by {clients} client threads; then "
        "the simulator's messages read back every second until no confirmation is queued or "
        "waiting for its delivery event; a send's time is the simulator's, to the millisecond",
        "scenarios": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--scenario", choices=[*SCENARIOS, "before"], action="append")
    args = parser.parse_args(argv)
    chosen = args.scenario or list(SCENARIOS)
    out = {}
    for name in chosen:
        env = SCENARIOS.get(name, {"SIMULATOR_MPS": "20"})
        out[name] = burst(args.registrations, args.clients, env)
        print(json.dumps({name: out[name]}, indent=1), flush=True)
    return 0 if all(math.isfinite(r["drain_seconds"]) for r in out.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
