"""Cold start of each handler against the SDK floor, each in a fresh interpreter.

Every run is timed on one clock from the parent's spawn to the child's first response
(``perf_counter`` is CLOCK_MONOTONIC on Linux, shared by both processes), less the
child's paused window (attaching the local AWS answers). Runs of the floor and of both
handlers are interleaved, so load from other work on the machine hits all of them alike.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.stats import median
from tests.support.fakes import BASE_ENV, FAKE_AWS, Clock, fake_ports
from tests.support.harness import ROOT

CHILD = Path(__file__).resolve().parent / "cold_child.py"
MODES = ("empty", "floor", "registration", "inbound")
PENDING_NUMBER = "+12065550142"


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "POWERTOOLS_", "_X_AMZN"))
    }
    env.update(BASE_ENV)
    env.update(FAKE_AWS)
    env.update(
        {  # the queues exist only as URLs: every request is answered in the child
            "SEND_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/send",
            "BROADCAST_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/broadcast",
        }
    )
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lambdas"), str(ROOT)])
    env.update(extra)
    return env


def _events(directory: Path) -> dict[str, dict[str, str]]:
    """The first invocation of each handler: a new registration, and the YES that
    confirms a pending number (whose item the local DynamoDB answer returns)."""
    from local.events import api_gateway_event, sns_event, two_way_message
    from optin.adapters.dynamodb.codec import subscriber_item
    from optin.settings import Settings
    from tests.support.lifecycle import register

    form = {
        "phoneNumber": "+12065550199",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "consent": True,
        "source": "/signup",
    }
    registration_file = directory / "registration.json"
    registration_file.write_text(json.dumps(api_gateway_event(json.dumps(form))))
    inbound_file = directory / "inbound.json"
    inbound_file.write_text(json.dumps(sns_event(two_way_message(PENDING_NUMBER, "YES"))))
    # A pending subscriber, as the registration flow leaves it (clock: now).
    from datetime import UTC, datetime

    ports = fake_ports(Settings.from_env(BASE_ENV).rules, Clock(datetime.now(UTC)))
    ports.queue.immediate = False  # type: ignore[attr-defined]
    register(ports, PENDING_NUMBER)
    subscriber = ports.store.get(PENDING_NUMBER)
    assert subscriber is not None
    item = json.dumps(subscriber_item(subscriber))
    return {
        "registration": {"BENCH_EVENT_FILE": str(registration_file)},
        "inbound": {"BENCH_EVENT_FILE": str(inbound_file), "BENCH_SUBSCRIBER_ITEM": item},
        "floor": {},
        "empty": {},
    }


def _child(
    mode: str, env: dict[str, str], result_file: Path, *python_options: str, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """One cold start: a new interpreter running the child for ``mode``; stderr kept."""
    return subprocess.run(
        [sys.executable, *python_options, str(CHILD), mode, str(result_file)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=check,
        timeout=120,
    )


def _run_once(mode: str, env: dict[str, str], directory: Path) -> dict[str, Any]:
    result_file = directory / f"{mode}-result.json"
    result_file.unlink(missing_ok=True)
    spawned = time.perf_counter()
    completed = _child(mode, env, result_file)
    if completed.returncode != 0:
        raise RuntimeError(f"cold start child {mode} failed:\n{completed.stderr}")
    result = json.loads(result_file.read_text())
    if mode in ("registration", "inbound"):
        response = result["response"]
        expected = {"processed": 1} if mode == "inbound" else 202
        got = response if mode == "inbound" else response.get("statusCode")
        if got != expected:
            raise RuntimeError(f"cold start child {mode} answered {response}")
    return {
        "startup_ms": (result["t0"] - spawned) * 1000,
        "total_ms": (result["end"] - spawned - result["paused"]) * 1000,
        "in_process_ms": (result["end"] - result["t0"] - result["paused"]) * 1000,
        "import_ms": (result["imported"] - result["t0"]) * 1000 if "imported" in result else None,
        "first_invocation_ms": result["first_invocation"] * 1000
        if "first_invocation" in result
        else None,
    }


def _import_profile(mode: str, env: dict[str, str], directory: Path) -> dict[str, float]:
    """``-X importtime`` of one cold start: self time (ms) summed by top-level package."""
    result_file = directory / "importtime.json"
    completed = _child(mode, env, result_file, "-X", "importtime", check=True)
    totals: dict[str, float] = defaultdict(float)
    line_format = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")
    for line in completed.stderr.splitlines():
        match = line_format.match(line)
        if not match:
            continue
        package = match.group(4).split(".")[0]
        totals[package] += int(match.group(1)) / 1000
    top = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:12]
    return {name: round(ms, 1) for name, ms in top}


_XRAY_PROBE = (
    "import time, boto3, aws_lambda_powertools.logging, aws_lambda_powertools.metrics\n"
    "started = time.perf_counter()\n"
    "import aws_xray_sdk.core\n"
    "print((time.perf_counter() - started) * 1000)\n"
)


def xray_import_ms(env: dict[str, str], runs: int = 7) -> float:
    """What ``Tracer()`` at import costs on top of what the handler imports anyway: the
    X-Ray SDK, whose recorder builds its own botocore session and clients at import."""
    samples = []
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, "-c", _XRAY_PROBE],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        samples.append(float(completed.stdout.strip()))
    return round(median(samples), 1)


def measure(runs: int = 15) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="optin-cold-") as temp:
        directory = Path(temp)
        extras = _events(directory)
        envs = {mode: _environment(extras[mode]) for mode in MODES}
        for mode in MODES:  # one discarded run each: bytecode caches, page cache
            _run_once(mode, envs[mode], directory)
        samples: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for _ in range(runs):
            for mode in MODES:
                samples[mode].append(_run_once(mode, envs[mode], directory))
        profiles = {
            mode: _import_profile(mode, envs[mode], directory)
            for mode in ("floor", "registration", "inbound")
        }
        xray = xray_import_ms(envs["floor"])

    def summary(mode: str) -> dict[str, Any]:
        rows = samples[mode]
        out: dict[str, Any] = {
            "runs": len(rows),
            "median_ms": round(median([r["total_ms"] for r in rows]), 1),
            "median_without_interpreter_ms": round(median([r["in_process_ms"] for r in rows]), 1),
            "min_ms": round(min(r["total_ms"] for r in rows), 1),
            "max_ms": round(max(r["total_ms"] for r in rows), 1),
        }
        if rows[0]["import_ms"] is not None:
            out["median_import_ms"] = round(median([r["import_ms"] for r in rows]), 1)
            out["median_first_invocation_ms"] = round(
                median([r["first_invocation_ms"] for r in rows]), 1
            )
        return out

    result: dict[str, Any] = {
        "method": "fresh interpreter per run; spawn to first response on one monotonic clock; "
        "AWS answered in process at botocore before-send (not timed: attaching the answers)",
        "interpreter_startup_ms": round(median([r["startup_ms"] for r in samples["empty"]]), 1),
        "sdk_floor": summary("floor"),
    }
    floor = result["sdk_floor"]
    for name in ("registration", "inbound"):
        handler = summary(name)
        handler["ratio_to_floor"] = round(handler["median_ms"] / floor["median_ms"], 3)
        handler["ratio_to_floor_without_interpreter"] = round(
            handler["median_without_interpreter_ms"] / floor["median_without_interpreter_ms"], 3
        )
        result[name] = handler
    result["import_profile_self_ms"] = profiles
    # What xraySdkTracing=true would add to each cold start (the handlers skip it by default).
    result["x_ray_sdk_import_ms"] = xray
    return result
