"""What reaches the registration handler besides a well-formed REST event: other fronts
(HTTP API, function URL, load balancer; events built in ``local.events`` from the payload
formats AWS documents), odd bodies, failing dependencies. DynamoDB on moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.events import LambdaContext, alb_event, api_gateway_event, http_api_event
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.domain.model import EventSource
from optin.handlers import registration
from optin.handlers.http import UNAVAILABLE_MESSAGE

NUMBER = "+12065550142"
FORM = {
    "phoneNumber": NUMBER,
    "firstName": "Carlos",
    "lastName": "Salazar",
    "source": "/signup",
    "consent": True,
}
ORIGIN = "https://form.example.com"
CLIENT_IP = "198.51.100.7"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
CLIENT = {"headers": {"Origin": ORIGIN, "User-Agent": USER_AGENT}, "source_ip": CLIENT_IP}


def rest_event(body: str) -> dict:
    return api_gateway_event(
        body,
        headers={"Content-Type": "application/json", "Origin": ORIGIN, "User-Agent": USER_AGENT},
        source_ip=CLIENT_IP,
    )


FRONTS = {
    "rest": rest_event,
    "http api": lambda body: http_api_event(body, **CLIENT),
    "function url": lambda body: http_api_event(body, function_url=True, **CLIENT),
    "function url, base64": lambda body: http_api_event(
        body, function_url=True, base64_body=True, **CLIENT
    ),
    "alb": lambda body: alb_event(body, **CLIENT),
    "alb, multi-value headers": lambda body: alb_event(body, multi_value=True, **CLIENT),
}


def invoke(event: dict) -> dict:
    return registration.handler(event, LambdaContext())


@pytest.mark.parametrize("front", FRONTS)
def test_every_front_is_read_alike_and_records_the_client(moto_ports, front):
    answer = invoke(FRONTS[front](json.dumps(FORM)))
    headers = answer.get("headers") or {k: v[-1] for k, v in answer["multiValueHeaders"].items()}
    assert answer["statusCode"] == 202
    assert json.loads(answer["body"])["status"] == "accepted"
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    registered = moto_ports.store.events(NUMBER)[0]
    assert (registered.details["ip"], registered.details["userAgent"]) == (CLIENT_IP, USER_AGENT)
    assert len(moto_ports.sender.sent) == 1


@pytest.mark.parametrize("front", ["rest", "http api", "function url"])
def test_api_gateway_and_function_urls_get_the_proxy_response_unchanged(moto_ports, front):
    answer = invoke(FRONTS[front](json.dumps(FORM)))
    assert set(answer) == {"statusCode", "headers", "body"}


def test_a_load_balancer_gets_its_status_line_and_base64_flag(moto_ports):
    answer = invoke(alb_event(json.dumps(FORM), **CLIENT))
    assert (answer["statusDescription"], answer["isBase64Encoded"]) == ("202 Accepted", False)
    assert answer["headers"]["Content-Type"] == "application/json"
    refused = invoke(alb_event("{oops", **CLIENT))
    assert (refused["statusCode"], refused["statusDescription"]) == (400, "400 Bad Request")


def test_a_load_balancer_with_multi_value_headers_gets_lists_back(moto_ports):
    answer = invoke(alb_event(json.dumps(FORM), multi_value=True, **CLIENT))
    assert answer["statusCode"] == 202
    assert "headers" not in answer
    assert answer["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert answer["multiValueHeaders"]["Cache-Control"] == ["no-store"]


@pytest.mark.parametrize("front", ["http api", "alb, multi-value headers"])
def test_other_fronts_still_refuse_what_rest_refuses(moto_ports, front):
    event = FRONTS[front](json.dumps(FORM))
    key = "multiValueHeaders" if "multiValueHeaders" in event else "headers"
    event[key]["content-type"] = ["text/plain"] if key == "multiValueHeaders" else "text/plain"
    answer = invoke(event)
    assert answer["statusCode"] == 415
    assert moto_ports.store.get(NUMBER) is None


# Bodies ----------------------------------------------------------------------------------


def post(body: Any) -> tuple[int, dict]:
    event = rest_event("")
    event["body"] = body
    answer = invoke(event)
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.parametrize("body", [dict(FORM), [FORM], 42, True])
def test_a_body_that_is_not_a_string_is_a_400_and_changes_nothing(moto_ports, body):
    status, answer = post(body)
    assert (status, answer["error"]["code"]) == (400, "INVALID_JSON")
    assert moto_ports.store.get(NUMBER) is None
    assert moto_ports.sender.sent == []


def test_a_body_starting_with_a_byte_order_mark_is_accepted(moto_ports):
    status, _ = post("\ufeff" + json.dumps(FORM))
    assert status == 202
    assert moto_ports.store.get(NUMBER).first_name == "Carlos"


@pytest.mark.parametrize(
    "body",
    [
        '{"n": ' + "9" * 4000 + "}",
        '{"n": -1e999999}',
        '{"n": ' + "[" * 1500 + "]" * 1500 + "}",
        '{"n": ' + '{"a": ' * 600 + "1" + "}" * 600 + "}",
    ],
)
def test_huge_numbers_and_deep_nesting_are_4xx_never_5xx(moto_ports, body):
    status, answer = post(body)
    assert 400 <= status < 500
    assert answer["error"]["code"]


@pytest.mark.parametrize("name", ["A\ud83d", "\u200b", "\u3164", "\u2800", "\ufeff"])
def test_a_name_with_nothing_to_show_or_a_broken_emoji_is_a_400(moto_ports, name, capsys):
    status, answer = post(json.dumps({**FORM, "firstName": name}))
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (
        400,
        "INVALID_FIELD",
        "firstName",
    )
    assert moto_ports.store.get(NUMBER) is None
    assert "RegistrationFailed" not in capsys.readouterr().out


# The page the person came from, and the ledger's own sources ------------------------------


@pytest.mark.parametrize("page", ["operator", "platform", "sms", "/signup"])
def test_the_ledger_source_is_the_service_s_own_whatever_the_client_sends(moto_ports, page):
    status, _ = post(json.dumps({**FORM, "source": page}))
    assert status == 202
    registered, sent = moto_ports.store.events(NUMBER)
    assert (registered.source, registered.details["page"]) == (EventSource.FORM, page)
    assert sent.source == EventSource.REGISTRATION
    assert moto_ports.store.get(NUMBER).source == page


# A dependency down: 503 with the public message, the detail only in the log ---------------


def test_the_503_body_names_no_internal_detail_and_the_log_does(moto_ports, log_lines):
    def throttled(_number):
        raise DependencyUnavailable(Dependency.TABLE, "DynamoDB unavailable: ThrottlingException")

    moto_ports.store.get = throttled
    status, answer = post(json.dumps(FORM))
    assert (status, answer["error"]) == (
        503,
        {"code": "SMS_UNAVAILABLE", "message": UNAVAILABLE_MESSAGE},
    )
    assert "DynamoDB" not in json.dumps(answer)
    [rejected] = [json.loads(line) for line in log_lines() if "registration rejected" in line]
    assert rejected["detail"] == "DynamoDB unavailable: ThrottlingException"


def test_the_503_of_a_failed_send_names_no_provider(moto_ports):
    moto_ports.sender.failures.append(
        DependencyUnavailable(Dependency.SMS, "SendTextMessage failed: ThrottlingException")
    )
    status, answer = post(json.dumps(FORM))
    assert (status, answer["error"]["message"]) == (503, UNAVAILABLE_MESSAGE)
    assert "SendTextMessage" not in json.dumps(answer)
