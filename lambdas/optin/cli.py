"""Operator commands: a thin client of the operator API (docs/operator.md).

``pip install .`` (or ``pipx install .``) puts them on the PATH as ``optin``; ``make dev``
as ``.venv-local/bin/optin``; ``python -m optin.cli`` is the same command.

    optin --api URL show +12065550142
    optin --api URL list --status CONFIRMED
    optin --api URL segments --by country
    optin --api URL export --format csv --out ledger.csv
    optin --api URL opt-out +12065550142 --reason "asked by e-mail"
    optin --api URL erase +12065550142
    optin --api URL broadcast create --text "Hi {{firstName}}" --source /spring
    optin --api URL broadcast show b-0123... --follow
    optin --api URL broadcast cancel b-0123...

``URL`` is the stack's ``AdminApiUrl`` output (requests are signed with SigV4 from your
AWS credentials, service ``execute-api``, the region taken from the URL), or local mode's
``http://127.0.0.1:8000/admin`` (not signed). ``OPTIN_API_URL`` may hold it instead.
Output is a readable table; ``--json`` prints the API's JSON for scripts. Every failure is
one line on stderr: exit status 1 when the number is unknown (or an erasure is declined),
2 when the request could not be made or was refused.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import quote, urlencode, urlsplit

from optin.domain.model import Dimension, Status  # pure: the CLI stays free of AWS libraries

NOT_FOUND = 1
FAILED = 2
PROG = "python -m optin.cli"
COMMAND = "optin"  # the console script `pip install .` puts on the PATH
STATUSES = tuple(status.value for status in Status)
DIMENSIONS = tuple(dimension.value for dimension in Dimension)
TIMEOUT_SECONDS = 60
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class Failure(Exception):
    """Something the operator can act on, said in one line; ``status`` is the exit status."""

    def __init__(self, message: str, status: int = FAILED) -> None:
        super().__init__(message)
        self.status = status


# Talking to the API ----------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class AdminApi:
    """HTTP to the operator API; SigV4 for any host but the loopback."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Failure(f"--api must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.host = parts.hostname
        self.signed = parts.hostname not in _LOOPBACK

    def call(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Answer:
        url = self.base_url + path
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.signed:
            headers = sign(method, url, data, headers, self.host)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (scheme checked above)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                return Answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers.items()), error.read())
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            hint = " (is local mode running? make dev)" if not self.signed else ""
            raise Failure(f"cannot reach {self.base_url}: {reason}{hint}") from None


def sign(
    method: str, url: str, data: bytes | None, headers: dict[str, str], host: str
) -> dict[str, str]:
    """The headers with a SigV4 signature from the caller's credentials (botocore)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.session import Session

    session = Session()
    match = _EXECUTE_API_HOST.match(host)
    region = match[1] if match else session.get_config_variable("region")
    if not region:
        raise Failure(
            "no AWS region: set AWS_DEFAULT_REGION to the region the stack is deployed in"
        )
    credentials = session.get_credentials()
    if credentials is None:
        raise Failure("no AWS credentials found: set AWS_PROFILE or sign in (aws sso login)")
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def refused(answer: Answer) -> Failure:
    """The API's refusal as one line (its error shape, or API Gateway's own message)."""
    try:
        document = answer.json()
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        error = document["error"]
        text = f"{error.get('code', '?')}: {error.get('message', '')}"
    elif isinstance(document, dict) and document.get("message"):
        text = str(document["message"])  # API Gateway (for instance IAM refusing the call)
    else:
        text = answer.body[:200].decode("utf-8", "replace").strip() or "no details"
    status = NOT_FOUND if answer.status == 404 else FAILED
    return Failure(f"the API answered {answer.status}: {text}", status)


def expect(answer: Answer, phone_number: str | None = None) -> Any:
    """The answer's JSON; a refusal raised as one line (a 404 for a number names it,
    masked, as the logs do)."""
    if answer.status == 404 and phone_number is not None:
        from optin.domain.subscribers.phone import mask

        raise Failure(f"no subscriber {mask(phone_number)}", NOT_FOUND)
    if answer.status != 200:
        raise refused(answer)
    return answer.json()


def number_path(phone_number: str) -> str:
    return "/subscribers/" + quote(phone_number.strip(), safe="")


# Commands --------------------------------------------------------------------------------


def show(api: AdminApi, args: argparse.Namespace, out: TextIO) -> None:
    proof = expect(api.call("GET", number_path(args.phone_number)), args.phone_number)
    if args.json:
        print(json.dumps(proof, indent=2, ensure_ascii=False), file=out)
        return
    name = " ".join(filter(None, (proof.get("firstName"), proof.get("lastName")))) or "-"
    print(f"{proof['phoneNumber']}  {proof['status']} (optOut {proof['optOut']})", file=out)
    for label, key in (
        ("name", None),
        ("source", "source"),
        ("country", "country"),
        ("timezone", "timezone"),
        ("number type", "numberType"),
        ("carrier", "carrier"),
        ("created", "createdAt"),
        ("confirmed", "confirmedAt"),
        ("opted out", "optedOutAt"),
    ):
        print(f"  {label:<12} {name if key is None else proof.get(key) or '-'}", file=out)
    print("\nConsent events", file=out)
    rows = [
        [
            event.get("at") or "",
            event.get("type") or "",
            event.get("source") or "",
            ", ".join(
                f"{key}={value}"
                for key, value in event.items()
                if key not in ("at", "type", "source")
            ),
        ]
        for event in proof.get("consentEvents", [])
    ]
    table(["at", "type", "source", "details"], rows, out, indent="  ")
    disclosures = proof.get("disclosures") or {}
    if disclosures:
        print("\nDisclosures shown", file=out)
        for version, text in disclosures.items():
            print(f"  {version}: {text or '(text not stored)'}", file=out)


def list_subscribers(api: AdminApi, args: argparse.Namespace, out: TextIO) -> None:
    query = {
        "status": args.status,
        "source": args.source,
        "country": args.country,
        "limit": str(args.limit) if args.limit else None,
        "cursor": args.cursor,
    }
    found: list[dict[str, Any]] = []
    while True:
        page = expect(api.call("GET", "/subscribers", query))
        found.extend(page["subscribers"])
        query["cursor"] = page.get("nextCursor")
        if not args.all or not query["cursor"]:
            break
    if args.json:
        document = {"subscribers": found, "nextCursor": query["cursor"]}
        print(json.dumps(document, indent=2, ensure_ascii=False), file=out)
        return
    rows = [
        [
            s["phoneNumber"],
            s["status"],
            " ".join(filter(None, (s.get("firstName"), s.get("lastName")))),
            s.get("source") or "",
            s.get("country") or "",
            s.get("createdAt") or "",
            s.get("confirmedAt") or "",
        ]
        for s in found
    ]
    table(["number", "status", "name", "source", "country", "created", "confirmed"], rows, out)
    if query["cursor"]:
        print(f"more: --cursor {query['cursor']} (or --all)", file=out)


def segments(api: AdminApi, args: argparse.Namespace, out: TextIO) -> None:
    document = expect(api.call("GET", "/segments", {"by": args.by}))
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False), file=out)
        return
    rows = [
        [value or "(none)", *(counts.get(s, 0) for s in STATUSES), sum(counts.values())]
        for value, counts in document["counts"].items()
    ]
    table([document["by"], *STATUSES, "total"], rows, out)


def export(api: AdminApi, args: argparse.Namespace, out: TextIO) -> None:
    """Every page of the ledger into one file, written as it arrives (memory stays flat)."""
    query: dict[str, str] = {"format": args.format}
    for name in ("since", "until"):
        if getattr(args, name):
            query[name] = getattr(args, name)
    progress = Progress(sys.stderr) if sys.stderr.isatty() and not args.json else None
    events = pages = 0
    with open(args.out, "wb") as file:
        while True:
            answer = api.call("GET", "/export", query)
            if answer.status != 200:
                raise refused(answer)
            file.write(answer.body)
            pages += 1
            events += answer.body.count(b"\n") - (1 if args.format == "csv" and pages == 1 else 0)
            cursor = _header(answer, "X-Next-Cursor")
            if progress is not None:
                progress.show(float(_header(answer, "X-Export-Progress") or 0), events)
            if not cursor:
                break
            query["cursor"] = cursor
    if progress is not None:
        progress.done()
    summary = {"file": args.out, "format": args.format, "events": events, "pages": pages}
    if args.json:
        print(json.dumps(summary), file=out)
    else:
        print(
            f"{events} events written to {args.out} ({pages} page{'' if pages == 1 else 's'})",
            file=out,
        )


def opt_out(api: AdminApi, args: argparse.Namespace, out: TextIO) -> None:
    path = number_path(args.phone_number) + "/opt-out"
    document = expect(api.call("POST", path, body={"reason": args.reason}), args.phone_number)
    if args.json:
        print(json.dumps(document), file=out)
    else:
        print(f"{document['phoneNumber']}: {document['status']}", file=out)


def erase(api: AdminApi, args: argparse.Namespace, out: TextIO) -> None:
    if not args.yes:
        if not sys.stdin.isatty():
            raise Failure("erasing needs a confirmation: run it in a terminal, or pass --yes")
        question = (
            f"Erase every personal detail stored for {args.phone_number}? "
            "Names, IP addresses, user agents and reply texts go for good. [y/N] "
        )
        if input(question).strip().lower() not in ("y", "yes"):
            raise Failure("nothing erased", NOT_FOUND)
    document = expect(api.call("DELETE", number_path(args.phone_number)), args.phone_number)
    if args.json:
        print(json.dumps(document), file=out)
    else:
        kept = document.get("keptStatus") or "nothing"
        print(f"{document['phoneNumber']}: erased; its keyed hash keeps {kept}", file=out)


BROADCAST_COUNTS = (
    "recipients",
    "queued",
    "sent",
    "delivered",
    "failed",
    "skippedOptedOut",
    "skippedFrequency",
    "waitingQuietHours",
    "cancelled",
)
FINISHED = ("DONE", "CANCELLED")
FOLLOW_SECONDS = 2.0


def broadcast(api: AdminApi, args: argparse.Namespace, out: TextIO) -> None:
    BROADCAST_COMMANDS[args.action](api, args, out)


def broadcast_create(api: AdminApi, args: argparse.Namespace, out: TextIO) -> None:
    segment = {
        name: value
        for name, value in (
            ("source", args.source),
            ("country", args.country),
            ("confirmedAfter", args.confirmed_after),
            ("confirmedBefore", args.confirmed_before),
        )
        if value is not None
    }
    body: dict[str, Any] = {"text": args.text, "segment": segment, "dryRun": args.dry_run}
    if args.send_at:
        body["sendAt"] = args.send_at
    answer = api.call("POST", "/broadcasts", body=body)
    if answer.status not in (200, 201):
        raise refused(answer)
    document = answer.json()
    if args.json:
        print(json.dumps(document, ensure_ascii=False), file=out)
    else:
        bound = "" if document.get("recipientsExact") else "at most "
        what = "dry run" if args.dry_run else f"{document['broadcastId']}: {document['status']}"
        print(
            f"{what}, {bound}{document['recipients']} recipients, "
            f"{document['parts']} parts ({document['encoding']}) at most, "
            f"sending from {document['sendAt']}",
            file=out,
        )
        print(f"preview: {document['preview']}", file=out)
    if args.follow and not args.dry_run:
        _follow(api, document["broadcastId"], args, out)


def broadcast_show(api: AdminApi, args: argparse.Namespace, out: TextIO) -> None:
    if args.follow:
        _follow(api, args.broadcast_id, args, out)
        return
    _print_broadcast(_broadcast(api, args.broadcast_id), args, out)


def broadcast_cancel(api: AdminApi, args: argparse.Namespace, out: TextIO) -> None:
    answer = api.call("DELETE", "/broadcasts/" + quote(args.broadcast_id, safe=""))
    if answer.status == 404:
        raise Failure(f"no broadcast {args.broadcast_id}", NOT_FOUND)
    if answer.status != 200:
        raise refused(answer)
    _print_broadcast(answer.json(), args, out)


def _broadcast(api: AdminApi, broadcast_id: str) -> Any:
    answer = api.call("GET", "/broadcasts/" + quote(broadcast_id, safe=""))
    if answer.status == 404:
        raise Failure(f"no broadcast {broadcast_id}", NOT_FOUND)
    return expect(answer)


def _follow(api: AdminApi, broadcast_id: str, args: argparse.Namespace, out: TextIO) -> None:
    """Poll until the broadcast is done or cancelled, with a progress bar on a terminal
    (what has left or never will, of the recipients planned so far)."""
    progress = Progress(sys.stderr, "messages") if sys.stderr.isatty() else None
    while True:
        document = _broadcast(api, broadcast_id)
        recipients = int(document["recipients"])
        handled = recipients - int(document["queued"])
        if progress is not None:
            progress.show(handled / recipients if recipients else 0.0, handled)
        if document["status"] in FINISHED:
            break
        time.sleep(args.interval)
    if progress is not None:
        progress.done()
    _print_broadcast(document, args, out)


def _print_broadcast(document: Any, args: argparse.Namespace, out: TextIO) -> None:
    if args.json:
        print(json.dumps(document), file=out)
        return
    print(f"{document['broadcastId']}: {document['status']}", file=out)
    table(["count", "value"], [[name, document.get(name, 0)] for name in BROADCAST_COUNTS], out)


BROADCAST_COMMANDS: dict[str, Callable[[AdminApi, argparse.Namespace, TextIO], None]] = {
    "create": broadcast_create,
    "show": broadcast_show,
    "cancel": broadcast_cancel,
}


COMMANDS: dict[str, Callable[[AdminApi, argparse.Namespace, TextIO], None]] = {
    "show": show,
    "list": list_subscribers,
    "segments": segments,
    "export": export,
    "opt-out": opt_out,
    "erase": erase,
    "broadcast": broadcast,
}


# Output ----------------------------------------------------------------------------------


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO, indent: str = ""
) -> None:
    cells = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for number, row in enumerate(cells):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print(indent + line.rstrip(), file=out)
        if number == 0:
            print(indent + "  ".join("-" * width for width in widths), file=out)
    if len(cells) == 1:
        print(indent + "(none)", file=out)


class Progress:
    """A one-line progress bar on a terminal."""

    WIDTH = 30

    def __init__(self, stream: TextIO, unit: str = "events") -> None:
        self._stream = stream
        self._unit = unit
        self._started = time.monotonic()

    def show(self, fraction: float, events: int) -> None:
        filled = int(self.WIDTH * max(0.0, min(fraction, 1.0)))
        rate = events / max(time.monotonic() - self._started, 1e-6)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self._stream.write(f"\r[{bar}] {fraction:4.0%}  {events:,} {self._unit}  {rate:,.0f}/s")
        self._stream.flush()

    def done(self) -> None:
        self._stream.write("\n")
        self._stream.flush()


def _header(answer: Answer, name: str) -> str | None:
    for key, value in answer.headers.items():
        if key.lower() == name.lower():
            return value
    return None


# Entry point -----------------------------------------------------------------------------


def parser(prog: str = PROG) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    top.add_argument(
        "--api",
        default=os.environ.get("OPTIN_API_URL", ""),
        help="the operator API: the stack's AdminApiUrl, or http://127.0.0.1:8000/admin",
    )
    top.add_argument("--json", action="store_true", help="print the API's JSON")
    commands = top.add_subparsers(dest="command", required=True)
    show_ = commands.add_parser("show", help="a subscriber with its proof of consent")
    show_.add_argument("phone_number")
    listing = commands.add_parser("list", help="subscribers, newest change first")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--source")
    listing.add_argument("--country")
    listing.add_argument("--limit", type=int)
    listing.add_argument("--cursor")
    listing.add_argument("--all", action="store_true", help="follow every page")
    counting = commands.add_parser("segments", help="subscriber counts per status")
    counting.add_argument("--by", choices=DIMENSIONS, default="status")
    exporting = commands.add_parser("export", help="the consent ledger, into a file")
    exporting.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    exporting.add_argument("--out", required=True, help="the file to write")
    exporting.add_argument("--since", help="ISO 8601 date or time (UTC unless it says)")
    exporting.add_argument("--until", help="ISO 8601 date or time, excluded")
    removing = commands.add_parser("opt-out", help="opt a number out on the operator's word")
    removing.add_argument("phone_number")
    removing.add_argument("--reason", required=True)
    erasing = commands.add_parser("erase", help="erase a number's personal data (GDPR, CCPA)")
    erasing.add_argument("phone_number")
    erasing.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    broadcasting = commands.add_parser("broadcast", help="send one text to a segment")
    actions = broadcasting.add_subparsers(dest="action", required=True)
    creating = actions.add_parser("create", help="create (or --dry-run) a broadcast")
    creating.add_argument("--text", required=True, help="may use {{firstName}}, {{lastName}}")
    creating.add_argument("--source", help="only subscribers who signed up on this page")
    creating.add_argument("--country", help="only numbers of this country (US, CA...)")
    creating.add_argument("--confirmed-after", help="ISO 8601: confirmed at or after")
    creating.add_argument("--confirmed-before", help="ISO 8601: confirmed before")
    creating.add_argument("--send-at", help="ISO 8601: when to start (default now)")
    creating.add_argument("--dry-run", action="store_true", help="count and preview only")
    creating.add_argument("--follow", action="store_true", help="then follow it until done")
    showing = actions.add_parser("show", help="a broadcast's progress")
    showing.add_argument("broadcast_id")
    showing.add_argument("--follow", action="store_true", help="until done, with a bar")
    cancelling = actions.add_parser("cancel", help="cancel what has not left")
    cancelling.add_argument("broadcast_id")
    for sub in (creating, showing):
        sub.add_argument("--interval", type=float, default=FOLLOW_SECONDS, help=argparse.SUPPRESS)
    return top


def main(argv: list[str] | None = None, out: TextIO | None = None, prog: str = PROG) -> int:
    arguments = parser(prog)
    args = arguments.parse_args(argv)
    if not args.api:
        arguments.error("--api (or OPTIN_API_URL) is required")
    try:
        COMMANDS[args.command](AdminApi(args.api), args, out or sys.stdout)
    except Failure as failure:
        print(f"{prog}: {failure}", file=sys.stderr)
        return failure.status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return FAILED
    except OSError as error:
        print(f"{prog}: {error.strerror or error}", file=sys.stderr)
        return FAILED
    return 0


def command() -> int:
    """The installed ``optin`` command (pyproject.toml's [project.scripts])."""
    return main(prog=COMMAND)


if __name__ == "__main__":
    raise SystemExit(main())
