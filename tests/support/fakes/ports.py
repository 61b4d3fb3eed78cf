"""Ports on the fakes, and installing them for the handlers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from optin.domain.ports import Ports, RateBucket, Store
from optin.domain.rules import Rules
from optin.settings import Settings
from tests.support.fakes.environment import Clock
from tests.support.fakes.messaging import FakeLookup, FakeSender
from tests.support.fakes.queue import MemoryQueue
from tests.support.fakes.sending import NoPace
from tests.support.fakes.store import MemoryStore


def fake_ports(
    rules: Rules,
    clock: Clock,
    store: Store | None = None,
    *,
    queue: MemoryQueue | None = None,
    bucket: RateBucket | None = None,
) -> Ports:
    """Ports on the fakes: a MemoryStore unless ``store`` is given; by default each
    queued SMS goes to the sender's use case at once, unpaced."""
    queue = queue or MemoryQueue(clock, immediate=True)
    ports = Ports(
        rules=rules,
        store=store or MemoryStore(),
        sender=FakeSender(clock),
        lookup=FakeLookup(),
        queue=queue,
        bucket=bucket or NoPace(),
        clock=clock,
        sleep=clock.sleep,
    )
    queue.ports = ports
    return ports


@contextmanager
def installed(ports: Ports, settings: Settings) -> Iterator[Ports]:
    """The handlers use these ports and settings inside the block."""
    from optin import runtime

    runtime.install(runtime.Runtime(settings, ports))
    try:
        yield ports
    finally:
        runtime.install(None)
