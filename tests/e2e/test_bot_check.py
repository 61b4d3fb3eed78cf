"""The form with and without AWS WAF's bot check, in Debian's Chromium against local mode.

AWS WAF's integration scripts exist only on AWS: with a check configured, these tests serve
stand-ins at the integration URL (the boundary), with the same global names and calls
(`AwsWafIntegration.fetch`, `AwsWafCaptcha.renderCaptcha`), and check what the form does
with them. Local mode's own CSP allows no third-party script, so those pages bypass it; the
deployed CSP for the check is asserted on the template (tests/infra/test_bot_challenge.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.test_browser_flow import fill_form, national, open_form
from tests.support.local_mode import LocalMode

pytestmark = pytest.mark.e2e

INTEGRATION_URL = "https://waf-integration.invalid/0123/abcd/"
TOKEN = "token-from-aws-waf"
FAKE_INTEGRATION = f"""
window.AwsWafIntegration = {{
  fetch: function (url, options) {{
    var headers = Object.assign({{}}, options.headers, {{"x-aws-waf-token": "{TOKEN}"}});
    return window.fetch(url, Object.assign({{}}, options, {{headers: headers}}));
  }}
}};
"""
FAKE_CAPTCHA = (
    FAKE_INTEGRATION
    + """
window.AwsWafCaptcha = {
  renderCaptcha: function (holder, options) {
    if (!options.apiKey) { options.onError(new Error("no api key")); return; }
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "I am not a robot";
    button.addEventListener("click", function () { options.onSuccess("captcha-token"); });
    holder.appendChild(button);
  }
};
"""
)


@pytest.fixture
def checked_page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="en-US", bypass_csp=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def with_bot_check(page: Page, mode: str, *, script: str | None) -> list[str]:
    """Serve config.json with a bot check on, and a stand-in integration script (None: the
    script cannot be loaded). Returns the URLs of the scripts the page asked for."""
    asked: list[str] = []

    def config(route: Route) -> None:
        original = route.fetch()
        document = original.json()
        document.update(
            botChallenge=mode,
            wafIntegrationUrl=INTEGRATION_URL,
            wafCaptchaApiKey="captcha-api-key" if mode == "captcha" else "",
        )
        route.fulfill(response=original, body=json.dumps(document))

    def integration(route: Route) -> None:
        asked.append(route.request.url)
        if script is None:
            route.abort()
        else:
            route.fulfill(status=200, content_type="text/javascript", body=script)

    page.route("**/config.json", config)
    page.route(f"{INTEGRATION_URL}**", integration)
    return asked


def posts(page: Page) -> list[Any]:
    sent: list[Any] = []
    page.on(
        "request",
        lambda r: sent.append(r) if r.url.endswith("/register") and r.method == "POST" else None,
    )
    return sent


def sign_up_with_check(
    page: Page, local_mode: LocalMode, mode: str, script: str | None, phone: str
) -> tuple[list[str], list[Any]]:
    """Open the form with the bot check ``mode`` on, fill it for ``phone`` and press Sign up.
    Returns the integration scripts asked for and the registrations sent (so far)."""
    asked = with_bot_check(page, mode, script=script)
    sent = posts(page)
    open_form(page, local_mode)
    fill_form(page, national(phone))
    page.get_by_role("button", name="Sign up").click()
    return asked, sent


def test_without_a_check_the_form_loads_nothing_from_aws_waf_and_sends_no_token(
    page: Page, local_mode: LocalMode, new_number: Callable[[], str]
) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    open_form(page, local_mode)
    config = local_mode.json("GET", "/config.json")[1]
    assert config.get("botChallenge", "none") == "none"
    sent = posts(page)
    fill_form(page, national(new_number()))
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("status")).to_contain_text("Almost done: check your phone")
    [request] = sent
    assert "x-aws-waf-token" not in request.headers
    assert all(url.startswith(local_mode.base_url) for url in requested)
    expect(page.locator("#bot-check")).to_be_hidden()


def test_with_a_challenge_the_registration_carries_wafs_token(
    checked_page: Page, local_mode: LocalMode, new_number: Callable[[], str]
) -> None:
    phone = new_number()
    asked, sent = sign_up_with_check(checked_page, local_mode, "challenge", FAKE_INTEGRATION, phone)
    expect(checked_page.get_by_role("status")).to_contain_text("Almost done: check your phone")
    assert asked == [INTEGRATION_URL + "challenge.js"]
    [request] = sent
    assert request.headers["x-aws-waf-token"] == TOKEN
    assert local_mode.subscriber(phone)["status"] == "PENDING"


def test_with_a_captcha_the_puzzle_comes_first_then_the_token(
    checked_page: Page, local_mode: LocalMode, new_number: Callable[[], str]
) -> None:
    asked, sent = sign_up_with_check(
        checked_page, local_mode, "captcha", FAKE_CAPTCHA, new_number()
    )
    puzzle = checked_page.get_by_role("button", name="I am not a robot")
    expect(puzzle).to_be_visible()
    assert sent == []  # nothing leaves before the puzzle is solved
    puzzle.click()
    expect(checked_page.get_by_role("status")).to_contain_text("Almost done: check your phone")
    assert asked == [INTEGRATION_URL + "jsapi.js"]
    [request] = sent
    assert request.headers["x-aws-waf-token"] == TOKEN
    expect(checked_page.locator("#bot-check")).to_be_hidden()


def test_when_the_check_cannot_load_nothing_is_sent_and_the_person_is_told(
    checked_page: Page, local_mode: LocalMode, new_number: Callable[[], str]
) -> None:
    _, sent = sign_up_with_check(checked_page, local_mode, "challenge", None, new_number())
    status = checked_page.get_by_role("status")
    expect(status).to_contain_text("did not complete")
    assert sent == []
    expect(checked_page.get_by_role("button", name="Sign up")).to_be_enabled()
