"""Start local mode as `make dev` does (a subprocess on a free port) and talk to it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
STARTUP_SECONDS = 60
# The session's cool-down between two registrations of a number (any state): short enough
# for a test to wait it out, long enough for a test's second request to land inside it.
COOLDOWN_SECONDS = 5
_SERVING = re.compile(r"serving on (http://127\.0\.0\.1:\d+)")


class LocalMode:
    """A running ``python -m local`` and small HTTP helpers around its surface."""

    def __init__(self, process: subprocess.Popen[str], base_url: str, log: list[str]) -> None:
        self.process = process
        self.base_url = base_url
        self.log = log

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
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
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()

    def json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        status, _, content = self.request(method, path, body, **kwargs)
        return status, json.loads(content) if content else None

    def register(self, phone: str, **fields: Any) -> tuple[int, Any]:
        document = {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "phoneNumber": phone,
            "consent": True,
            "source": "/tests",
            **fields,
        }
        return self.json("POST", "/register", document)

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
        status, document = self.json(
            "POST", "/simulator/api/inbound", {"originationNumber": phone, "messageBody": body}
        )
        assert (status, document) == (200, {"delivered": True})


def start_local_mode() -> LocalMode:
    OUTPUT.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "lambdas"), str(ROOT)]),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("PORT", "ALLOWED_ORIGINS"):
        env.pop(name, None)
    env["RESEND_COOLDOWN_SECONDS"] = str(COOLDOWN_SECONDS)
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: list[str] = []
    found: list[str] = []
    ready = threading.Event()
    log_file = (OUTPUT / "local-mode.log").open("w", encoding="utf-8")

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line)
            log_file.write(line)
            log_file.flush()
            match = _SERVING.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        log_file.close()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    ready.wait(STARTUP_SECONDS)
    if not found:
        process.kill()
        raise RuntimeError("local mode did not start:\n" + "".join(log))
    return LocalMode(process, found[0], log)


def wait_until(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
    """Poll until ``check`` returns something truthy; return it (or fail with the last value)."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    assert value, f"still {value!r} after {timeout}s"
    return value
