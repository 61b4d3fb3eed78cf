"""Local mode started once for the session on a free port, Debian's Chromium, and helpers.

The server runs in a subprocess (as ``make dev`` runs it), so moto's patching stays out of
the test process and the console output can be checked for unmasked numbers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.fakes import NO_PREFIX_LIMITS
from tests.support.harness import fictional_numbers
from tests.support.local_mode import COOLDOWN_SECONDS, OUTPUT, LocalMode

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Every test takes fresh fictional numbers so the session's shared state never couples tests.
_NUMBERS = fictional_numbers()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Sockets are the point of these tests (pytest-socket may turn them off elsewhere)."""
    if config.pluginmanager.hasplugin("socket"):
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(pytest.mark.enable_socket)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def local_mode() -> Iterator[LocalMode]:
    # The session's fictional numbers share a few prefixes: no limits across numbers here
    # (tests/e2e/test_local_limits.py runs a local mode of its own with them).
    env = {"RESEND_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS), **NO_PREFIX_LIMITS}
    with LocalMode(env=env) as mode:
        yield mode


@pytest.fixture
def new_number() -> Callable[[], str]:
    return lambda: next(_NUMBERS)


@pytest.fixture
def pending_number(local_mode: LocalMode, new_number: Callable[[], str]) -> str:
    """A new number, registered: its confirmation has reached the phone."""
    phone = new_number()
    local_mode.register(phone)
    return phone


@pytest.fixture
def confirmed_number(local_mode: LocalMode, pending_number: str) -> str:
    """A new number, registered and confirmed: its welcome has reached the phone."""
    local_mode.reply(pending_number, "YES")
    return pending_number


# Browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make browser installs Debian's)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; a screenshot lands in test-output/ whenever the test fails.

    Console errors (a Content-Security-Policy violation shows up there) fail the test.
    """
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.console_problems = problems
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        OUTPUT.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=str(OUTPUT / f"failure-{name}.png"), full_page=True)
    context.close()
    expected = [p for p in problems if "status of 4" not in p and "status of 5" not in p]
    assert not expected, f"browser console errors: {expected}"
