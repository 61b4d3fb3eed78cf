"""The form and the phone simulator in Debian's Chromium, against local mode."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from optin.domain import errors
from optin.handlers.http import UNAVAILABLE_CODE
from tests.support.errors import ERROR_STATUS
from tests.support.local_mode import COOLDOWN_SECONDS, OUTPUT, LocalMode, wait_until

pytestmark = pytest.mark.e2e

NewNumber = Callable[[], str]


def national(phone: str) -> str:
    """+12015550123 -> (201) 555-0123, as a person in the US would type it."""
    digits = phone[2:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def open_form(page: Page, local_mode: LocalMode) -> None:
    page.goto(local_mode.base_url + "/")
    expect(page.locator("#signup[data-ready=true]")).to_be_visible()


def fill_form(page: Page, phone: str, *, first: str = "Grace", consent: bool = True) -> None:
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Mobile phone number").fill(phone)
    if consent:
        page.get_by_role("checkbox").check()


def register_requests(page: Page) -> list[Any]:
    requests: list[Any] = []
    page.on("request", lambda r: requests.append(r) if r.url.endswith("/register") else None)
    return requests


def test_register_then_reply_yes_in_the_simulator(
    page: Page, local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()
    open_form(page, local_mode)
    expect(page.get_by_role("heading", level=1)).to_have_text("Get Example Co text messages")
    expect(page.get_by_role("checkbox")).not_to_be_checked()
    expect(page.get_by_role("link", name="https://example.com/privacy")).to_be_visible()
    page.screenshot(path=str(OUTPUT / "form.png"), full_page=True)

    fill_form(page, national(phone))
    with page.expect_request("**/register") as posted:
        page.get_by_role("button", name="Sign up").click()

    config = local_mode.json("GET", "/config.json")[1]
    assert posted.value.post_data_json == {
        "firstName": "Grace",
        "lastName": "Hopper",
        "phoneNumber": national(phone),
        "country": "US",
        "consent": True,
        "source": "/",
        "disclosureVersion": config["disclosureVersion"],
    }
    status = page.get_by_role("status")
    expect(status).to_contain_text("Almost done: check your phone")
    expect(status).to_contain_text("reply YES")
    page.screenshot(path=str(OUTPUT / "form-accepted.png"), full_page=True)
    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "PENDING"
    assert subscriber["source"] == "/"
    registered = subscriber["consentEvents"][0]
    assert registered["disclosureVersion"] == config["disclosureVersion"]

    page.goto(f"{local_mode.base_url}/simulator#{phone}")
    conversation = page.get_by_role("log", name="Conversation")
    expect(conversation).to_contain_text("Reply YES to confirm")
    expect(page.locator("#subscriber")).to_contain_text("PENDING")
    page.get_by_label("Reply from this phone").fill("Yes")
    page.get_by_role("button", name="Send", exact=True).click()

    expect(page.locator("#subscriber[data-status=CONFIRMED]")).to_be_visible()
    expect(conversation.locator(".bubble-inbound")).to_have_text(re.compile("Yes"))
    expect(conversation.locator(".bubble-outbound").last).to_contain_text("subscribed")
    page.screenshot(path=str(OUTPUT / "simulator.png"), full_page=True)
    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "CONFIRMED"
    assert subscriber["confirmedAt"]


@pytest.mark.parametrize(
    ("first", "phone", "consent", "field", "message"),
    [
        ("", "(201) 555-0123", True, "firstName", "Please fill in your first name."),
        ("Grace", "", True, "phoneNumber", "Please fill in your mobile phone number."),
        ("Grace", "12345", True, "phoneNumber", "This is not a valid phone number."),
        ("Grace", "call me", True, "phoneNumber", "This is not a valid phone number."),
        ("Grace", "+44 20 7946 0000", True, "phoneNumber",
         "we can only send text messages to numbers in United States and Canada"),
        ("Grace", "(201) 555-0123", False, "consent", "check the box to agree"),
    ],
)  # fmt: skip
def test_each_validation_error_has_its_own_message_and_sends_nothing(
    page: Page,
    local_mode: LocalMode,
    first: str,
    phone: str,
    consent: bool,
    field: str,
    message: str,
) -> None:
    sent = register_requests(page)
    open_form(page, local_mode)

    fill_form(page, phone, first=first, consent=consent)
    page.get_by_role("button", name="Sign up").click()

    error = page.locator(f"#{field}-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile(re.escape(message), re.IGNORECASE))
    expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{field}")).to_be_focused()
    expect(page.get_by_role("status")).to_contain_text("Please fix 1 problem")
    assert sent == []


@pytest.mark.parametrize("first", ["\u3164", "\u200b", "123", "Ana\u200bMaria", "\u2800"])
def test_a_name_the_api_would_refuse_is_refused_before_posting(
    page: Page, local_mode: LocalMode, first: str
) -> None:
    sent = register_requests(page)
    open_form(page, local_mode)

    fill_form(page, "(201) 555-0123", first=first)
    page.get_by_role("button", name="Sign up").click()

    expect(page.locator("#firstName-error")).to_contain_text("Please check your first name")
    expect(page.locator("#firstName")).to_have_attribute("aria-invalid", "true")
    assert sent == []


def test_a_name_in_another_script_is_posted(
    page: Page, local_mode: LocalMode, new_number: NewNumber
) -> None:
    open_form(page, local_mode)
    fill_form(page, national(new_number()), first="علی\u200cرضا")
    with page.expect_request("**/register") as posted:
        page.get_by_role("button", name="Sign up").click()
    assert posted.value.post_data_json["firstName"] == "علی\u200cرضا"
    expect(page.get_by_role("status")).to_contain_text("Almost done")


def test_an_empty_form_lists_every_problem(page: Page, local_mode: LocalMode) -> None:
    sent = register_requests(page)
    open_form(page, local_mode)

    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("status")).to_contain_text("Please fix 4 problems")
    for field in ("firstName", "lastName", "phoneNumber", "consent"):
        expect(page.locator(f"#{field}-error")).to_be_visible()
    expect(page.get_by_label("First name")).to_be_focused()
    page.screenshot(path=str(OUTPUT / "form-errors.png"), full_page=True)
    assert sent == []


# The field a refusal names in this test; every other code of the API names none.
FIELD_AT_FAULT = {
    errors.MissingField.code: "lastName",
    errors.InvalidField.code: "firstName",
    errors.InvalidPhoneNumber.code: "phoneNumber",
    errors.ConsentRequired.code: "consent",
    errors.UnsupportedCountry.code: "phoneNumber",
    errors.NotAMobileNumber.code: "phoneNumber",
}
API_ERRORS = {code: (status, FIELD_AT_FAULT.get(code)) for code, status in ERROR_STATUS.items()}


def test_every_api_error_code_has_its_own_message(page: Page, local_mode: LocalMode) -> None:
    answer: dict[str, Any] = {}

    def fulfil(route: Route) -> None:
        status, field = API_ERRORS[answer["code"]]
        error = {
            "code": answer["code"],
            "message": "server text",
            **({"field": field} if field else {}),
        }
        route.fulfill(
            status=status,
            headers={"Retry-After": "42", "Access-Control-Expose-Headers": "Retry-After"},
            content_type="application/json",
            body=json.dumps({"error": error}),
        )

    page.route("**/register", fulfil)
    open_form(page, local_mode)
    shown: dict[str, str] = {}
    for code in API_ERRORS:
        answer["code"] = code
        fill_form(page, "(201) 555-0123")
        page.get_by_role("button", name="Sign up").click()
        status = page.get_by_role("status")
        expect(status).not_to_contain_text("Sending")
        shown[code] = status.inner_text()
        field = API_ERRORS[code][1]
        if field:
            expect(page.locator(f"#{field}-error")).to_be_visible()
    page.unroute("**/register")

    assert len(set(shown.values())) == len(API_ERRORS), shown
    assert "42 seconds" in shown[errors.TooManyRequests.code]
    assert "try again" in shown[UNAVAILABLE_CODE]
    assert "server text" not in " ".join(shown.values())


def test_the_network_failing_is_explained(page: Page, local_mode: LocalMode) -> None:
    page.route("**/register", lambda route: route.abort("connectionrefused"))
    open_form(page, local_mode)

    fill_form(page, "(201) 555-0123")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("status")).to_contain_text("could not reach our server")
    page.console_problems.clear()  # type: ignore[attr-defined]


def test_a_busy_form_never_posts_twice(
    page: Page, local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()
    held: list[Route] = []
    page.route("**/register", lambda route: held.append(route))
    sent = register_requests(page)
    open_form(page, local_mode)
    fill_form(page, national(phone))

    button = page.get_by_role("button", name="Sign up")
    button.click()
    wait_until(lambda: held)
    expect(page.locator("#submit")).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#signup")).to_have_attribute("aria-busy", "true")
    page.locator("#submit").click(force=True)
    page.get_by_label("Last name").press("Enter")
    held[0].continue_()

    expect(page.get_by_role("status")).to_contain_text("Almost done")
    expect(page.locator("#submit")).to_have_attribute("aria-disabled", "false")
    assert len(sent) == 1
    assert len(local_mode.messages(phone)) == 1


def test_stop_then_register_again_then_yes(
    page: Page, local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()
    local_mode.register(phone)
    local_mode.reply(phone, "YES")
    page.goto(f"{local_mode.base_url}/simulator#{phone}")
    page.get_by_role("button", name="STOP").click()
    expect(page.locator("#subscriber[data-status=OPTED_OUT]")).to_be_visible()
    expect(page.get_by_role("log").locator(".bubble-outbound").last).to_contain_text("unsubscribed")

    time.sleep(COOLDOWN_SECONDS)  # a registration inside the cool-down is 429 in every state
    open_form(page, local_mode)
    fill_form(page, national(phone))
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("status")).to_contain_text("text YES to +18005550100")
    subscriber = local_mode.subscriber(phone)
    assert subscriber is not None
    assert subscriber["status"] == "OPTED_OUT"

    page.goto(f"{local_mode.base_url}/simulator#{phone}")
    page.get_by_role("button", name="Yes", exact=True).click()

    expect(page.locator("#subscriber[data-status=CONFIRMED]")).to_be_visible()
    expect(page.get_by_role("log").locator(".bubble-outbound").last).to_contain_text(
        "you're subscribed"
    )
    page.screenshot(path=str(OUTPUT / "simulator-resubscribed.png"), full_page=True)


def test_the_form_works_with_the_keyboard_alone(
    page: Page, local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()
    open_form(page, local_mode)
    keyboard = page.keyboard

    keyboard.press("Tab")
    expect(page.get_by_label("First name")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus must be visible"
    keyboard.type("Katherine")
    keyboard.press("Tab")
    keyboard.type("Johnson")
    keyboard.press("Tab")
    expect(page.get_by_label("Country")).to_be_focused()
    keyboard.press("Tab")
    expect(page.get_by_label("Mobile phone number")).to_be_focused()
    keyboard.type(national(phone))
    keyboard.press("Tab")
    expect(page.get_by_role("checkbox")).to_be_focused()
    keyboard.press("Space")
    expect(page.get_by_role("checkbox")).to_be_checked()
    while page.evaluate("document.activeElement.id") != "submit":
        keyboard.press("Tab")  # past the terms and privacy links
    page.screenshot(path=str(OUTPUT / "form-keyboard-focus.png"))
    keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Almost done")
    wait_until(lambda: local_mode.messages(phone))


def test_the_country_selector_offers_only_the_allowed_countries(
    page: Page, local_mode: LocalMode
) -> None:
    open_form(page, local_mode)

    options = page.get_by_label("Country").locator("option")

    expect(options).to_have_count(2)
    assert options.evaluate_all("os => os.map(o => o.value)") == ["US", "CA"]
    expect(page.get_by_label("Country")).to_have_value("US")


def test_a_wide_screen_and_the_simulator_list_look_right(
    page: Page, local_mode: LocalMode, new_number: NewNumber
) -> None:
    phone = new_number()
    local_mode.register(phone)
    page.set_viewport_size({"width": 1280, "height": 900})
    open_form(page, local_mode)
    page.screenshot(path=str(OUTPUT / "form-wide.png"), full_page=True)

    page.goto(f"{local_mode.base_url}/simulator")
    expect(page.locator(f"[data-phone='{phone}']")).to_be_visible()
    page.locator(f"[data-phone='{phone}']").click()
    expect(page.get_by_role("log")).to_contain_text("Reply YES to confirm")
    page.screenshot(path=str(OUTPUT / "simulator-wide.png"), full_page=True)


CONTRAST_SCRIPT = """
(selectors) => {
  function rgb(value) {
    const m = value.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  }
  function luminance({ r, g, b }) {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function background(element) {
    for (let e = element; e; e = e.parentElement) {
      const color = rgb(getComputedStyle(e).backgroundColor);
      if (color && color.a > 0.5) return color;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  }
  return selectors.flatMap((selector) =>
    Array.from(document.querySelectorAll(selector)).map((element) => {
      const fg = luminance(rgb(getComputedStyle(element).color));
      const bg = luminance(background(element));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      return [selector, Math.round(ratio * 100) / 100];
    })
  );
}
"""
TEXT_SELECTORS = [
    "h1", ".brand", ".lede", ".hint", "label", "#disclosure", "#disclosure a", "#submit",
    ".field-error", ".result-title", ".result-text", ".page-footer",
]  # fmt: skip


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_meets_aa_contrast(page: Page, local_mode: LocalMode, scheme: str) -> None:
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    open_form(page, local_mode)
    page.get_by_role("button", name="Sign up").click()  # show the error styles too
    expect(page.get_by_role("status")).to_contain_text("Please fix")

    ratios = page.evaluate(CONTRAST_SCRIPT, TEXT_SELECTORS)

    assert ratios
    too_low = [(selector, ratio) for selector, ratio in ratios if ratio < 4.5]
    assert not too_low, too_low
    page.screenshot(path=str(OUTPUT / f"form-errors-{scheme}.png"), full_page=True)


def test_without_its_configuration_the_form_stays_disabled(
    page: Page, local_mode: LocalMode
) -> None:
    page.route("**/config.json", lambda route: route.fulfill(status=404, body="not found"))

    page.goto(local_mode.base_url + "/")

    expect(page.get_by_role("status")).to_contain_text("The form is unavailable")
    expect(page.get_by_label("First name")).to_be_disabled()
    expect(page.get_by_role("button", name="Sign up")).to_be_disabled()
