from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws

from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.domain.ports import Ports
from optin.settings import Settings
from tests.support.fakes import (
    BASE_ENV,
    FAKE_AWS,
    Clock,
    fake_ports,
    installed,
)
from tests.support.harness import moto_table

os.environ.update(FAKE_AWS)
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
    with installed(fake_ports(settings.rules, clock), settings) as memory:
        yield memory


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A moto DynamoDB with the table built from the stack's own definition."""
    with mock_aws():
        yield moto_table()


@pytest.fixture
def store(dynamodb: Any) -> DynamoSubscriberStore:
    return DynamoSubscriberStore("subscribers", client=dynamodb)


@pytest.fixture
def moto_ports(settings: Settings, clock: Clock, store: DynamoSubscriberStore) -> Iterator[Ports]:
    """Handlers on the real DynamoDB adapter (moto) with an SMS fake at the boundary."""
    with installed(fake_ports(settings.rules, clock, store), settings) as ports:
        yield ports


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[str]]]:
    """Every line the functions' logger writes during the test."""
    from optin.observability import logger

    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    yield lambda: buffer.getvalue().splitlines()
    handler.setStream(previous)  # type: ignore[attr-defined]
