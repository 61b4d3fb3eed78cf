from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.domain.ports import Ports
from optin.settings import Settings
from tests.support.fakes import Clock, fake_ports, installed
from tests.support.harness import moto_table


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
