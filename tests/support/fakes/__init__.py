"""In-memory stand-ins for the ports: the domain's tests and the warm benchmark use them.

The store's fake follows the DynamoDB adapter's parts (subscribers, sending, broadcasts,
operator, erasure); every name is importable from here.
"""

from tests.support.fakes.environment import (
    BASE_ENV,
    DOCUMENTED_DEFAULTS,
    FAKE_AWS,
    NO_PREFIX_LIMITS,
    Clock,
    documented_settings,
)
from tests.support.fakes.messaging import FakeLookup, FakeSender
from tests.support.fakes.ports import fake_ports, installed
from tests.support.fakes.queue import BROADCAST_URL, TRANSACTIONAL_URL, MemoryQueue, Queued, drain
from tests.support.fakes.sending import MemoryBucket, NoPace
from tests.support.fakes.store import MemoryStore

__all__ = [
    "BASE_ENV",
    "BROADCAST_URL",
    "DOCUMENTED_DEFAULTS",
    "FAKE_AWS",
    "NO_PREFIX_LIMITS",
    "TRANSACTIONAL_URL",
    "Clock",
    "FakeLookup",
    "FakeSender",
    "MemoryBucket",
    "MemoryQueue",
    "MemoryStore",
    "NoPace",
    "Queued",
    "documented_settings",
    "drain",
    "fake_ports",
    "installed",
]
