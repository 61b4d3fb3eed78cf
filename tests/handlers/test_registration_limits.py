"""The limits across numbers through the registration handler (DynamoDB on moto): a full
prefix and a spent budget answer exactly as a number's cool-down does; only the log, and
for the budget a metric, tell them apart."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from local.events import LambdaContext, api_gateway_event
from optin.handlers import registration
from optin.observability import Metric
from optin.settings import Settings
from tests.support.fakes import BASE_ENV


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(
        {
            **BASE_ENV,
            "MAX_CONFIRMATIONS_PER_PREFIX_PER_HOUR": "2",
            "DAILY_CONFIRMATION_BUDGET": "3",
        }
    )


def post(number: str) -> dict[str, Any]:
    form = {"phoneNumber": number, "firstName": "Ada", "lastName": "Lovelace", "consent": True}
    headers = {"Content-Type": "application/json", "Origin": "https://form.example.com"}
    return registration.handler(
        api_gateway_event(json.dumps(form), headers=headers), LambdaContext()
    )


def without_retry_after(response: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in response["headers"].items() if k != "Retry-After"}
    return {**response, "headers": headers}


def metric_names(output: str) -> list[str]:
    return [
        definition["Name"]
        for line in output.splitlines()
        if line.startswith("{") and "_aws" in line
        for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]
        for definition in directive["Metrics"]
    ]


def rejections(lines: list[str]) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return [record for record in records if record.get("message") == "registration rejected"]


def test_a_full_prefix_answers_as_the_cool_down_does_and_stores_nothing(
    moto_ports, clock, log_lines
):
    assert post("+12065550100")["statusCode"] == 202
    assert post("+12065550101")["statusCode"] == 202
    cooldown = post("+12065550100")
    full = post("+12065550142")
    assert cooldown["statusCode"] == full["statusCode"] == 429
    assert without_retry_after(full) == without_retry_after(cooldown)
    assert cooldown["headers"]["Retry-After"] == "60"  # the rest of the cool-down
    next_hour = clock.now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert full["headers"]["Retry-After"] == str(int((next_hour - clock.now).total_seconds()))
    assert moto_ports.store.get("+12065550142") is None
    assert moto_ports.store.events("+12065550142") == []
    assert [sent[0] for sent in moto_ports.sender.sent] == ["+12065550100", "+12065550101"]
    refused = rejections(log_lines())
    assert [record.get("limit") for record in refused] == [None, "maxConfirmationsPerPrefixPerHour"]


def test_a_spent_budget_answers_as_any_429_until_midnight_and_is_counted(
    moto_ports, clock, capsys, log_lines
):
    for number in ("+12065550100", "+14155550100", "+12125550100"):
        assert post(number)["statusCode"] == 202
    cooldown = post("+12065550100")
    spent = post("+13035550100")
    assert without_retry_after(spent) == without_retry_after(cooldown)
    midnight = clock.now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert spent["headers"]["Retry-After"] == str(int((midnight - clock.now).total_seconds()))
    assert moto_ports.store.get("+13035550100") is None
    names = metric_names(capsys.readouterr().out)
    assert names.count(Metric.CONFIRMATION_BUDGET_EXHAUSTED) == 1
    assert [record.get("limit") for record in rejections(log_lines())] == [
        None,
        "dailyConfirmationBudget",
    ]
