from __future__ import annotations

import os
from collections.abc import Iterator

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
