from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator

import pytest

from optin import runtime
from optin.domain import service
from optin.domain.ports import Ports
from optin.settings import Settings
from tests.fakes import BASE_ENV, Clock, FakeLookup, FakeSender, MemoryStore

# Never reach a real AWS endpoint from a test, whatever the machine's configuration.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "sms-optin",
        "POWERTOOLS_METRICS_NAMESPACE": "SmsOptIn",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(BASE_ENV)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ports(settings: Settings, clock: Clock) -> Iterator[Ports]:
    """In-memory ports, installed for the handlers too."""
    installed = Ports(
        settings=settings,
        store=MemoryStore(),
        sender=FakeSender(),
        lookup=FakeLookup(),
        clock=clock,
    )
    runtime.install(installed)
    service._kept_disclosures.clear()
    yield installed
    runtime.install(None)


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[str]]]:
    """Every line the functions' logger writes during the test."""
    from optin.observability import logger

    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    yield lambda: buffer.getvalue().splitlines()
    handler.setStream(previous)  # type: ignore[attr-defined]
