"""The HTTP surface of local mode (docs/local-mode.md), without a browser."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import pytest

from optin.domain import errors
from optin.domain.errors import ErrorCode
from tests.support.errors import status_and_code
from tests.support.local_mode import COOLDOWN_SECONDS, ROOT, LocalMode

pytestmark = pytest.mark.e2e

NewNumber = Callable[[], str]


def test_the_form_is_served_with_the_production_security_headers(local_mode: LocalMode) -> None:
    status, headers, body = local_mode.request("GET", "/")

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert b'<form id="signup"' in body
    for asset in ("/app.js", "/styles.css"):
        assert local_mode.request("GET", asset)[0] == 200


def test_config_json_points_the_form_at_this_server(local_mode: LocalMode) -> None:
    status, config = local_mode.json("GET", "/config.json")

    assert status == 200
    assert config["apiUrl"] == f"{local_mode.base_url}/register"
    assert config["allowedCountries"] == ["US", "CA"]
    assert config["requireConsentCheckbox"] is True
    assert config["disclosureVersion"].startswith("d-")
    for part in ("STOP", "HELP", "rates may apply", config["termsUrl"], config["privacyUrl"]):
        assert part in config["disclosure"]


def test_the_form_names_the_apis_error_codes_only_from_config_json(local_mode: LocalMode) -> None:
    """The form's codes are the service's one definition (ErrorCode), served in config.json;
    web/app.js writes none of them out, so neither side can drift from the other."""
    status, config = local_mode.json("GET", "/config.json")
    assert status == 200
    assert config["errorCodes"] == {code.name: code.value for code in ErrorCode}
    script = (ROOT / "web" / "app.js").read_text()
    named = set(re.findall(r"\bCODE\.([A-Z_]+)", script))
    assert named
    assert named <= set(config["errorCodes"])
    quoted = set(re.findall(r"[\"']([A-Z][A-Z_]+)[\"']", script))
    assert not quoted & {code.value for code in ErrorCode}


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/%2e%2e/pyproject.toml",
        "/..%2fpyproject.toml",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/.git/config",
        "/simulator/../../local/server.py",
        "/simulator/%2e%2e/server.py",
        "/no-such-file.html",
    ],
)
def test_static_files_never_leave_their_folder(local_mode: LocalMode, path: str) -> None:
    status, _, body = local_mode.request("GET", path)

    assert status == 404
    assert b"[project]" not in body
    assert b"import" not in body


def test_register_confirm_by_reply_yes(local_mode: LocalMode, new_number: NewNumber) -> None:
    phone = new_number()

    status, document = local_mode.register(phone)
    assert status == 202
    assert document["status"] == "accepted"
    [confirmation] = local_mode.messages(phone)
    assert confirmation["direction"] == "outbound"
    assert "Reply YES to confirm" in confirmation["body"]
    assert "Ada" not in confirmation["body"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", confirmation["at"])
    assert local_mode.subscriber(phone)["status"] == "PENDING"  # type: ignore[index]

    local_mode.reply(phone, "Yes")

    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "CONFIRMED"
    assert subscriber["optOut"] == "NONE"
    assert subscriber["confirmedAt"]
    assert subscriber["source"] == "/tests"
    assert {"REGISTERED", "CONFIRMATION_SENT", "CONFIRMED"} <= {
        event["type"] for event in subscriber["consentEvents"]
    }
    directions = [(m["direction"], m["body"]) for m in local_mode.messages(phone)]
    assert directions[1] == ("inbound", "Yes")
    assert directions[2][0] == "outbound"
    assert "subscribed" in directions[2][1]


def test_messages_accept_the_plus_encoded_or_not(
    local_mode: LocalMode, pending_number: str
) -> None:
    phone = pending_number

    encoded = local_mode.json("GET", f"/simulator/api/messages?phoneNumber=%2B{phone[1:]}")[1]

    assert encoded["messages"] == local_mode.messages(phone)
    assert len(encoded["messages"]) == 1


def test_unknown_numbers_have_no_subscriber_and_no_messages(
    local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()

    assert local_mode.subscriber(phone) is None
    assert local_mode.messages(phone) == []


def test_a_reply_from_an_unknown_number_creates_no_subscriber(
    local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()

    local_mode.reply(phone, "YES")

    assert local_mode.subscriber(phone) is None
    # Nobody is created; the only answer is where to sign up.
    assert [(m["direction"], m["kind"]) for m in local_mode.messages(phone)] == [
        ("inbound", "reply"),
        ("outbound", "signup"),
    ]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/simulator/api/messages?phoneNumber=12", None),
        ("/simulator/api/subscribers/not-a-number", None),
    ],
)
def test_simulator_api_refuses_malformed_numbers(
    local_mode: LocalMode, path: str, body: None
) -> None:
    assert local_mode.request("GET", path, body)[0] == 400


@pytest.mark.parametrize(
    "document",
    [
        {"originationNumber": "12", "messageBody": "YES"},
        {"originationNumber": "+12015550199", "messageBody": ""},
        {"originationNumber": "+12015550199"},
        ["not", "an", "object"],
    ],
)
def test_inbound_refuses_malformed_messages(local_mode: LocalMode, document: object) -> None:
    status, _, _ = local_mode.request(
        "POST", "/simulator/api/inbound", json.dumps(document), {"Content-Type": "application/json"}
    )

    assert status == 400


def test_help_gets_the_platform_reply_and_changes_nothing(
    local_mode: LocalMode, pending_number: str
) -> None:
    phone = pending_number

    local_mode.reply(phone, "HELP")

    messages = local_mode.messages(phone)
    assert [m["direction"] for m in messages] == ["outbound", "inbound", "outbound"]
    assert "help at" in messages[2]["body"]
    assert local_mode.subscriber(phone)["status"] == "PENDING"  # type: ignore[index]


def test_stop_then_register_again_then_yes_resubscribes(
    local_mode: LocalMode, confirmed_number: str
) -> None:
    phone = confirmed_number

    local_mode.reply(phone, "STOP")
    assert local_mode.subscriber(phone)["status"] == "OPTED_OUT"  # type: ignore[index]
    stop_reply = local_mode.messages(phone)[-1]
    assert stop_reply["direction"] == "outbound"
    assert "unsubscribed" in stop_reply["body"]

    before = len(local_mode.messages(phone))
    time.sleep(COOLDOWN_SECONDS)  # a registration inside the cool-down is 429 in every state
    status, document = local_mode.register(phone)
    assert status == 202
    assert "text YES" in document["message"]
    assert len(local_mode.messages(phone)) == before  # the platform cannot text an opted-out number
    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "OPTED_OUT"
    assert "RESUBSCRIBE_REQUESTED" in {event["type"] for event in subscriber["consentEvents"]}

    local_mode.reply(phone, "yes")

    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "CONFIRMED"
    assert subscriber["optedOutAt"] is None
    assert "subscribed" in local_mode.messages(phone)[-1]["body"]


def test_a_second_registration_inside_the_cool_down_is_429_with_retry_after(
    local_mode: LocalMode, pending_number: str
) -> None:
    phone = pending_number

    status, headers, body = local_mode.request(
        "POST",
        "/register",
        {"firstName": "A", "lastName": "B", "phoneNumber": phone, "consent": True},
    )

    assert (status, json.loads(body)["error"]["code"]) == status_and_code(errors.TooManyRequests)
    assert int(headers["Retry-After"]) > 0
    assert len(local_mode.messages(phone)) == 1


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        ("{not json", {"Content-Type": "application/json"}, status_and_code(errors.InvalidJson)),
        ("firstName=A", {"Content-Type": "application/x-www-form-urlencoded"},
         status_and_code(errors.UnsupportedMediaType)),
        ({"lastName": "B", "phoneNumber": "+12015550150", "consent": True}, {},
         status_and_code(errors.MissingField)),
        ({"firstName": "A\u0007", "lastName": "B", "phoneNumber": "+12015550151",
          "consent": True}, {}, status_and_code(errors.InvalidField)),
        ({"firstName": "A", "lastName": "B", "phoneNumber": "12345", "consent": True}, {},
         status_and_code(errors.InvalidPhoneNumber)),
        ({"firstName": "A", "lastName": "B", "phoneNumber": "+12015550152"}, {},
         status_and_code(errors.ConsentRequired)),
        ({"firstName": "A", "lastName": "B", "phoneNumber": "+442079460000", "consent": True},
         {}, status_and_code(errors.UnsupportedCountry)),
        ({"firstName": "A", "lastName": "B", "phoneNumber": "+12015550000", "consent": True},
         {}, status_and_code(errors.NotAMobileNumber)),
        ({"firstName": "A" * 5000, "lastName": "B", "phoneNumber": "+12015550153",
          "consent": True}, {}, status_and_code(errors.PayloadTooLarge)),
    ],
)  # fmt: skip
def test_register_errors_have_the_api_shape(
    local_mode: LocalMode, body: object, headers: dict[str, str], expected: tuple[int, str]
) -> None:
    if isinstance(body, dict):
        body = json.dumps(body)
        headers = {"Content-Type": "application/json"}
    assert isinstance(body, str)

    got_status, _, content = local_mode.request("POST", "/register", body, headers)

    assert (got_status, json.loads(content)["error"]["code"]) == expected
    for number in ("+12015550150", "+12015550151", "+12015550152", "+12015550153"):
        assert local_mode.messages(number) == []


def test_cors_allows_only_the_form_origin(local_mode: LocalMode, new_number: NewNumber) -> None:
    document = {"firstName": "A", "lastName": "B", "phoneNumber": new_number(), "consent": True}

    _, own, _ = local_mode.request("POST", "/register", document, {"Origin": local_mode.base_url})
    _, other, _ = local_mode.request(
        "POST", "/register", {**document, "phoneNumber": new_number()},
        {"Origin": "https://evil.example"},
    )  # fmt: skip

    assert own.get("Access-Control-Allow-Origin") == local_mode.base_url
    assert "Access-Control-Allow-Origin" not in other


def test_wrong_methods_are_refused(local_mode: LocalMode) -> None:
    assert local_mode.request("GET", "/register")[0] == 405
    assert local_mode.request("GET", "/simulator/api/inbound")[0] == 405
    assert local_mode.request("POST", "/simulator/api/messages", b"{}")[0] == 405


def test_the_simulator_page_is_served(local_mode: LocalMode) -> None:
    status, headers, body = local_mode.request("GET", "/simulator")

    assert status == 200
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert b"Phone simulator" in body
    assert local_mode.request("GET", "/simulator/simulator.js")[0] == 200


def test_the_console_shows_steps_with_masked_numbers_only(
    local_mode: LocalMode, pending_number: str
) -> None:
    phone = pending_number
    local_mode.reply(phone, "Yes")

    log = "".join(local_mode.log)

    masked = phone[:2] + "******" + phone[-4:]
    assert f"POST /register {masked} -> 202" in log
    assert f"{masked} [confirmation]" in log
    assert "PENDING -> CONFIRMED" in log
    assert not re.search(r"\+\d{10,15}", log.replace("+18005550100", "")), "unmasked number"


def test_cors_preflight_answers_only_the_form_origin(local_mode: LocalMode) -> None:
    asking = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }

    own = local_mode.request(
        "OPTIONS", "/register", headers={"Origin": local_mode.base_url, **asking}
    )
    other = local_mode.request(
        "OPTIONS", "/register", headers={"Origin": "https://evil.example", **asking}
    )

    assert own[0] == 204
    assert own[1]["Access-Control-Allow-Origin"] == local_mode.base_url
    assert "POST" in own[1]["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in other[1]


def test_an_opt_out_in_other_words_is_confirmed_once_and_start_brings_the_number_back(
    local_mode: LocalMode, confirmed_number: str
) -> None:
    phone = confirmed_number

    local_mode.reply(phone, "please stop texting me")
    local_mode.reply(phone, "I said stop")

    messages = local_mode.messages(phone)
    confirmations = [m for m in messages if m["kind"] == "stop"]
    assert len(confirmations) == 1  # the second opt-out gets nothing
    assert "Reply START to resubscribe" in confirmations[0]["body"]
    assert messages[-1]["direction"] == "inbound"
    status, phones = local_mode.json("GET", "/simulator/api/phones")
    assert status == 200
    [row] = [row for row in phones["phones"] if row["phoneNumber"] == phone]
    assert row["optedOut"] is True  # on the simulated opt-out list: PutOptedOutNumber

    local_mode.reply(phone, "START")

    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert (subscriber["status"], subscriber["optOut"]) == ("CONFIRMED", "NONE")
    assert local_mode.messages(phone)[-1]["kind"] == "welcome"


def test_a_yes_from_a_stranger_is_told_where_the_form_is_once(
    local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()

    local_mode.reply(phone, "YES")
    local_mode.reply(phone, "yes?")

    answers = [m for m in local_mode.messages(phone) if m["direction"] == "outbound"]
    assert [m["kind"] for m in answers] == ["signup"]
    assert f"sign up at {local_mode.base_url}/" in answers[0]["body"]
    assert local_mode.subscriber(phone) is None


def test_help_in_other_words_is_answered_by_the_function(
    local_mode: LocalMode, pending_number: str
) -> None:
    phone = pending_number

    local_mode.reply(phone, "info please")

    last = local_mode.messages(phone)[-1]
    assert (last["direction"], last["kind"]) == ("outbound", "help")
    assert "help at" in last["body"]
