"""The operator API's function as deployed: API Gateway proxy events in, the real adapters
on moto (DynamoDB, Secrets Manager), End User Messaging's opt-out list answered by
botocore's Stubber; and the housekeeping function on a fake clock."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from local.events import LambdaContext, api_gateway_event
from optin import runtime
from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.adapters.opt_out_list import PlatformOptOutList
from optin.adapters.secrets import SecretKey
from optin.domain.model import EventType, Status
from optin.domain.ports import Ports
from optin.handlers import admin, housekeeping
from optin.settings import Settings
from tests.adapters.test_dynamodb_operator import scan
from tests.support.fakes import BASE_ENV, Clock, fake_ports
from tests.support.lifecycle import NUMBER, arrange, register, reply

OPERATOR = "arn:aws:iam::123456789012:user/ops"
OPT_OUT_LIST = BASE_ENV["OPT_OUT_LIST_NAME"]


class Counting:
    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self._client, name)


@pytest.fixture
def secret(dynamodb: Any) -> str:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    return str(client.create_secret(Name="erasure-key", SecretString="s" * 64)["ARN"])


@pytest.fixture
def secrets(secret: str) -> Counting:
    return Counting(boto3.client("secretsmanager", region_name="us-east-1"))


@pytest.fixture
def sms() -> Iterator[Stubber]:
    client = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def deployed(
    settings: Settings, clock: Clock, dynamodb: Any, secret: str, secrets: Counting, sms: Stubber
) -> Iterator[Ports]:
    """The admin function's runtime: the real store, key and opt-out list adapters."""
    store = DynamoSubscriberStore(
        "subscribers", client=dynamodb, erasure_key=SecretKey(secret, client=secrets)
    )
    ports = fake_ports(settings.rules, clock, store)
    opt_out_list = PlatformOptOutList(sms.client, OPT_OUT_LIST)
    runtime.install(runtime.Runtime(settings, ports, opt_out_list))
    yield ports
    runtime.install(None)


def call(
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    body: Any = None,
    caller: str | None = OPERATOR,
    number: str | None = None,
) -> tuple[int, dict[str, str], str]:
    """As API Gateway hands a proxy request to the function (the number percent-encoded)."""
    text = json.dumps(body) if isinstance(body, dict) else body
    encoded = path.replace("{phoneNumber}", (number or NUMBER).replace("+", "%2B"))
    event = api_gateway_event(text, method=method, path=encoded, headers={})
    event["resource"] = path
    if "{phoneNumber}" in path:
        event["pathParameters"] = {"phoneNumber": (number or NUMBER).replace("+", "%2B")}
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = (
        {name: [value] for name, value in query.items()} if query else None
    )
    event["requestContext"]["identity"]["userArn"] = caller
    response = admin.handler(event, LambdaContext())
    headers = {k: ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    return int(response["statusCode"]), headers, str(response["body"])


def document(answer: tuple[int, dict[str, str], str]) -> tuple[int, Any]:
    return answer[0], json.loads(answer[2])


def code(answer: tuple[int, dict[str, str], str]) -> tuple[int, str]:
    return answer[0], json.loads(answer[2])["error"]["code"]


# GET /admin/subscribers/{phoneNumber} ----------------------------------------------------


def test_show_gives_the_proof_of_consent(deployed):
    arrange(deployed, "CONFIRMED")
    status, proof = document(call("GET", "/admin/subscribers/{phoneNumber}"))
    assert status == 200
    assert (proof["phoneNumber"], proof["status"], proof["firstName"]) == (
        NUMBER,
        "CONFIRMED",
        "Carlos",
    )
    texts = deployed.rules.texts
    assert proof["disclosures"] == {texts.disclosure_version: texts.disclosure}
    assert [e["type"] for e in proof["consentEvents"]][:2] == ["REGISTERED", "CONFIRMATION_SENT"]


def test_show_refuses_what_is_not_a_number_and_answers_404_for_an_unknown_one(deployed):
    assert code(call("GET", "/admin/subscribers/{phoneNumber}", number="12")) == (
        400,
        "INVALID_PHONE_NUMBER",
    )
    assert code(call("GET", "/admin/subscribers/{phoneNumber}")) == (404, "NOT_FOUND")


# GET /admin/subscribers, /admin/segments -------------------------------------------------


def pending_and_confirmed(ports: Ports, confirmed_source: str) -> None:
    """NUMBER pending (from /a), +14165550142 confirmed (from ``confirmed_source``)."""
    register(ports, source="/a")
    register(ports, "+14165550142", source=confirmed_source)
    reply(ports, "YES", number="+14165550142")


def test_list_filters_and_pages(deployed):
    pending_and_confirmed(deployed, "/a")
    status, page = document(call("GET", "/admin/subscribers", {"status": "CONFIRMED"}))
    assert status == 200
    assert [s["phoneNumber"] for s in page["subscribers"]] == ["+14165550142"]
    assert page["nextCursor"] is None
    first = document(call("GET", "/admin/subscribers", {"limit": "1"}))[1]
    second = document(
        call("GET", "/admin/subscribers", {"limit": "1", "cursor": first["nextCursor"]})
    )[1]
    both = {first["subscribers"][0]["phoneNumber"], second["subscribers"][0]["phoneNumber"]}
    assert both == {NUMBER, "+14165550142"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "SUBSCRIBED"}, "BAD_REQUEST"),
        ({"limit": "0"}, "BAD_REQUEST"),
        ({"limit": "501"}, "BAD_REQUEST"),
        # Digits to str.isdigit, not to int(): a 400, not a 500 (found by the API fuzzer).
        ({"limit": "\u00b9"}, "BAD_REQUEST"),
        ({"limit": "\u0663"}, "BAD_REQUEST"),
        ({"country": "USA"}, "BAD_REQUEST"),
        ({"cursor": "not-ours"}, "INVALID_CURSOR"),
    ],
)
def test_list_refuses_bad_parameters(deployed, query, expected):
    assert code(call("GET", "/admin/subscribers", query)) == (400, expected)


def test_segments_by_each_dimension(deployed):
    pending_and_confirmed(deployed, "/b")
    status, counts = document(call("GET", "/admin/segments", {"by": "source"}))
    assert status == 200
    assert counts == {
        "by": "source",
        "counts": {
            "/a": {"PENDING": 1, "CONFIRMED": 0, "OPTED_OUT": 0, "EXPIRED": 0},
            "/b": {"PENDING": 0, "CONFIRMED": 1, "OPTED_OUT": 0, "EXPIRED": 0},
        },
    }
    assert document(call("GET", "/admin/segments"))[1]["by"] == "status"
    assert code(call("GET", "/admin/segments", {"by": "carrier"})) == (400, "BAD_REQUEST")


# GET /admin/export -----------------------------------------------------------------------


def export_all(query: dict[str, str]) -> tuple[list[str], list[dict[str, str]]]:
    bodies, headers = [], []
    query = dict(query)
    while True:
        status, answer_headers, body = call("GET", "/admin/export", query)
        assert status == 200, body
        bodies.append(body)
        headers.append(answer_headers)
        cursor = answer_headers.get("X-Next-Cursor")
        if not cursor:
            return bodies, headers
        query["cursor"] = cursor


def test_export_jsonl_pages_hold_every_event_once(deployed):
    arrange(deployed, "CONFIRMED")
    register(deployed, "+14165550142")
    events = len(deployed.store.events(NUMBER)) + len(deployed.store.events("+14165550142"))
    bodies, headers = export_all({"format": "jsonl", "limit": "3"})
    rows = [json.loads(line) for body in bodies for line in body.splitlines()]
    assert len(rows) == events
    assert {row["phoneNumber"] for row in rows} == {NUMBER, "+14165550142"}
    assert set(rows[0]) == {"phoneNumber", "numberHash", "type", "at", "source", "details"}
    assert headers[0]["Content-Type"] == "application/x-ndjson"
    assert headers[-1]["X-Export-Progress"] == "1.000"
    assert all(float(h["X-Export-Progress"]) < 1 for h in headers[:-1])


def test_export_csv_through_the_csv_module_with_one_header(deployed):
    arrange(deployed, "CONFIRMED")
    reply(deployed, 'a "quoted", multi\nline reply')
    bodies, headers = export_all({"format": "csv", "limit": "2"})
    assert headers[0]["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO("".join(bodies))))
    assert len(rows) == len(deployed.store.events(NUMBER))
    assert list(rows[0]) == list(admin.CSV_COLUMNS)
    inbound = [json.loads(r["details"]) for r in rows if r["type"] == "INBOUND"]
    assert 'a "quoted", multi\nline reply' in [d["body"] for d in inbound]


def test_an_export_page_stays_under_its_byte_budget(deployed):
    register(deployed)
    for index in range(300):
        reply(deployed, f"{index:04d} " + "é" * 1990)  # about 4 KB a line: 1 MB is 250
    status, headers, body = call("GET", "/admin/export", {"format": "jsonl", "limit": "5000"})
    assert status == 200
    assert len(body.encode()) <= admin.MAX_EXPORT_BYTES
    assert headers["X-Next-Cursor"]
    bodies, _ = export_all({"format": "jsonl", "limit": "5000"})
    assert sum(len(b.splitlines()) for b in bodies) == len(deployed.store.events(NUMBER))


def test_export_between_two_times_and_bad_times(deployed):
    register(deployed)
    deployed.clock.advance(hours=2)
    reply(deployed, "YES")
    since = (deployed.clock() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    _, _, body = call("GET", "/admin/export", {"since": since})
    assert {json.loads(line)["type"] for line in body.splitlines()} == {
        "INBOUND",
        "CONFIRMED",
        "WELCOME_SENT",
    }
    assert code(call("GET", "/admin/export", {"since": "yesterday"})) == (400, "BAD_REQUEST")
    assert code(call("GET", "/admin/export", {"format": "xml"})) == (400, "BAD_REQUEST")


# POST /admin/subscribers/{phoneNumber}/opt-out -------------------------------------------


def test_opt_out_puts_the_number_on_the_list_and_records_the_caller(deployed, sms):
    arrange(deployed, "CONFIRMED")
    sms.add_response(
        "put_opted_out_number",
        {"OptOutListArn": "arn:list", "OptOutListName": OPT_OUT_LIST},
        {"OptOutListName": OPT_OUT_LIST, "OptedOutNumber": NUMBER},
    )
    answer = document(
        call("POST", "/admin/subscribers/{phoneNumber}/opt-out", body={"reason": "by e-mail"})
    )
    assert answer == (200, {"phoneNumber": NUMBER, "status": "OPTED_OUT"})
    assert deployed.store.get(NUMBER).status is Status.OPTED_OUT
    last = deployed.store.events(NUMBER)[-1]
    assert last.type is EventType.REMOVED_BY_OPERATOR
    assert (last.details["operator"], last.details["reason"]) == (OPERATOR, "by e-mail")


def test_opt_out_needs_a_reason_and_a_subscriber(deployed):
    path = "/admin/subscribers/{phoneNumber}/opt-out"
    assert code(call("POST", path, body={})) == (400, "MISSING_REASON")
    assert code(call("POST", path, body="not json")) == (400, "INVALID_JSON")
    assert code(call("POST", path, body={"reason": "x"})) == (404, "NOT_FOUND")


def test_opt_out_when_the_list_fails_changes_nothing(deployed, sms):
    arrange(deployed, "CONFIRMED")
    sms.add_client_error("put_opted_out_number", service_error_code="ThrottlingException")
    answer = call("POST", "/admin/subscribers/{phoneNumber}/opt-out", body={"reason": "x"})
    assert code(answer) == (503, "UNAVAILABLE")
    assert deployed.store.get(NUMBER).status is Status.CONFIRMED


def test_acting_without_a_caller_identity_is_refused(deployed):
    arrange(deployed, "CONFIRMED")
    answer = call("DELETE", "/admin/subscribers/{phoneNumber}", caller=None)
    assert code(answer) == (403, "FORBIDDEN")
    assert deployed.store.get(NUMBER) is not None


# DELETE /admin/subscribers/{phoneNumber} -------------------------------------------------


def test_erasure_leaves_nothing_personal_and_keeps_the_opt_out(deployed, sms, dynamodb):
    arrange(deployed, "CONFIRMED")
    reply(deployed, "thanks, Carlos here")
    sms.add_response(
        "put_opted_out_number",
        {"OptOutListArn": "arn:list"},
        {"OptOutListName": OPT_OUT_LIST, "OptedOutNumber": NUMBER},
    )
    answer = document(call("DELETE", "/admin/subscribers/{phoneNumber}"))
    assert answer == (200, {"phoneNumber": NUMBER, "erased": True, "keptStatus": "OPTED_OUT"})
    everything = json.dumps(scan(dynamodb))
    for word in ("Carlos", "Salazar", "203.0.113.9", "pytest", "thanks", NUMBER):
        assert word not in everything, word
    assert deployed.store.erased_number(NUMBER).status is Status.OPTED_OUT
    assert code(call("GET", "/admin/subscribers/{phoneNumber}")) == (404, "NOT_FOUND")
    _, _, body = call("GET", "/admin/export")
    erased = [json.loads(line) for line in body.splitlines()][-1]
    assert erased["type"] == "ERASED"
    assert erased["details"]["requestedBy"] == OPERATOR
    assert code(call("DELETE", "/admin/subscribers/{phoneNumber}")) == (404, "NOT_FOUND")


def test_the_key_is_read_once_per_container(deployed, secrets):
    for number in ("+12065550142", "+14165550142"):
        register(deployed, number)  # a registration of a new number looks for an erasure
        call("DELETE", "/admin/subscribers/{phoneNumber}", number=number)
    assert secrets.calls.count("get_secret_value") == 1


def test_no_log_record_carries_the_number_even_at_debug(deployed, caplog):
    arrange(deployed, "CONFIRMED")
    caplog.set_level(logging.DEBUG)
    call("GET", "/admin/subscribers/{phoneNumber}")
    call("GET", "/admin/subscribers/{phoneNumber}", number="+1206555014")  # not E.164: 400
    assert caplog.records  # botocore and the resolver do log at DEBUG
    assert "2065550142" not in caplog.text
    assert "206555014" not in caplog.text


def test_an_unknown_route_is_a_404_in_the_same_shape(deployed):
    assert code(call("GET", "/admin/nothing-here")) == (404, "NOT_FOUND")


def test_the_function_builds_its_adapters_from_its_environment(
    dynamodb, secret, monkeypatch, log_lines
):
    """runtime.from_environment, as on Lambda: the key comes from the secret it names."""
    for name, value in {**BASE_ENV, "ERASURE_KEY_SECRET_ARN": secret}.items():
        monkeypatch.setenv(name, value)
    runtime.install(None)
    try:
        current = runtime.current()
        # End User Messaging is not called by the operator API: the seeding sends nothing.
        seeding = fake_ports(current.ports.rules, Clock(), current.ports.store)
        register(seeding)
        assert document(call("GET", "/admin/subscribers/{phoneNumber}"))[0] == 200
        answer = document(call("DELETE", "/admin/subscribers/{phoneNumber}"))
        assert answer[1]["keptStatus"] == "PENDING"
        assert current.ports.store.erased_number(NUMBER).status is Status.PENDING
    finally:
        runtime.install(None)
    lines = "\n".join(log_lines())
    assert "operator request" in lines
    assert NUMBER not in lines
    assert "%2B12065550142" not in lines
    assert "Carlos" not in lines


# The housekeeping function ---------------------------------------------------------------


def test_housekeeping_expires_then_erases_on_the_schedule(deployed, dynamodb):
    register(deployed)
    deployed.clock.advance(hours=25)
    first = housekeeping.handler({"detail-type": "Scheduled Event"}, LambdaContext())
    assert first == {"expired": 1, "erased": 0, "countersComplete": True, "complete": True}
    assert deployed.store.get(NUMBER).status is Status.EXPIRED
    deployed.clock.advance(days=31)
    second = housekeeping.handler({"detail-type": "Scheduled Event"}, LambdaContext())
    assert (second["expired"], second["erased"]) == (0, 1)
    assert "Carlos" not in json.dumps(scan(dynamodb))
    assert deployed.store.erased_number(NUMBER).status is Status.EXPIRED


def test_housekeeping_stops_when_its_time_runs_short(deployed):
    register(deployed)
    deployed.clock.advance(hours=25)

    class Late(LambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return housekeeping.RESERVE_MILLISECONDS - 1

    result = housekeeping.handler({}, Late())
    assert (result["expired"], result["complete"]) == (0, False)
    assert deployed.store.get(NUMBER).status is Status.PENDING
