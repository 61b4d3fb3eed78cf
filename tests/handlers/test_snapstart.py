"""SnapStart hooks: registered by the three snapshotted handlers, priming without a trace,
and a restored copy renewing what it must not share with its siblings."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import types

import boto3
import pytest

from optin import runtime, snapstart
from tests.support.fakes import BASE_ENV, FAKE_AWS
from tests.support.harness import ROOT


@pytest.fixture
def environment(monkeypatch):
    for name, value in {**BASE_ENV, **FAKE_AWS}.items():
        monkeypatch.setenv(name, value)
    runtime.install(None)
    yield
    runtime.install(None)


@pytest.fixture
def fresh_hooks(monkeypatch):
    """A clean local registry, as in a new process."""
    monkeypatch.setattr(snapstart, "_registered", False)
    monkeypatch.setattr(snapstart, "_before_snapshot", [])
    monkeypatch.setattr(snapstart, "_after_restore", [])


_REGISTRY_PROBE = """
import importlib, sys
from optin import snapstart
importlib.import_module("optin.handlers." + sys.argv[1])
importlib.reload(sys.modules["optin.handlers." + sys.argv[1]])  # a second import: no second hook
names = lambda hooks: [hook.__name__ for hook in hooks]
print(names(snapstart._before_snapshot), names(snapstart._after_restore))
"""


@pytest.mark.parametrize("handler", ["registration", "inbound", "sender"])
def test_each_snapshotted_handler_registers_the_hooks_once(handler):
    """In a fresh interpreter, as Lambda's init: importing the handler registers them."""
    env = {**os.environ, **BASE_ENV, **FAKE_AWS}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lambdas"), str(ROOT)])
    completed = subprocess.run(
        [sys.executable, "-c", _REGISTRY_PROBE, handler],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert completed.stdout.strip() == "['prime'] ['refresh']"


def test_the_lambda_runtimes_registry_is_used_when_present(fresh_hooks, monkeypatch):
    before: list[object] = []
    after: list[object] = []
    fake = types.ModuleType("snapshot_restore_py")
    fake.register_before_snapshot = before.append  # type: ignore[attr-defined]
    fake.register_after_restore = after.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake)
    snapstart.register()
    assert before == [snapstart.prime]
    assert after == [snapstart.refresh]
    assert snapstart._before_snapshot == []  # not the local stand-in


def test_priming_builds_the_runtime_and_reaches_no_service(environment, capsys, monkeypatch):
    from optin.handlers import registration

    calls: list[str] = []
    outcomes: list[object] = []
    real = registration.handle_request

    def spy(*args, **kwargs):
        outcomes.append(real(*args, **kwargs))
        return outcomes[-1]

    monkeypatch.setattr(registration, "handle_request", spy)

    def no_aws(request, **_kwargs):  # any request that would leave the process
        calls.append(str(request.url))
        raise AssertionError("priming called AWS")

    boto3.setup_default_session()
    boto3.DEFAULT_SESSION._session.register("before-send", no_aws)
    try:
        snapstart.prime()
        primed = runtime.current()
        snapstart.prime()  # the same runtime: built once
        assert runtime.current() is primed
    finally:
        boto3.DEFAULT_SESSION = None
    assert calls == []
    # The form was parsed, the number checked and looked up; the store refused the rest.
    assert [type(outcome) for outcome in outcomes] == [snapstart._Unanswered] * 2
    out = capsys.readouterr()
    assert "+12065550100" not in out.out + out.err  # nothing logged, nothing recorded


def test_after_restore_reseeds_random_and_drops_clients_and_credentials(environment):
    boto3.setup_default_session()
    try:
        built = runtime.current()
        session = boto3.DEFAULT_SESSION._session
        session.get_credentials()
        assert session._credentials is not None
        random.seed(7)
        snapshot_state = random.getstate()
        snapstart.refresh()
        assert random.getstate() != snapshot_state  # not the snapshot's sequence
        assert session._credentials is None
        rebuilt = runtime.current()
        assert rebuilt is not built
        assert rebuilt.ports.store._client is not built.ports.store._client  # type: ignore[attr-defined]
    finally:
        boto3.DEFAULT_SESSION = None


def test_two_copies_restored_from_one_snapshot_draw_different_numbers(environment):
    random.seed(11)
    state = random.getstate()
    draws = []
    for _ in range(2):  # each copy resumes from the same snapshot state
        random.setstate(state)
        snapstart.refresh()
        draws.append(random.random())
    assert draws[0] != draws[1]
    random.setstate(state)
    assert random.random() == random.Random(11).random()  # without refresh: shared


def test_the_local_stand_in_runs_the_hooks_it_holds(fresh_hooks):
    ran: list[str] = []
    snapstart._local_before(lambda: ran.append("before"))
    snapstart._local_after(lambda: ran.append("after"))
    snapstart.run_before_snapshot()
    snapstart.run_after_restore()
    assert ran == ["before", "after"]
