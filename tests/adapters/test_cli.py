"""The operator CLI, a client of the operator API: against the real admin function behind
a loopback HTTP server (in-memory store), against canned refusals, and signing with SigV4
for any other host. Every failure is one line on stderr."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from local.events import LambdaContext
from local.service import admin_event, proxy_answer
from optin import cli
from optin.domain.model import Dimension, EventType, Status
from tests.support.lifecycle import NUMBER, arrange, register, reply

ROOT = Path(__file__).resolve().parents[2]
CALLER = "arn:aws:iam::123456789012:user/ops"


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, answer: Any) -> None:
        self.answer = answer  # (method, path, query, body, headers) -> (status, headers, body)
        self.requests: list[dict[str, Any]] = []
        super().__init__((host, 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/admin"


class Handler(BaseHTTPRequestHandler):
    server: Server

    def _any(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        self.server.requests.append({"method": self.command, "path": url.path, "headers": headers})
        status, answer_headers, text = self.server.answer(
            self.command, url.path, url.query, body, headers
        )
        content = text.encode()
        self.send_response(status)
        for name, value in answer_headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass


def the_admin_function(method: str, path: str, query: str, body: bytes, headers: Any):
    """As API Gateway would: the request, as a proxy event, to the real admin handler."""
    from optin.handlers import admin

    event = admin_event(method, path, query, body, caller=CALLER)
    return proxy_answer(admin.handler(event, LambdaContext()))


@pytest.fixture
def api(ports, log_lines, monkeypatch) -> Iterator[Server]:
    """The admin function behind a loopback server; its logs and metrics kept apart."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    server = Server("127.0.0.1", the_admin_function)
    yield server
    server.shutdown()
    server.server_close()


def run(api: Server, capsys, *argv: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = cli.main(["--api", api.url, *argv], out=out)
    return code, out.getvalue(), capsys.readouterr().err


def test_show_prints_the_representation(ports, api, capsys):
    arrange(ports, "CONFIRMED")
    code, out, err = run(api, capsys, "show", NUMBER)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"{NUMBER}  CONFIRMED (optOut NONE)"
    assert "Carlos Salazar" in out
    assert "Disclosures shown" in out
    code, out, _ = run(api, capsys, "--json", "show", NUMBER)
    view = json.loads(out)
    assert (view["status"], view["optOut"], view["firstName"]) == ("CONFIRMED", "NONE", "Carlos")
    assert view["confirmedAt"].endswith("Z")
    assert [e["type"] for e in view["consentEvents"]][:2] == ["REGISTERED", "CONFIRMATION_SENT"]
    assert ports.rules.texts.disclosure in view["disclosures"].values()
    assert api.requests[0]["path"] == "/admin/subscribers/%2B12065550142"
    assert "Authorization" not in api.requests[0]["headers"]  # loopback: not signed


def test_show_unknown_number(api, capsys):
    code, out, err = run(api, capsys, "show", "+14165550142")
    assert code == 1
    assert out == ""
    assert err.splitlines() == ["python -m optin.cli: no subscriber +1******0142"]


def test_list_by_status(ports, api, capsys):
    register(ports)
    register(ports, "+14165550142")
    reply(ports, "YES", number="+14165550142")
    _, out, _ = run(api, capsys, "--json", "list", "--status", "CONFIRMED")
    assert [s["phoneNumber"] for s in json.loads(out)["subscribers"]] == ["+14165550142"]
    _, out, _ = run(api, capsys, "list", "--limit", "1")
    assert out.splitlines()[0].split() == [
        "number",
        "status",
        "name",
        "source",
        "country",
        "created",
        "confirmed",
    ]
    assert "more: --cursor" in out
    _, out, _ = run(api, capsys, "--json", "list", "--limit", "1", "--all")
    assert len(json.loads(out)["subscribers"]) == 2


def test_segments_as_a_table(ports, api, capsys):
    register(ports, source="/a")
    register(ports, "+14165550142", source="/a")
    reply(ports, "YES", number="+14165550142")
    code, out, _ = run(api, capsys, "segments", "--by", "source")
    assert code == 0
    assert out.splitlines()[0].split() == [
        "source",
        "PENDING",
        "CONFIRMED",
        "OPTED_OUT",
        "EXPIRED",
        "total",
    ]
    assert out.splitlines()[2].split() == ["/a", "1", "1", "0", "0", "2"]


@pytest.mark.parametrize("form", ["csv", "jsonl"])
def test_export_writes_every_page_into_one_file(ports, api, capsys, tmp_path, form):
    arrange(ports, "CONFIRMED")
    register(ports, "+14165550142")
    events = len(ports.store.events(NUMBER)) + len(ports.store.events("+14165550142"))
    out_file = tmp_path / f"ledger.{form}"
    code, out, err = run(api, capsys, "export", "--format", form, "--out", str(out_file))
    assert (code, err) == (0, "")  # no progress bar when stderr is not a terminal
    assert out == f"{events} events written to {out_file} (1 page)\n"
    text = out_file.read_text()
    if form == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == events
    assert {row["phoneNumber"] for row in rows} == {NUMBER, "+14165550142"}


def test_export_follows_the_cursor(ports, api, capsys, tmp_path, monkeypatch):
    from optin.domain.operator import views as operator

    monkeypatch.setattr(operator, "DEFAULT_EXPORT_PAGE", 2)
    arrange(ports, "CONFIRMED")
    out_file = tmp_path / "ledger.csv"
    code, out, _ = run(api, capsys, "--json", "export", "--out", str(out_file))
    summary = json.loads(out)
    assert code == 0
    assert summary["pages"] == 3
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert len(rows) == summary["events"] == len(ports.store.events(NUMBER))


def test_operator_removal_opts_out_and_is_recorded(ports, api, capsys):
    arrange(ports, "CONFIRMED")
    code, out, _ = run(api, capsys, "opt-out", NUMBER, "--reason", "asked by e-mail")
    assert (code, out) == (0, f"{NUMBER}: OPTED_OUT\n")
    subscriber = ports.store.get(NUMBER)
    assert subscriber.status is Status.OPTED_OUT
    assert subscriber.opted_out_at is not None
    last = ports.store.events(NUMBER)[-1]
    assert last.type is EventType.REMOVED_BY_OPERATOR
    assert last.details["operator"] == CALLER
    assert last.details["reason"] == "asked by e-mail"
    assert run(api, capsys, "opt-out", "+14165550142", "--reason", "x")[0] == 1


def test_erase_asks_first(ports, api, capsys, monkeypatch):
    arrange(ports, "CONFIRMED")
    code, _, err = run(api, capsys, "erase", NUMBER)  # stdin is not a terminal here
    assert code == 2
    assert err == (
        "python -m optin.cli: erasing needs a confirmation: run it in a terminal, or pass --yes\n"
    )
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda _question: "n")
    assert run(api, capsys, "erase", NUMBER)[0] == 1
    assert ports.store.get(NUMBER) is not None
    monkeypatch.setattr("builtins.input", lambda _question: "y")
    code, out, _ = run(api, capsys, "erase", NUMBER)
    assert (code, out) == (0, f"{NUMBER}: erased; its keyed hash keeps OPTED_OUT\n")
    assert ports.store.get(NUMBER) is None


def test_erase_yes_does_not_ask(ports, api, capsys, monkeypatch):
    arrange(ports, "PENDING")
    monkeypatch.setattr("builtins.input", lambda _question: pytest.fail("asked"))
    code, out, _ = run(api, capsys, "--json", "erase", NUMBER, "--yes")
    assert code == 0
    assert json.loads(out) == {"phoneNumber": NUMBER, "erased": True, "keptStatus": "PENDING"}


# Refusals and failures: one line, exit status 2 -------------------------------------------


def canned(status: int, body: str, content_type: str = "application/json"):
    def answer(*_request: Any) -> tuple[int, dict[str, str], str]:
        return status, {"Content-Type": content_type}, body

    return answer


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            403,
            '{"message": "User: arn:aws:iam::123456789012:user/x is not authorized to '
            'perform: execute-api:Invoke"}',
            "the API answered 403: User: arn:aws:iam::123456789012:user/x is not authorized",
        ),
        (
            503,
            '{"error": {"code": "UNAVAILABLE", "message": "DynamoDB unavailable"}}',
            "the API answered 503: UNAVAILABLE: DynamoDB unavailable",
        ),
        (502, "<html>Bad Gateway</html>", "the API answered 502: <html>Bad Gateway</html>"),
    ],
)
@pytest.mark.parametrize("command", [("segments",), ("show", NUMBER), ("list",)])
def test_aws_failures_at_the_boundary_are_one_line(capsys, status, body, expected, command):
    server = Server("127.0.0.1", canned(status, body))
    try:
        code, out, err = run(server, capsys, *command)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 2
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("python -m optin.cli: ")
    assert expected in line


def test_nothing_listening_is_one_line(capsys):
    code = cli.main(["--api", "http://127.0.0.1:9/admin", "segments"])
    [line] = capsys.readouterr().err.splitlines()
    assert code == 2
    assert line.startswith("python -m optin.cli: cannot reach http://127.0.0.1:9/admin")
    assert "make dev" in line


# SigV4 -----------------------------------------------------------------------------------

SIGNATURE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/(?P<region>[a-z0-9-]+)/execute-api/"
    r"aws4_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=[0-9a-f]{64}$"
)


def test_a_request_to_aws_is_signed_with_the_callers_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    url = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1/admin/segments?by=status"
    api = cli.AdminApi("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1/admin")
    assert api.signed
    headers = cli.sign("GET", url, None, {"Accept": "application/json"}, api.host)
    match = SIGNATURE.match(headers["Authorization"])
    assert match is not None, headers["Authorization"]
    assert match["region"] == "eu-west-1"  # from the URL, not the environment
    assert {"host", "x-amz-date", "x-amz-security-token"} <= set(match["headers"].split(";"))
    assert headers["X-Amz-Security-Token"] == "token"


def test_any_host_but_the_loopback_gets_signed_requests(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ca-central-1")
    answer = canned(200, '{"by": "status", "counts": {}}')
    server = Server("127.0.0.2", answer)  # another address: "not loopback" for the CLI
    try:
        code = cli.main(["--api", server.url, "segments"])
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, capsys.readouterr().err
    [request] = server.requests
    match = SIGNATURE.match(request["headers"]["Authorization"])
    assert match is not None
    assert match["region"] == "ca-central-1"


def cli_process(env_changes: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "OPTIN_API_URL"
    }
    environment.update(
        {
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONPATH": str(ROOT / "lambdas"),
            **env_changes,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "optin.cli", *argv],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        check=False,
        timeout=60,
    )


def test_no_region_is_one_clear_line():
    result = cli_process({}, "--api", "https://admin.example.com/v1/admin", "show", NUMBER)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "python -m optin.cli: no AWS region: "
        "set AWS_DEFAULT_REGION to the region the stack is deployed in"
    ]


def test_no_credentials_is_one_clear_line():
    url = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/admin"
    result = cli_process({}, "--api", url, "list", "--status", "CONFIRMED")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "no AWS credentials found" in line
    assert "Traceback" not in result.stderr


def test_the_api_url_is_required():
    result = cli_process({}, "segments")
    assert result.returncode == 2
    assert "--api (or OPTIN_API_URL) is required" in result.stderr


def test_the_optin_command_reads_the_shell_arguments_and_names_itself(
    ports, api, capsys, monkeypatch
):
    """The console script's entry point, in process: sys.argv, stdout, its own name."""
    arrange(ports, "CONFIRMED")
    monkeypatch.setattr(sys, "argv", ["optin", "--api", api.url, "show", NUMBER])
    assert cli.command() == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == f"{NUMBER}  CONFIRMED (optOut NONE)"
    assert captured.err == ""
    monkeypatch.setattr(sys, "argv", ["optin", "--api", api.url, "show", "+14165550142"])
    assert cli.command() == 1
    assert capsys.readouterr().err.splitlines() == ["optin: no subscriber +1******0142"]


def test_the_cli_needs_no_phone_number_library(capsys, monkeypatch):
    """Installed on its own (pip install .), the CLI has botocore only: a number it masks
    in a message does not import phonenumbers."""
    server = Server("127.0.0.1", lambda *request: (404, {}, '{"error": {"code": "NOT_FOUND"}}'))
    try:
        monkeypatch.setitem(sys.modules, "phonenumbers", None)  # import phonenumbers fails
        monkeypatch.setattr(sys, "argv", ["optin", "--api", server.url, "show", NUMBER])
        assert cli.command() == 1
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().err.splitlines() == ["optin: no subscriber +1******0142"]


def test_the_cli_takes_its_statuses_and_dimensions_from_the_model_and_stays_light():
    assert tuple(status.value for status in Status) == cli.STATUSES
    assert tuple(dimension.value for dimension in Dimension) == cli.DIMENSIONS
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, optin.cli; print(sorted(m for m in sys.modules"
            " if m.split('.')[0] in ('boto3', 'botocore', 'aws_lambda_powertools')))",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "lambdas")},
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    assert loaded.stdout.strip() == "[]"
