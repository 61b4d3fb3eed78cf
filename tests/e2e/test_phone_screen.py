"""The form and the simulator on a phone-sized screen (375x667), in Debian's Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.test_browser_flow import NewNumber, fill_form, national, open_form
from tests.support.local_mode import OUTPUT, LocalMode

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 667}

# The placeholder's rendered width against the room inside the field, in the field's font.
PLACEHOLDER_ROOM = """
(input) => {
  const style = getComputedStyle(input);
  const context = document.createElement("canvas").getContext("2d");
  context.font = style.font;
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return { text: context.measureText(input.placeholder).width, room: room };
}
"""


def in_viewport(page: Page, selector: str) -> dict[str, Any]:
    return page.locator(selector).evaluate(
        """(element) => {
          const box = element.getBoundingClientRect();
          return { top: box.top, bottom: box.bottom, height: innerHeight };
        }"""
    )


def sign_up_on_a_phone(page: Page, local_mode: LocalMode, typed: str) -> Locator:
    """Fill the form on a phone-sized screen with the number ``typed``, press Sign up; the
    result."""
    page.set_viewport_size(PHONE)
    open_form(page, local_mode)
    fill_form(page, typed)
    page.get_by_role("button", name="Sign up").click()
    return page.get_by_role("status")


def assert_focused_and_in_view(page: Page, result: Locator) -> None:
    expect(result).to_be_focused()
    box = in_viewport(page, "#result")
    assert box["top"] >= 0, box
    assert box["bottom"] <= box["height"], box


def test_after_signing_up_on_a_phone_the_result_is_focused_and_in_view(
    page: Page, local_mode: LocalMode, new_number: NewNumber
) -> None:
    result = sign_up_on_a_phone(page, local_mode, national(new_number()))

    expect(result).to_contain_text("Almost done: check your phone")
    assert_focused_and_in_view(page, result)
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "form-accepted-phone.png"))


def test_a_failure_without_a_field_is_focused_and_in_view_on_a_phone(
    page: Page, local_mode: LocalMode
) -> None:
    page.route("**/register", lambda route: route.abort("connectionrefused"))

    result = sign_up_on_a_phone(page, local_mode, "(201) 555-0123")

    expect(result).to_contain_text("could not reach our server")
    assert_focused_and_in_view(page, result)
    page.console_problems.clear()  # type: ignore[attr-defined]


@pytest.mark.parametrize("text_size", ["100%", "125%"])
def test_the_simulator_number_field_shows_its_whole_placeholder_on_a_phone(
    page: Page, local_mode: LocalMode, text_size: str
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(local_mode.base_url + "/simulator")
    page.evaluate(f"document.documentElement.style.fontSize = '{text_size}'")

    field = page.get_by_label("Open a phone by number")

    expect(field).to_have_attribute("placeholder", "+12015550123")
    fit = field.evaluate(PLACEHOLDER_ROOM)
    assert fit["text"] <= fit["room"], fit
