"""The ports each function container uses, built once and lazily on the first call.

Tests and local mode install their own (in-memory fakes, moto, the phone simulator).
"""

from __future__ import annotations

from optin.domain.ports import NumberLookup, Ports, utc_now
from optin.settings import Settings

__all__ = ["Ports", "current", "from_environment", "install", "utc_now"]


_current: Ports | None = None


def install(ports: Ports | None) -> None:
    """Use these ports from now on (None: build from the environment on next use)."""
    global _current
    _current = ports


def current() -> Ports:
    global _current
    if _current is None:
        _current = from_environment()
    return _current


def from_environment() -> Ports:
    """Real adapters, configured from the function's environment variables."""
    from optin.adapters.dynamodb import DynamoSubscriberStore
    from optin.adapters.sms import CarrierNumberLookup, EndUserMessagingSender, sms_client
    from optin.domain.phone import OfflineLookup

    settings = Settings.from_env()
    client = sms_client()
    lookup: NumberLookup = (
        CarrierNumberLookup(client) if settings.number_lookup == "carrier" else OfflineLookup()
    )
    return Ports(
        settings=settings,
        store=DynamoSubscriberStore(settings.table_name),
        sender=EndUserMessagingSender(settings, client),
        lookup=lookup,
        clock=utc_now,
    )
