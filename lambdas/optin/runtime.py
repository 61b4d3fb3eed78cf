"""What each function container works with, built once and lazily on the first call: the
settings (for what only handlers need, such as allowed origins) and the ports the domain
receives.

Tests and local mode install their own (in-memory fakes, moto, the phone simulator).
"""

from __future__ import annotations

from dataclasses import dataclass

from optin.domain.ports import NumberLookup, OptOutList, Ports, utc_now
from optin.settings import Settings

__all__ = ["Runtime", "current", "from_environment", "install"]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    ports: Ports
    opt_out_list: OptOutList | None = None  # the operator API puts removed numbers on it


_current: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    """Use this runtime from now on (None: build from the environment on next use)."""
    global _current
    _current = runtime


def current() -> Runtime:
    global _current
    if _current is None:
        _current = from_environment()
    return _current


def from_environment() -> Runtime:
    """Real adapters, configured from the function's environment variables."""
    from optin.adapters.dynamodb import DynamoRateBucket, DynamoSubscriberStore, dynamodb_client
    from optin.adapters.opt_out_list import PlatformOptOutList
    from optin.adapters.queue import SqsSendQueue
    from optin.adapters.secrets import SecretKey
    from optin.adapters.sms import CarrierNumberLookup, EndUserMessagingSender, LazySmsClient
    from optin.domain.subscribers.phone import OfflineLookup

    settings = Settings.from_env()
    client = LazySmsClient()  # built when the sender, a carrier lookup or the list first needs it
    dynamodb = dynamodb_client()
    lookup: NumberLookup = (
        CarrierNumberLookup(client) if settings.number_lookup == "carrier" else OfflineLookup()
    )
    secret = settings.erasure_key_secret
    store = DynamoSubscriberStore(
        settings.table_name, dynamodb, erasure_key=SecretKey(secret) if secret else None
    )
    ports = Ports(
        rules=settings.rules,
        store=store,
        sender=EndUserMessagingSender(settings, client),
        lookup=lookup,
        queue=SqsSendQueue(settings.send_queue_url, settings.broadcast_queue_url),
        bucket=DynamoRateBucket(settings.table_name, settings.origination_identity, dynamodb),
        clock=utc_now,
    )
    opt_out_list = (
        PlatformOptOutList(client, settings.opt_out_list_name)
        if settings.opt_out_list_name
        else None
    )
    return Runtime(settings, ports, opt_out_list)
