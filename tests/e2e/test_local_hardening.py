"""Local mode's own edges: pasted numbers, its own host only, JSON-only simulator posts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from optin.domain.errors import NotAMobileNumber, UnsupportedMediaType
from tests.support.local_mode import LocalMode, wait_until

pytestmark = pytest.mark.e2e

NewNumber = Callable[[], str]


def pasted(phone: str) -> str:
    """+12065550142 -> the same number as a phone's contacts app copies it."""
    digits = phone[2:]
    return f"\u202d+1 ({digits[:3]}) {digits[3:6]}\u2011{digits[6:]}\u202c"


def test_a_number_pasted_from_contacts_registers(
    local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()

    status, document = local_mode.register(pasted(phone))

    assert (status, document["status"]) == (202, "accepted"), document
    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "PENDING"


def test_the_fixed_pasted_example_registers(local_mode: LocalMode) -> None:
    status, document = local_mode.register("\u202d+1 (206) 555\u20110142\u202c")

    assert status == 202, document


def own_port(local_mode: LocalMode) -> int:
    port = urlsplit(local_mode.base_url).port
    assert port is not None
    return port


@pytest.mark.parametrize(
    "path", ["/", "/simulator/api/messages?phoneNumber=+12065550142", "/config.json"]
)
@pytest.mark.parametrize("host", ["evil.example:8000", "evil.example", "127.0.0.1:1", ""])
def test_a_foreign_host_is_refused(local_mode: LocalMode, path: str, host: str) -> None:
    host = host if host != "127.0.0.1:1" else f"127.0.0.1:{own_port(local_mode) + 1}"

    status, headers, body = local_mode.request("GET", path, headers={"Host": host})

    assert status == 421
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "MISDIRECTED_REQUEST"
    assert b"<form" not in body
    assert b"messages" not in body


def test_a_foreign_host_cannot_read_a_subscriber_or_reply(
    local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()
    assert local_mode.register(phone)[0] == 202
    foreign = {"Host": "rebound.example:" + str(own_port(local_mode))}

    assert (
        local_mode.request("GET", f"/simulator/api/subscribers/{phone}", headers=foreign)[0] == 421
    )
    reply = {"originationNumber": phone, "messageBody": "STOP"}
    assert local_mode.request("POST", "/simulator/api/inbound", reply, headers=foreign)[0] == 421

    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "PENDING"


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_its_own_loopback_names_are_served(local_mode: LocalMode, host: str) -> None:
    headers = {"Host": host.format(port=own_port(local_mode))}

    assert local_mode.request("GET", "/", headers=headers)[0] == 200
    assert local_mode.request("GET", "/simulator/api/phones", headers=headers)[0] == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_simulator_posts_must_be_json(
    local_mode: LocalMode, new_number: NewNumber, content_type: str | None
) -> None:
    phone = new_number()
    assert local_mode.register(phone)[0] == 202
    before = local_mode.messages(phone)
    body = json.dumps({"originationNumber": phone, "messageBody": "STOP"})
    headers = {"Content-Type": content_type} if content_type else {}

    status, _, content = local_mode.request("POST", "/simulator/api/inbound", body, headers=headers)

    assert status == 415
    assert json.loads(content)["error"]["code"] == UnsupportedMediaType.code
    assert local_mode.messages(phone) == before
    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "PENDING"


def test_json_with_a_charset_is_still_json(local_mode: LocalMode, new_number: NewNumber) -> None:
    phone = new_number()
    assert local_mode.register(phone)[0] == 202
    body = json.dumps({"originationNumber": phone, "messageBody": "YES"})

    status, _, content = local_mode.request(
        "POST",
        "/simulator/api/inbound",
        body,
        headers={"Content-Type": "Application/JSON; charset=utf-8"},
    )

    assert (status, json.loads(content)) == (200, {"delivered": True})
    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "CONFIRMED"


@pytest.mark.parametrize(
    "typed",
    [
        pasted,
        lambda phone: "\uff0b" + "".join(chr(0xFF10 + int(d)) for d in phone[1:]),
        lambda phone: f"{phone[2:5]}\u00a0{phone[5:8]}\u2011{phone[8:]}",
    ],
    ids=["contacts", "full-width", "web-page"],
)
def test_the_form_accepts_a_pasted_number(
    page: Any, local_mode: LocalMode, new_number: NewNumber, typed: Callable[[str], str]
) -> None:
    from playwright.sync_api import expect

    phone = new_number()
    page.goto(local_mode.base_url + "/")
    expect(page.locator("#signup[data-ready=true]")).to_be_visible()
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Mobile phone number").fill(typed(phone))
    page.get_by_role("checkbox").check()

    with page.expect_request("**/register") as posted:
        page.get_by_role("button", name="Sign up").click()

    assert posted.value.post_data_json["phoneNumber"] == typed(phone)
    expect(page.get_by_role("status")).to_contain_text("Almost done: check your phone")
    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "PENDING"


@pytest.mark.parametrize("wording", ["please stop", "Arrêt", "opt out", "I said STOP"])
def test_an_opt_out_phrase_opts_out_through_the_function(
    local_mode: LocalMode, new_number: NewNumber, wording: str
) -> None:
    phone = new_number()
    assert local_mode.register(phone)[0] == 202
    local_mode.reply(phone, "YES")

    local_mode.reply(phone, wording)

    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "OPTED_OUT"
    assert subscriber["optOut"] == "ALL"


def test_a_personal_number_is_not_a_mobile_number_offline(local_mode: LocalMode) -> None:
    status, document = local_mode.register("+15005550123")

    assert status == 400
    assert document["error"]["code"] == NotAMobileNumber.code
    assert local_mode.subscriber("+15005550123") is None


def test_a_number_typed_into_a_reply_is_masked_on_the_console(
    local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()
    assert local_mode.register(phone)[0] == 202

    local_mode.reply(phone, "call me at (206) 555 0177 or 206.555.0178 instead")

    wait_until(lambda: any("instead" in line for line in local_mode.log))
    console = "".join(local_mode.log)
    assert "(***) *** 0177 or ***.***.0178" in console
    assert "555 0177" not in console
    assert "555.0178" not in console
