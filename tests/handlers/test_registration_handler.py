"""POST /register through real API Gateway proxy events, on the DynamoDB adapter (moto)."""

from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest
from botocore.stub import ANY, Stubber

from local.events import LambdaContext, api_gateway_event
from optin import runtime
from optin.adapters.sms import EndUserMessagingSender
from optin.domain import errors
from optin.domain.errors import Dependency, DependencyUnavailable, SendThrottled
from optin.domain.subscribers.phone import NumberFacts
from optin.handlers import registration
from tests.support.errors import UNAVAILABLE, status_and_code
from tests.support.fakes import drain
from tests.support.lifecycle import cooldown_seconds, past_cooldown, reply

FORM = {
    "phoneNumber": "+12065550142",
    "firstName": "Carlos",
    "lastName": "Salazar",
    "source": "/signup",
    "consent": True,
}
SEED_TEST_EVENT = {
    "destinationNumber": "2065550142",
    "firstName": "Carlos",
    "lastName": "Salazar",
    "source": "Registration form test",
}


def post(body, **kwargs):
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    result = registration.handler(api_gateway_event(text, **kwargs), LambdaContext())
    return result["statusCode"], result["headers"], json.loads(result["body"])


def test_new_registration_is_accepted_and_sends_one_confirmation(moto_ports):
    status, headers, body = post(FORM)
    assert status == 202
    assert body["status"] == "accepted"
    assert "Check your phone" in body["message"]
    assert headers["Content-Type"] == "application/json"
    [(number, text, kind, correlation)] = moto_ports.sender.sent
    assert (number, kind) == ("+12065550142", "confirmation")
    assert "Reply YES to confirm" in text
    assert correlation  # the API Gateway request id
    assert "Carlos" not in text
    assert "Salazar" not in text
    subscriber = moto_ports.store.get("+12065550142")
    assert (subscriber.status.value, subscriber.first_name) == ("PENDING", "Carlos")


def test_same_body_whatever_the_state(moto_ports):
    bodies = []
    for answer in (None, "YES", "STOP"):
        if answer:
            reply(moto_ports, answer)
        past_cooldown(moto_ports)
        status, _, body = post(FORM)
        assert status == 202
        bodies.append(body)
    assert bodies[0] == bodies[1] == bodies[2]


def test_seed_test_event_sends_exactly_one_confirmation_through_end_user_messaging(moto_ports):
    settings = runtime.current().settings
    client = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")
    moto_ports.sender = EndUserMessagingSender(settings, client, send_client=client)
    with Stubber(client) as stub:
        stub.add_response(
            "send_text_message",
            {"MessageId": "seed-1"},
            {
                "DestinationPhoneNumber": "+12065550142",
                "OriginationIdentity": settings.origination_identity,
                "MessageBody": settings.texts.render("confirmation"),
                "MessageType": "TRANSACTIONAL",
                "TimeToLive": 14400,
                "Context": {"key": ANY, "kind": "confirmation"},
                "ConfigurationSetName": settings.configuration_set_name,
                "ProtectConfigurationId": settings.protect_configuration_id,
            },
        )
        # The seed's form had no consent checkbox: its event is accepted when the
        # deployment does not require one.
        moto_ports.rules = replace(settings, require_consent_checkbox=False).rules
        status, _, _ = post(SEED_TEST_EVENT, request_id="req-seed")
        stub.assert_no_pending_responses()
    assert status == 202
    events = moto_ports.store.events("+12065550142")
    assert events[-1].details["messageId"] == "seed-1"
    assert events[-1].details["correlationId"] == "req-seed"
    assert events[0].details["messageKey"] == events[-1].details["messageKey"]


@pytest.mark.parametrize(
    ("body", "kwargs", "error"),
    [
        ("{oops", {}, errors.InvalidJson),
        ({**FORM, "firstName": ""}, {}, errors.MissingField),
        ({**FORM, "firstName": "a\tb"}, {}, errors.InvalidField),
        ({**FORM, "phoneNumber": "123"}, {}, errors.InvalidPhoneNumber),
        ({**FORM, "consent": False}, {}, errors.ConsentRequired),
        ({**FORM, "phoneNumber": "+447911123456"}, {}, errors.UnsupportedCountry),
        ({**FORM, "source": "x" * 4100}, {}, errors.PayloadTooLarge),
        (FORM, {"headers": {"Content-Type": "text/plain"}}, errors.UnsupportedMediaType),
    ],
)
def test_errors_change_nothing(moto_ports, body, kwargs, error):
    got_status, _, got = post(body, **kwargs)
    assert (got_status, got["error"]["code"]) == status_and_code(error)
    assert got["error"]["message"]
    assert moto_ports.store.get("+12065550142") is None
    assert moto_ports.sender.sent == []


def test_landline_is_not_a_mobile_number(moto_ports):
    moto_ports.lookup.facts["+12065550142"] = NumberFacts(number_type="LANDLINE")
    status, _, body = post(FORM)
    assert (status, body["error"]["code"]) == status_and_code(errors.NotAMobileNumber)
    assert body["error"]["field"] == "phoneNumber"
    assert moto_ports.store.get("+12065550142") is None


def test_too_many_requests_has_retry_after(moto_ports, clock):
    cooldown = cooldown_seconds(moto_ports)
    post(FORM)
    clock.advance(seconds=cooldown // 3)
    status, headers, body = post(FORM)
    assert (status, body["error"]["code"]) == status_and_code(errors.TooManyRequests)
    assert headers["Retry-After"] == str(cooldown - cooldown // 3)
    assert len(moto_ports.sender.sent) == 1


def test_queue_unavailable_is_503_and_retry_is_safe(moto_ports):
    moto_ports.queue.failures.append(
        DependencyUnavailable(Dependency.QUEUE, "SQS send_message failed: ThrottlingException")
    )
    status, _, body = post(FORM)
    assert (status, body["error"]["code"]) == UNAVAILABLE
    status, _, _ = post(FORM)
    assert status == 202
    assert [kind for _, _, kind, _ in moto_ports.sender.sent] == ["confirmation"]


def test_a_throttled_sms_provider_is_absorbed_never_a_503(moto_ports):
    moto_ports.sender.failures.append(SendThrottled("SendTextMessage failed: ThrottlingException"))
    status, _, _ = post(FORM)
    assert status == 202
    assert moto_ports.sender.sent == []  # it waits in the queue...
    drain(moto_ports)
    assert [kind for _, _, kind, _ in moto_ports.sender.sent] == ["confirmation"]  # ...then leaves


def test_cors_only_for_configured_origins(moto_ports):
    _, allowed, _ = post(
        FORM, headers={"Content-Type": "application/json", "Origin": "https://form.example.com"}
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://form.example.com"
    assert allowed["Access-Control-Expose-Headers"] == "Retry-After"
    _, refused, _ = post(
        FORM, headers={"Content-Type": "application/json", "Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in refused


def test_request_evidence_is_recorded_not_client_time(moto_ports):
    post(
        {**FORM, "optTimestamp": "Tue Feb 19 2019 09:00:00"},
        headers={"Content-Type": "application/json", "User-Agent": "Mozilla/5.0 test"},
        source_ip="198.51.100.7",
    )
    [registered, _sent] = moto_ports.store.events("+12065550142")
    assert registered.details["ip"] == "198.51.100.7"
    assert registered.details["userAgent"] == "Mozilla/5.0 test"
    assert "2019" not in json.dumps(registered.details)
    assert registered.at == moto_ports.clock()


def test_a_bug_is_a_logged_500_in_the_error_shape(moto_ports, log_lines):
    def broken(_number):
        raise RuntimeError("bug while reading +12065550142")

    moto_ports.store.get = broken
    status, headers, body = post(
        FORM, headers={"Content-Type": "application/json", "Origin": "https://form.example.com"}
    )
    assert (status, body["error"]["code"]) == (500, registration.INTERNAL_ERROR["code"])
    assert headers["Access-Control-Allow-Origin"] == "https://form.example.com"
    logs = "\n".join(log_lines())
    assert "registration failed unexpectedly" in logs
    assert "+12065550142" not in logs
    assert moto_ports.sender.sent == []


def emitted(output: str) -> list[tuple[str, dict[str, str]]]:
    """Every metric in the embedded-metric-format lines of ``output``, with its dimensions."""
    found = []
    for line in output.splitlines():
        if not (line.startswith("{") and "_aws" in line):
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: blob[name] for names in directive["Dimensions"] for name in names}
            found.extend((metric["Name"], dimensions) for metric in directive["Metrics"])
    return found


def test_table_throttled_is_503_and_names_the_table_not_the_sms_provider(
    moto_ports, capsys, log_lines
):
    def throttled(phone_number):
        raise DependencyUnavailable(Dependency.TABLE, "DynamoDB unavailable: ThrottlingException")

    moto_ports.store.get = throttled
    status, _, body = post(FORM)
    assert (status, body["error"]["code"]) == UNAVAILABLE
    metrics = emitted(capsys.readouterr().out)
    names = [name for name, _ in metrics]
    assert "SmsSendFailed" not in names
    assert any(
        name == "DependencyUnavailable" and dims.get("dependency") == "table"
        for name, dims in metrics
    )
    [rejected] = [json.loads(line) for line in log_lines() if "registration rejected" in line]
    assert rejected["dependency"] == "table"


def test_lookup_failure_is_503_and_names_the_number_lookup(moto_ports, capsys):
    moto_ports.lookup.fail = True
    status, _, body = post(FORM)
    assert (status, body["error"]["code"]) == UNAVAILABLE
    metrics = emitted(capsys.readouterr().out)
    assert "SmsSendFailed" not in [name for name, _ in metrics]
    assert any(
        name == "DependencyUnavailable" and dims.get("dependency") == "number_lookup"
        for name, dims in metrics
    )


def test_a_queue_failure_counts_the_queue_as_unavailable(moto_ports, capsys):
    moto_ports.queue.failures.append(DependencyUnavailable(Dependency.QUEUE, "throttled"))
    status, _, _ = post(FORM)
    assert status == 503
    metrics = emitted(capsys.readouterr().out)
    assert "SmsSendFailed" not in [name for name, _ in metrics]  # the sender counts those
    assert any(
        name == "DependencyUnavailable" and dims.get("dependency") == "queue"
        for name, dims in metrics
    )


def test_an_accepted_registration_counts_a_queued_message(moto_ports, capsys):
    assert post(FORM)[0] == 202
    names = [name for name, _ in emitted(capsys.readouterr().out)]
    assert "MessagesQueued" in names
    assert "ConfirmationSent" not in names  # the sender counts it when it leaves


def test_a_bug_is_logged_once_with_its_traceback_and_counted(moto_ports, log_lines, capsys):
    def broken(_number):
        raise RuntimeError("bug while reading")

    moto_ports.store.get = broken
    status, _, _ = post(FORM)
    assert status == 500
    [line] = log_lines()
    record = json.loads(line)
    assert (record["message"], record["level"]) == ("registration failed unexpectedly", "ERROR")
    assert "RuntimeError" in record["exception"]
    assert "RegistrationFailed" in [name for name, _ in emitted(capsys.readouterr().out)]
