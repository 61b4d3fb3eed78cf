"""``python -m local`` honours PORT and explains a port already in use."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest

from tests.support.harness import ROOT
from tests.support.local_mode import LocalMode, free_port, local_environment, wait_until

pytestmark = pytest.mark.e2e


def test_the_port_comes_from_the_port_variable() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=local_environment(PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def served() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config.json", timeout=2):
                    return True
            except OSError:
                return False

        assert wait_until(served, timeout=60, interval=0.3)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_busy_port_is_explained(local_mode: LocalMode) -> None:
    busy = local_mode.base_url.rsplit(":", 1)[1]

    result = subprocess.run(
        [sys.executable, "-m", "local", "--port", busy],
        cwd=ROOT,
        env=local_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{busy}" in result.stderr
    assert "PORT=" in result.stderr
