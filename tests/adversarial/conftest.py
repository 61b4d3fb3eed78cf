"""Adversarial tests: properties, fuzzing, injected faults and races.

Sockets may reach the loopback interface only (local mode for the fuzzer); AWS is moto,
botocore's Stubber or canned answers given before a request leaves botocore.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from pytest_socket import socket_allow_hosts

from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.adapters.sms import CarrierNumberLookup, EndUserMessagingSender
from optin.domain.ports import Ports
from optin.settings import Settings
from tests.support.fakes import BASE_ENV, Clock, installed
from tests.support.harness import CannedSms, FaultyClient, moto_table, sms_client


@pytest.fixture(autouse=True)
def _loopback_only() -> None:
    """pytest-socket lifts this after each test."""
    socket_allow_hosts(["127.0.0.1", "localhost", "::1"], allow_unix_socket=True)


@pytest.fixture
def carrier_settings() -> Settings:
    return Settings.from_env({**BASE_ENV, "NUMBER_LOOKUP": "carrier"})


class RealAdapters:
    """The functions' real adapters: DynamoDB on moto (through a FaultyClient, so a test
    can fail a call or slip a competing write in before one), End User Messaging on a
    real client that a test answers with a Stubber or with CannedSms."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.dynamodb = FaultyClient(moto_table(settings.table_name))
        self.sms = sms_client()
        self.store = DynamoSubscriberStore(settings.table_name, client=self.dynamodb)
        self.sender = EndUserMessagingSender(settings, self.sms)
        self.settings = settings
        self.ports = Ports(
            rules=settings.rules,
            store=self.store,
            sender=self.sender,
            lookup=CarrierNumberLookup(self.sms),
            clock=clock,
        )

    def canned(self, **number_types: str) -> CannedSms:
        return CannedSms(number_types).attach_returning(self.sms)


@pytest.fixture
def real(carrier_settings: Settings, clock: Clock) -> Iterator[RealAdapters]:
    with mock_aws():
        adapters = RealAdapters(carrier_settings, clock)
        with installed(adapters.ports, carrier_settings):
            yield adapters


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """These tests open loopback sockets (local mode); pytest-socket may be on elsewhere."""
    for item in items:
        if "tests/adversarial" in str(item.fspath):
            item.add_marker(pytest.mark.enable_socket)
