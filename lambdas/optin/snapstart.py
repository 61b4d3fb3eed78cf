"""Lambda SnapStart hooks (setting ``snapStart``, docs/decisions-infra.md#snapstart).

Before the snapshot, ``prime`` does the first request's one-time work so every restored
copy starts with it done: the handlers' imports, the runtime (settings, clients), the
phone number metadata, and one registration through the handler's own code against ports
that answer nothing (no AWS call, no ledger entry, no log line, no metric).

After a restore, ``refresh`` renews what copies restored from one snapshot must not share:
the ``random`` state (else every copy draws the same shards and write suffixes), the AWS
clients and the credentials they hold (rebuilt on first use), the SMS client.

The hooks are registered with the Lambda runtime's ``snapshot_restore_py``; where that
module is absent (tests, local mode, another runtime) they are kept here and run only when
``run_before_snapshot`` / ``run_after_restore`` are called.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

__all__ = ["prime", "refresh", "register", "run_after_restore", "run_before_snapshot"]

Hook = Callable[[], None]
# The local stand-in for the runtime's registry (only used when snapshot_restore_py is absent).
_before_snapshot: list[Hook] = []
_after_restore: list[Hook] = []
_registered = False

# A number no one owns (NANP's 555-01xx fiction range), in a request the priming answers.
_PRIME_FORM = (
    '{"phoneNumber": "+12065550100", "firstName": "Prime", "lastName": "Snapshot",'
    ' "consent": true, "source": "/signup"}'
)


def _local_before(hook: Hook) -> Hook:
    _before_snapshot.append(hook)
    return hook


def _local_after(hook: Hook) -> Hook:
    _after_restore.append(hook)
    return hook


def _registrars() -> tuple[Callable[[Hook], Any], Callable[[Hook], Any]]:
    try:
        from snapshot_restore_py import (
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:
        return _local_before, _local_after
    return register_before_snapshot, register_after_restore


def register() -> None:
    """Register ``prime`` and ``refresh`` once per process (each handler module calls it)."""
    global _registered
    if _registered:
        return
    before, after = _registrars()
    before(prime)
    after(refresh)
    _registered = True


def run_before_snapshot() -> None:
    for hook in list(_before_snapshot):
        hook()


def run_after_restore() -> None:
    for hook in list(_after_restore):
        hook()


class _Unanswered(Exception):
    """Raised by the priming ports: the request stops where it would reach a service."""


class _Refuses:
    """A port that refuses every call, so priming reaches no service and records nothing."""

    def __getattr__(self, name: str) -> Any:
        raise _Unanswered(name)


def prime() -> None:
    """Before the snapshot: the first request's one-time work, with nothing recorded."""
    from dataclasses import replace

    from optin import runtime
    from optin.domain.subscribers.phone import OfflineLookup, offline_facts
    from optin.handlers import registration
    from optin.handlers.http import decode_request

    current = runtime.current()  # settings parsed, clients built (no call made)
    offline_facts("+12065550100")  # phonenumbers' metadata: types, regions, time zones
    refuses = _Refuses()
    ports = replace(
        current.ports,
        store=refuses,
        sender=refuses,
        queue=refuses,
        bucket=refuses,
        lookup=OfflineLookup(),
    )
    event = {
        "httpMethod": "POST",
        "path": "/register",
        "headers": {"Content-Type": "application/json", "Origin": "https://prime.invalid"},
        "body": _PRIME_FORM,
        "isBase64Encoded": False,
        "requestContext": {"identity": {"sourceIp": "192.0.2.1", "userAgent": "snapshot"}},
    }
    request = decode_request(event)
    outcome = registration.handle_request(request, ports, "snapshot-prime")
    registration.respond(request, outcome, ports.rules.texts, current.settings.allowed_origins)


def refresh() -> None:
    """After a restore: new randomness, and AWS clients and credentials built afresh."""
    random.seed()  # from os.urandom: each restored copy draws its own sequence
    from optin import runtime

    runtime.install(None)  # settings and clients rebuilt on the next request
    import boto3

    session = boto3.DEFAULT_SESSION
    if session is not None:
        # The credentials the snapshot resolved: the rebuilt clients resolve their own.
        session._session._credentials = None
