"""``make bench``: how fast and how cheap the functions are, on this machine.

Prints a table, writes benchmarks/results/latest.json, and exits non-zero when a budget
is missed. ``--quick`` runs fewer iterations (a smoke test of the script itself).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT / "lambdas"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from benchmarks import (  # noqa: E402
    admin,
    asset,
    broadcasts,
    by_state,
    calls,
    coldstart,
    pumping,
    sending,
    throughput,
    warm,
)
from optin.settings import SETTINGS  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
MB = 1024 * 1024
BUDGETS = {
    "cold start / SDK floor, each handler": 1.2,
    "warm in-memory p50 (ms), each handler": 1.0,
    "zipped asset (bytes)": 5 * MB,
    "paid calls: invalid number": 0,
    "paid calls: duplicate inside the cool-down": 0,
    "paid calls: new registration": 2,
    # (slowest - fastest) / fastest of the median registration times of new, pending,
    # confirmed and opted-out numbers in local mode: under 20 %, so timing tells no state.
    "spread of medians by state (accepted)": 0.2,
    "answers that tell states apart": 0,
    # The send queue in local mode (benchmarks/sending.py), each scenario.
    "registrations refused": 0,
    "confirmations sent twice": 0,
    "confirmations lost": 0,
    "most parts in one second, paced to the number": 20,
    "drain time over parts / rate, paced to the number": 0.10,
    # The operator API: an export's memory stays flat as the ledger grows (in memory, from
    # the smallest size to the largest), and a segment count is one read of the counters.
    "export peak memory, largest / smallest size": 1.5,
    "segment counts: DynamoDB calls per request": 1.1,
    # The pumping run, with the default limits across numbers.
    "paid calls: new number over its prefix's limit": 0,
    "pumping: confirmations per prefix and hour": SETTINGS[
        "max_confirmations_per_prefix_per_hour"
    ].default,
    "pumping: confirmations in a day": SETTINGS["daily_confirmation_budget"].default,
    # Broadcasts (benchmarks/broadcasts.py): planning memory stays flat as the audience
    # grows (in memory, smallest to largest size); sending in local mode at 20 parts/s.
    "broadcast planning peak memory, largest / smallest size": 1.5,
    "broadcast recipients planned twice or missed": 0,
    "broadcast messages sent twice": 0,
    "broadcast quiet-hour violations": 0,
    "confirmation wait during a broadcast (s)": 2.0,
}
PACED = "paced to the number"


def check_budgets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    cold, memory = figures["cold_start"], figures["warm"]["in_memory"]
    scenarios = figures["aws_calls"]["scenarios"]
    rows = []

    def row(name: str, handler: str, value: float, budget: float, strict: bool = False) -> None:
        rows.append(
            {
                "budget": name,
                "what": handler,
                "value": value,
                "limit": budget,
                "met": value < budget if strict else value <= budget,
                "strict": strict,
            }
        )

    for handler in ("registration", "inbound"):
        row(
            "cold start / SDK floor, each handler",
            handler,
            cold[handler]["ratio_to_floor"],
            BUDGETS["cold start / SDK floor, each handler"],
        )
        row(
            "warm in-memory p50 (ms), each handler",
            handler,
            memory[handler]["p50_ms"],
            BUDGETS["warm in-memory p50 (ms), each handler"],
        )
    row("zipped asset (bytes)", "shared asset", figures["asset"]["zipped_bytes"], 5 * MB)
    operator = figures["operator_api"]
    row(
        "export peak memory, largest / smallest size",
        "in-memory store",
        operator["in_memory"]["growth"]["export_peak_kib"] or 0.0,
        BUDGETS["export peak memory, largest / smallest size"],
    )
    row(
        "segment counts: DynamoDB calls per request",
        "DynamoDB adapter (moto)",
        max(run["segments"]["dynamodb_calls_per_request"] for run in operator["moto"]["runs"]),
        BUDGETS["segment counts: DynamoDB calls per request"],
    )
    for scenario, key in (
        ("invalid number", "paid calls: invalid number"),
        ("duplicate inside the cool-down", "paid calls: duplicate inside the cool-down"),
        ("new registration", "paid calls: new registration"),
        ("new number over its prefix's limit", "paid calls: new number over its prefix's limit"),
    ):
        row(key, scenario, scenarios[scenario]["paid"], BUDGETS[key])
    states = figures["by_state"]
    key = "spread of medians by state (accepted)"
    row(key, "local mode, 202", states["accepted_spread"], BUDGETS[key], strict=True)
    key = "answers that tell states apart"
    differing = (not states["same_accepted_answer"]) + (not states["same_refused_answer"])
    row(key, "202 and 429: status, body, Retry-After", differing, BUDGETS[key])
    for name, burst in figures["sending"]["scenarios"].items():
        refused = burst["registrations"] - burst["accepted"]
        row("registrations refused", name, refused, BUDGETS["registrations refused"])
        row("confirmations sent twice", name, burst["duplicates"], 0)
        row("confirmations lost", name, burst["lost"] + burst["still_waiting"], 0)
    paced = figures["sending"]["scenarios"][PACED]
    key = "most parts in one second, paced to the number"
    row(key, "SIMULATOR_MPS=20", paced["most_parts_in_one_second"], BUDGETS[key])
    key = "drain time over parts / rate, paced to the number"
    row(
        key,
        f"{paced['drain_seconds']} s for {paced['parts']} parts",
        paced["drain_over_ideal"],
        BUDGETS[key],
    )
    pumped = figures["pumping"]["with_limits"]
    for key, value in (
        ("pumping: confirmations per prefix and hour", "max_confirmations_per_prefix_hour"),
        ("pumping: confirmations in a day", "confirmations_sent"),
    ):
        row(key, "local mode, one client", pumped[value], BUDGETS[key])
    planning, sending_ = figures["broadcasts"]["planning"], figures["broadcasts"]["sending"]
    key = "broadcast planning peak memory, largest / smallest size"
    row(key, "in-memory store", planning["in_memory"]["growth"]["peak_memory"], BUDGETS[key])
    key = "broadcast recipients planned twice or missed"
    for backend in ("in_memory", "moto"):
        for run in planning[backend]["runs"]:
            off = abs(run["planned"] - run["subscribers"]) + abs(
                run["enqueued"] - run["subscribers"]
            )
            row(key, f"{backend}, {run['subscribers']:,}", off + (not run["keys_match"]), 0)
    key = "broadcast messages sent twice"
    row(key, "local mode", sending_["duplicates"], BUDGETS[key])
    key = "broadcast quiet-hour violations"
    row(key, "local mode", sending_["quiet_hour_violations"] + sending_["sent_out_of_hours"], 0)
    key = "confirmation wait during a broadcast (s)"
    row(key, "local mode, max", sending_["confirmation_wait_max_seconds"] or 0.0, BUDGETS[key])
    return rows


def print_table(figures: dict[str, Any], budgets: list[dict[str, Any]]) -> None:
    cold = figures["cold_start"]
    print("\nCold start (fresh interpreter, median; AWS answered in process)")
    print(f"  interpreter start-up          {cold['interpreter_startup_ms']:8.1f} ms")
    print(f"  SDK floor (boto3 + 3 clients) {cold['sdk_floor']['median_ms']:8.1f} ms")
    for name in ("registration", "inbound"):
        entry = cold[name]
        print(
            f"  {name:<13} handler         {entry['median_ms']:8.1f} ms"
            f"  = {entry['ratio_to_floor']:.2f} x floor"
            f"  (import {entry['median_import_ms']:.0f} ms, first call"
            f" {entry['median_first_invocation_ms']:.0f} ms)"
        )
    print(f"  X-Ray SDK, if xraySdkTracing  {cold['x_ray_sdk_import_ms']:8.1f} ms more")
    print("\nWarm latency (ms)                    p50      p99")
    for backend in ("in_memory", "moto"):
        for name in ("registration", "inbound"):
            entry = figures["warm"][backend][name]
            line = f"  {backend:<9} {name:<13}      {entry['p50_ms']:8.3f} {entry['p99_ms']:8.3f}"
            if "p50_excluding_moto_ms" in entry:
                line += (
                    f"   (excluding moto: {entry['p50_excluding_moto_ms']:.3f}"
                    f" / {entry['p99_excluding_moto_ms']:.3f})"
                )
            print(line)
    size = figures["asset"]
    print(
        f"\nAsset (both functions): {size['zipped_bytes'] / MB:.2f} MB zipped, "
        f"{size['unzipped_bytes'] / MB:.2f} MB unzipped, {size['files']} files"
    )
    print("\nAWS calls per scenario               paid   free")
    for name, entry in figures["aws_calls"]["scenarios"].items():
        print(f"  {name:<36} {entry['paid']:4d}   {entry['free']:4d}")
    print("\nSend queue in local mode (SIMULATOR_MPS=20)")
    print(
        "  scenario                              accepted  sent  twice  lost  most/s  "
        "accept s  drain s  ideal s  throttled"
    )
    for name, burst in figures["sending"]["scenarios"].items():
        print(
            f"  {name:<37} {burst['accepted']:8d} {burst['confirmations_sent']:5d} "
            f"{burst['duplicates']:6d} {burst['lost']:5d} {burst['most_parts_in_one_second']:7d} "
            f"{burst['accept_seconds']:9.1f} {burst['drain_seconds']:8.1f} "
            f"{burst['ideal_drain_seconds']:8.1f} {burst['throttled']:10d}"
        )
    local = figures["sending"]["scenarios"][PACED]
    print(
        f"  registrations/s {local['registrations_per_second']:.1f} ({local['clients']} clients); "
        f"subscribers {local['subscribers']}; dropped connections retried "
        f"{local['connections_dropped_then_retried']}"
    )
    states = figures["by_state"]
    print(f"\nRegistration by state, local mode ({states['per_state']} numbers each), median ms")
    print("  state        accepted (202)   refused (429)")
    for state, accepted in states["accepted_median_ms"].items():
        refused = states["refused_median_ms"][state]
        print(f"  {state:<12} {accepted:10.2f}      {refused:10.2f}")
    print(
        f"  spread       {states['accepted_spread']:10.1%}      {states['refused_spread']:10.1%}"
        f"   same answers: {states['same_accepted_answer']} / {states['same_refused_answer']}"
    )
    admin.print_runs(
        "Operator API (through the admin function)",
        "subscribers  segments p50   export: events    seconds  peak memory",
        figures["operator_api"],
        lambda run: (
            f"{run['subscribers']:>12,} {run['segments']['p50_ms']:>9.2f} ms"
            f" {run['export']['events']:>15,} {run['export']['seconds']:>9.1f}"
            f" {run['export']['peak_kib_above_start'] / 1024:>9.1f} MiB"
        ),
    )
    pumping.print_summary(figures["pumping"])
    broadcasts.print_summary(figures["broadcasts"])
    print("\nBudgets")
    for entry in budgets:
        mark = "ok  " if entry["met"] else "MISS"
        print(
            f"  {mark} {entry['budget']:<42} {entry['what']:<32} "
            f"{entry['value']} {'<' if entry['strict'] else '<='} {entry['limit']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke test)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--pumping-before",
        type=Path,
        help="also run the pumping run against this checkout (the code before the limits)",
    )
    parser.add_argument(
        "--registrations",
        type=int,
        default=None,
        help="local-mode registrations (default 2000; moto makes each one slower than the last)",
    )
    args = parser.parse_args(argv)
    runs, invocations, registrations = (3, 100, 200) if args.quick else (15, 1000, 2000)
    per_state = 10 if args.quick else by_state.PER_STATE
    pumped = (100, 10) if args.quick else (pumping.RANGE_SIZE, pumping.OTHER_PREFIXES)
    registrations = args.registrations or registrations
    operator_sizes = (
        ((1000, 5000), (200, 400)) if args.quick else (admin.MEMORY_SIZES, admin.MOTO_SIZES)
    )
    broadcast_sizes = (
        ((1000, 5000), (200, 400), 100)
        if args.quick
        else (broadcasts.MEMORY_SIZES, broadcasts.MOTO_SIZES, broadcasts.SEND_RECIPIENTS)
    )

    started = time.monotonic()
    figures: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "quick": args.quick,
    }
    steps = [
        ("cold_start", lambda: coldstart.measure(runs)),
        ("warm", lambda: warm.measure(invocations)),
        ("asset", asset.measure),
        ("aws_calls", calls.measure),
        ("by_state", lambda: by_state.measure(per_state)),
        ("operator_api", lambda: admin.measure(*operator_sizes)),
        ("pumping", lambda: pumping.measure(args.pumping_before, *pumped)),
        ("sending", lambda: sending.measure(registrations)),
        ("broadcasts", lambda: broadcasts.measure(*broadcast_sizes)),
        ("local_mode", lambda: {"plain_python_m_local_memory": throughput.memory_growth()}),
    ]
    for name, step in steps:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        figures[name] = step()
    figures["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["machine"]["seconds"] = round(time.monotonic() - started, 1)
    local = figures["sending"]["scenarios"][PACED]
    figures["local_mode"]["counts_match"] = (
        local["subscribers"] == local["confirmations_sent"] == local["registrations"]
    )
    budgets = check_budgets(figures)
    figures["budgets"] = budgets
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    print_table(figures, budgets)
    print(f"\nwritten to {args.output}")
    missed = [entry for entry in budgets if not entry["met"]]
    if not figures["local_mode"]["counts_match"]:
        print(
            "local mode: subscribers and confirmations sent do not both equal the registrations",
            file=sys.stderr,
        )
        return 1
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
