from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.adapters.schema import table_definition
from optin.domain.ports import Ports
from optin.settings import Settings
from tests.support.fakes import Clock, FakeLookup, FakeSender, installed


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A moto DynamoDB with the table built from the stack's own definition."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition("subscribers"))
        yield client


@pytest.fixture
def store(dynamodb: Any) -> DynamoSubscriberStore:
    return DynamoSubscriberStore("subscribers", client=dynamodb)


@pytest.fixture
def moto_ports(settings: Settings, clock: Clock, store: DynamoSubscriberStore) -> Iterator[Ports]:
    """Handlers on the real DynamoDB adapter (moto) with an SMS fake at the boundary."""
    ports = Ports(
        rules=settings.rules, store=store, sender=FakeSender(), lookup=FakeLookup(), clock=clock
    )
    with installed(ports, settings):
        yield ports
