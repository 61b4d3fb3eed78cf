"""Local mode started as ``make dev`` starts it (``python -m local`` in a subprocess, on a
free port), and small HTTP helpers around its surface: the e2e tests, the adversarial
tests and the benchmarks all drive it through this one class."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.support.harness import ROOT

OUTPUT = ROOT / "test-output"
STARTUP_SECONDS = 60.0
_SERVING = re.compile(r"serving on (http://127\.0\.0\.1:\d+)")
# The end-to-end session's cool-down between two registrations of a number (any state):
# short enough for a test to wait it out, long enough for a second request to land inside.
COOLDOWN_SECONDS = 5
# What the simulator shows of a message that will not change any more.
FINAL_STATES = ("delivered", "failed", "not sent")
# Variables a developer's shell may set that would change what the tests expect.
_LEFT_OUT = (
    "PORT",
    "ALLOWED_ORIGINS",
    "RESEND_COOLDOWN_SECONDS",
    "MAX_CONFIRMATIONS_PER_PREFIX_PER_HOUR",
    "DAILY_CONFIRMATION_BUDGET",
)


def local_environment(**extra: str) -> dict[str, str]:
    """The environment ``make dev`` gives ``python -m local``, plus ``extra``."""
    environment = {key: value for key, value in os.environ.items() if key not in _LEFT_OUT}
    return {
        **environment,
        **extra,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "lambdas"), str(ROOT)]),
        "PYTHONUNBUFFERED": "1",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalMode:
    """A running ``python -m local --port 0``, its console written to ``log_path``.

    Use it as a context manager, or call ``stop()``.
    """

    def __init__(
        self,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
        root: Path = ROOT,
    ) -> None:
        """``root``: the checkout whose local mode runs (another worktree, to compare)."""
        if log_path is None:
            OUTPUT.mkdir(exist_ok=True)
            log_path = OUTPUT / "local-mode.log"
        self.log_path = log_path
        self._console = log_path.open("w", encoding="utf-8")
        environment = local_environment(**(env or {}))
        environment["PYTHONPATH"] = os.pathsep.join([str(root / "lambdas"), str(root)])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "--port", "0"],
            cwd=root,
            env=environment,
            stdout=self._console,
            stderr=subprocess.STDOUT,
        )
        self.base_url = self._wait_ready()

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            match = _SERVING.search("".join(self.log))
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("local mode did not start:\n" + "".join(self.log))

    @property
    def log(self) -> list[str]:
        """The console so far, line by line (line endings kept)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines(True)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._console.close()

    def __enter__(self) -> LocalMode:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def rss_megabytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) // 1024

    # HTTP --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request; a dict body is sent as JSON. Any status comes back, none raises."""
        data: bytes | None
        headers = dict(headers or {})
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()

    def json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        status, _, content = self.request(method, path, body, **kwargs)
        return status, json.loads(content) if content else None

    # The form and the phone simulator ----------------------------------------------------

    def register(self, phone: str, **fields: Any) -> tuple[int, Any]:
        """POST /register, then wait until what it queued has reached the phone (as a
        person reads the text before answering it)."""
        document = {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "phoneNumber": phone,
            "consent": True,
            "source": "/tests",
            **fields,
        }
        answer = self.json("POST", "/register", document)
        self.settled(_e164(phone))
        return answer

    def messages(self, phone: str) -> list[dict[str, Any]]:
        status, document = self.json("GET", f"/simulator/api/messages?phoneNumber={phone}")
        assert status == 200, document
        return list(document["messages"])

    def subscriber(self, phone: str) -> dict[str, Any] | None:
        status, document = self.json("GET", f"/simulator/api/subscribers/{phone}")
        if status == 404:
            return None
        assert status == 200, document
        return dict(document)

    def reply(self, phone: str, body: str) -> None:
        """A text from the phone, then a wait until what it queued has reached the phone."""
        status, document = self.json(
            "POST", "/simulator/api/inbound", {"originationNumber": phone, "messageBody": body}
        )
        assert (status, document) == (200, {"delivered": True})
        self.settled(phone)

    def settled(self, phone: str | None, timeout: float = 10.0) -> None:
        """Wait until no message to ``phone`` is queued or waiting for its delivery event:
        the sender and the delivery function run in the background."""
        if phone is None:
            return

        def moving() -> list[dict[str, Any]]:
            return [m for m in self.messages(phone) if m["status"] not in ("", *FINAL_STATES)]

        wait_until(lambda: not moving(), timeout)


def _e164(raw: str) -> str | None:
    """The number a registration names, as the service normalises it (None: not one)."""
    from optin.domain.errors import RegistrationError
    from optin.domain.subscribers.phone import normalise

    try:
        return normalise(raw, "US", ("US", "CA")).e164
    except RegistrationError:
        return None


def wait_until(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
    """Poll until ``check`` returns something truthy; return it (or fail with the last value)."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    assert value, f"still {value!r} after {timeout}s"
    return value
