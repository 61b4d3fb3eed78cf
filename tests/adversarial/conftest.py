"""Adversarial tests: properties, fuzzing, injected faults and races.

Sockets may reach the loopback interface only (local mode for the fuzzer); AWS is moto,
botocore's Stubber or canned answers given before a request leaves botocore.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_socket import socket_allow_hosts

from optin.settings import Settings
from tests.support.fakes import BASE_ENV, Clock
from tests.support.harness import RealAdapters, on_real_adapters


@pytest.fixture(autouse=True)
def _loopback_only() -> None:
    """pytest-socket lifts this after each test."""
    socket_allow_hosts(["127.0.0.1", "localhost", "::1"], allow_unix_socket=True)


@pytest.fixture
def carrier_settings() -> Settings:
    return Settings.from_env({**BASE_ENV, "NUMBER_LOOKUP": "carrier"})


@pytest.fixture
def real(carrier_settings: Settings, clock: Clock) -> Iterator[RealAdapters]:
    with on_real_adapters(carrier_settings, clock) as adapters:
        yield adapters


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """These tests open loopback sockets (local mode); pytest-socket may be on elsewhere."""
    for item in items:
        if "tests/adversarial" in str(item.fspath):
            item.add_marker(pytest.mark.enable_socket)
