"""Structured logs with a correlation id; numbers masked, names never."""

from __future__ import annotations

import json

import pytest

from local.events import LambdaContext, api_gateway_event, sns_event, two_way_message
from optin.domain.errors import Dependency, DependencyUnavailable
from optin.handlers import inbound, registration

NUMBERS = ["+12065550142", "+14165550199"]
NAMES = ["Zebulon", "Quixote"]


def register(number: str, request_id: str, origin: str = "https://form.example.com") -> int:
    body = {"phoneNumber": number, "firstName": NAMES[0], "lastName": NAMES[1], "consent": True}
    event = api_gateway_event(
        json.dumps(body),
        headers={"Content-Type": "application/json", "Origin": origin},
        request_id=request_id,
    )
    return registration.handler(event, LambdaContext())["statusCode"]


def reply(number: str, body: str) -> None:
    inbound.handler(sns_event(two_way_message(number, body)), LambdaContext())


def test_whole_lifecycle_logs_no_number_and_no_name(moto_ports, clock, log_lines):
    # Given every path a number can take, including failures
    moto_ports.sender.failures.append(
        DependencyUnavailable(Dependency.SMS, "SendTextMessage failed: ThrottlingException")
    )
    assert register(NUMBERS[0], "req-1") == 503
    assert register(NUMBERS[0], "req-2") == 202
    assert register(NUMBERS[0], "req-3") == 429
    reply(NUMBERS[0], "yes")
    reply(NUMBERS[0], "HELP")
    reply(NUMBERS[0], "STOP")
    clock.advance(seconds=61)  # the cool-down counts attempts in every state
    assert register(NUMBERS[0], "req-4") == 202
    reply(NUMBERS[0], "YES")
    assert register(NUMBERS[1], "req-5") == 202
    clock.advance(hours=30)
    reply(NUMBERS[1], "YES")
    reply("+13605550111", "who is this?")
    inbound.handler(
        {"Records": [{"Sns": {"Message": '{"originationNumber": "+13605550111"}'}}]},
        LambdaContext(),
    )
    lines = log_lines()
    # Then the logs are JSON, carry masked numbers and never a full number or a name
    assert len(lines) >= 12
    records = [json.loads(line) for line in lines]
    text = "\n".join(lines)
    for secret in [*NUMBERS, "+13605550111", *NAMES]:
        assert secret not in text
    assert "+1******0142" in text
    accepted = [r for r in records if r["message"] == "registration accepted"]
    assert {r["correlation_id"] for r in accepted} >= {"req-2", "req-4", "req-5"}
    confirmed = [r for r in records if r.get("outcome") == "confirmed"]
    assert confirmed[0]["registrationCorrelationId"] == "req-2"


def test_masking_formatter_is_a_safety_net(log_lines):
    from optin.observability import logger

    logger.info("oops %s", "+12065550142", extra={"note": "call +14165550199"})
    [line] = log_lines()
    assert "+12065550142" not in line
    assert "+14165550199" not in line
    assert "+1******0142" in line


def test_xray_sdk_tracer_only_when_switched_on(monkeypatch):
    from optin.observability import traced

    def handler(event, context):
        return {"ok": True}

    monkeypatch.delenv("XRAY_SDK_TRACING", raising=False)
    assert traced(handler) is handler
    monkeypatch.setenv("XRAY_SDK_TRACING", "true")
    wrapped = traced(handler)
    assert wrapped is not handler
    assert wrapped({}, LambdaContext()) == {"ok": True}


def test_xray_sdk_tracing_is_read_with_the_settings_reader(monkeypatch):
    from optin.configuration import SettingError
    from optin.observability import traced

    def handler(event, context):
        return {"ok": True}

    monkeypatch.setenv("XRAY_SDK_TRACING", " TRUE ")
    assert traced(handler) is not handler
    monkeypatch.setenv("XRAY_SDK_TRACING", "false")
    assert traced(handler) is handler
    monkeypatch.setenv("XRAY_SDK_TRACING", "sometimes")
    with pytest.raises(SettingError, match="XRAY_SDK_TRACING"):
        traced(handler)


@pytest.mark.parametrize("count", ["count_rejection", "count_unavailable"])
def test_split_metrics_respect_metrics_disabled(monkeypatch, capsys, count):
    """Quiet local mode: no raw metric JSON on the console, from the split counts either."""
    from optin import observability

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    getattr(observability, count)("SOME_CODE")
    assert "_aws" not in capsys.readouterr().out
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    getattr(observability, count)("SOME_CODE")
    assert '"SOME_CODE"' in capsys.readouterr().out
    observability.metrics.clear_metrics()
