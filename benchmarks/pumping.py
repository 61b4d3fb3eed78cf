"""An SMS pumping run against local mode: what the limits across numbers let through.

One client (no WAF in local mode: the per-IP limit exists only on AWS) registers 1,000
consecutive numbers of one prefix (``+1 206 555 0000`` to ``0999``), then 1,000 numbers
across 100 other prefixes (ten in each), with local mode's default settings. It counts the
confirmations the phone simulator received, per prefix and UTC hour, the 429s, and what the
confirmations not sent would have cost.

``python benchmarks/pumping.py --before /tmp/before-limits`` runs the same against another
checkout too (the code before the limits), side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT / "lambdas"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from optin.domain.subscribers.limits import number_prefix  # noqa: E402
from tests.support.local_mode import LocalMode  # noqa: E402

RANGE_PREFIX = "+1206555"
RANGE_SIZE = 1_000
OTHER_PREFIXES = 100
PER_OTHER_PREFIX = 10

# What one SMS part to a US number costs, assumed (docs/performance.md says where from):
# End User Messaging's US price per outbound part, plus the carriers' pass-through fee.
AWS_PRICE_PER_PART = 0.00581
CARRIER_FEE_PER_PART = 0.0025
PRICE_PER_PART = AWS_PRICE_PER_PART + CARRIER_FEE_PER_PART

# The GSM 03.38 alphabet (7-bit): 160 characters fit one part, 153 each part of several;
# anything else makes the message UCS-2, 70 and 67. The extension characters take two.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = set("^{}\\[~]|€\f")


def sms_parts(text: str) -> int:
    if all(char in _GSM_BASIC or char in _GSM_EXTENSION for char in text):
        units = sum(2 if char in _GSM_EXTENSION else 1 for char in text)
        return 1 if units <= 160 else -(-units // 153)
    units = sum(2 if ord(char) > 0xFFFF else 1 for char in text)
    return 1 if units <= 70 else -(-units // 67)


def other_area_codes(count: int = OTHER_PREFIXES) -> list[str]:
    """US area codes whose 555 exchange phonenumbers calls valid and possibly mobile (what
    local mode's offline lookup accepts), other than the walked range's own."""
    import phonenumbers
    from phonenumbers import PhoneNumberType

    accepted = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
    found = []
    for area in range(201, 1000):
        number = phonenumbers.parse(f"+1{area}5550100")
        if (
            f"+1{area}555" != RANGE_PREFIX
            and phonenumbers.is_valid_number(number)
            and phonenumbers.region_code_for_number(number) == "US"
            and phonenumbers.number_type(number) in accepted
        ):
            found.append(str(area))
            if len(found) == count:
                return found
    raise RuntimeError(f"only {len(found)} area codes found")


def walked_range(size: int = RANGE_SIZE) -> list[str]:
    return [f"{RANGE_PREFIX}{line:04d}" for line in range(size)]


def spread_numbers(prefixes: int = OTHER_PREFIXES) -> list[str]:
    """555-0100 and up in each area code (local mode's simulated landline is 201-555-0000)."""
    return [
        f"+1{area}555{line:04d}"
        for area in other_area_codes(prefixes)
        for line in range(100, 100 + PER_OTHER_PREFIX)
    ]


def _phases(size: int, prefixes: int) -> Iterator[tuple[str, list[str]]]:
    yield f"one prefix, {size:,} consecutive numbers", walked_range(size)
    yield f"{prefixes} prefixes, {PER_OTHER_PREFIX} numbers each", spread_numbers(prefixes)


def _settled_phones(mode: LocalMode, timeout: float = 60.0) -> dict[str, dict[str, Any]]:
    """The simulator's phones once no new message has arrived for two seconds."""
    deadline = time.monotonic() + timeout
    last: dict[str, dict[str, Any]] = {}
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        status, document = mode.json("GET", "/simulator/api/phones")
        assert status == 200, document
        phones = {row["phoneNumber"]: row for row in document["phones"]}
        if phones != last:
            last, stable_since = phones, time.monotonic()
        elif time.monotonic() - stable_since >= 2:
            break
        time.sleep(0.5)
    return last


def run(
    root: Path = ROOT, size: int = RANGE_SIZE, prefixes: int = OTHER_PREFIXES
) -> dict[str, Any]:
    """The pumping run against the local mode of checkout ``root``."""
    phases = []
    with (
        tempfile.TemporaryDirectory(prefix="optin-pumping-") as temp,
        LocalMode(Path(temp) / "local-mode.log", root=root) as mode,
    ):
        started = time.perf_counter()
        for name, numbers in _phases(size, prefixes):
            statuses: Counter[int] = Counter()
            retry_after: Counter[str] = Counter()
            for number in numbers:
                status, headers, _ = mode.request(
                    "POST",
                    "/register",
                    {
                        "phoneNumber": number,
                        "firstName": "Ada",
                        "lastName": "Lovelace",
                        "consent": True,
                        "source": "/pumping",
                    },
                )
                statuses[status] += 1
                if status == 429:
                    retry_after[_bucket(int(headers.get("Retry-After", "0")))] += 1
            phases.append(
                {
                    "phase": name,
                    "numbers": numbers,
                    "statuses": statuses,
                    "retry_after": retry_after,
                }
            )
        seconds = time.perf_counter() - started
        phones = _settled_phones(mode)
        sample = next(iter(phones), None)
        body = mode.messages(sample)[0]["body"] if sample else ""
    return _summary(phases, phones, body, seconds)


def _bucket(seconds: int) -> str:
    if seconds <= 60:
        return "<= 60 s"
    if seconds <= 3600:
        return "61 s to 1 h (the rest of the hour)"
    return "> 1 h (until midnight UTC)"


def _summary(
    phases: list[dict[str, Any]], phones: dict[str, dict[str, Any]], body: str, seconds: float
) -> dict[str, Any]:
    parts = sms_parts(body) if body else 0
    per_prefix_hour: Counter[tuple[str, str]] = Counter()
    rows = []
    total_sent = 0
    for phase in phases:
        sent = 0
        for number in phase["numbers"]:
            phone = phones.get(number)
            if phone:
                sent += phone["messageCount"]
                per_prefix_hour[(number_prefix(number), str(phone["lastAt"])[:13])] += phone[
                    "messageCount"
                ]
        total_sent += sent
        rows.append(
            {
                "phase": phase["phase"],
                "registrations": len(phase["numbers"]),
                "confirmations_sent": sent,
                "accepted_202": phase["statuses"][202],
                "refused_429": phase["statuses"][429],
                "other_statuses": {
                    str(k): v for k, v in phase["statuses"].items() if k not in (202, 429)
                },
                "retry_after": dict(phase["retry_after"]),
            }
        )
    registrations = sum(row["registrations"] for row in rows)
    avoided = sum(row["refused_429"] for row in rows)  # each one a confirmation not sent
    return {
        "phases": rows,
        "registrations": registrations,
        "confirmations_sent": total_sent,
        "refused_429": sum(row["refused_429"] for row in rows),
        "max_confirmations_per_prefix_hour": max(per_prefix_hour.values(), default=0),
        "seconds": round(seconds, 1),
        "confirmation_parts": parts,
        "price_per_part_usd": round(PRICE_PER_PART, 5),
        "cost_sent_usd": round(total_sent * parts * PRICE_PER_PART, 2),
        "confirmations_avoided": avoided,
        "cost_avoided_usd": round(avoided * parts * PRICE_PER_PART, 2),
    }


def measure(
    before: Path | None = None, size: int = RANGE_SIZE, prefixes: int = OTHER_PREFIXES
) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "method": f"python -m local with its default settings; one client POSTs {size:,} "
        f"consecutive numbers of {RANGE_PREFIX}, then {prefixes} other prefixes x "
        f"{PER_OTHER_PREFIX} numbers; confirmations counted on the phone simulator",
        "price_assumed": f"${AWS_PRICE_PER_PART} (End User Messaging, US, per outbound part) + "
        f"${CARRIER_FEE_PER_PART} (carrier pass-through fee per part)",
        "with_limits": run(ROOT, size, prefixes),
    }
    if before is not None:
        figures["before_limits"] = run(before, size, prefixes)
        figures["before_checkout"] = str(before)
    return figures


def print_summary(figures: dict[str, Any]) -> None:
    columns = [("with limits", figures["with_limits"])]
    if "before_limits" in figures:
        columns.insert(0, ("before", figures["before_limits"]))
    title = "Pumping run (local mode, one client)"
    print(f"\n{title:<48}" + "".join(f"{name:>14}" for name, _ in columns))
    lines = [
        ("confirmations sent", "confirmations_sent"),
        ("answered 429", "refused_429"),
        ("max per prefix and hour", "max_confirmations_per_prefix_hour"),
        ("cost of what was sent ($)", "cost_sent_usd"),
        ("cost avoided ($)", "cost_avoided_usd"),
        ("seconds", "seconds"),
    ]
    for label, key in lines:
        print(f"  {label:<46}" + "".join(f"{result[key]:>14}" for _, result in columns))
    for index, row in enumerate(figures["with_limits"]["phases"]):
        cells = "".join(
            f"{result['phases'][index]['confirmations_sent']:>14}" for _, result in columns
        )
        print(f"  sent: {row['phase']:<40}{cells}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, help="another checkout to run the same against")
    parser.add_argument("--output", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    figures = measure(args.before)
    print_summary(figures)
    if args.output:
        args.output.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
