"""``make dev`` installs requirements-local.txt only: it must cover what local mode imports,
with the same pins as the rest of the project."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from tests.support.harness import ROOT

# Top-level module -> the requirement that provides it (botocore comes with boto3).
PROVIDED_BY = {
    "aws_lambda_powertools": "aws-lambda-powertools",
    "boto3": "boto3",
    "botocore": "boto3",
    "phonenumbers": "phonenumbers",
    "moto": "moto",
}
# Modules the Lambda runtime itself provides, never installed (optin.snapstart falls back
# to a registry of its own where the module is absent, as in local mode).
RUNTIME_PROVIDED = frozenset({"snapshot_restore_py"})
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(?P<version>\S+)$")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line.split("#", 1)[0].strip())
        if match:
            found[match["name"].lower()] = match["version"]
    return found


def third_party_imports(*folders: Path) -> set[str]:
    first_party = {"optin", "local", "infra", "tests"}
    names: set[str] = set()
    for folder in folders:
        for source in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text(), str(source))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return {
        name
        for name in names
        if name not in sys.stdlib_module_names and name not in first_party and name != "__future__"
    }


def test_local_requirements_cover_every_library_local_mode_and_the_functions_import():
    local = pins(ROOT / "requirements-local.txt")
    imported = third_party_imports(ROOT / "local", ROOT / "lambdas" / "optin") - RUNTIME_PROVIDED
    unknown = imported - set(PROVIDED_BY)
    assert not unknown, f"imported but not in requirements-local.txt: {sorted(unknown)}"
    assert {PROVIDED_BY[name] for name in imported} <= set(local)


def test_local_requirements_leave_out_the_deploy_and_test_toolchain():
    local = pins(ROOT / "requirements-local.txt")
    for heavy in ("aws-cdk-lib", "constructs", "cdk-nag", "playwright", "aws-xray-sdk", "pytest"):
        assert heavy not in local


def test_local_requirements_use_the_same_pins_as_the_deploy_requirements():
    local = pins(ROOT / "requirements-local.txt")
    deploy = pins(ROOT / "requirements.txt")
    shared = set(local) & set(deploy)
    assert {"aws-lambda-powertools", "boto3", "phonenumbers"} <= shared
    assert {name: local[name] for name in shared} == {name: deploy[name] for name in shared}


def test_the_development_requirements_include_local_mode_without_repeating_a_pin():
    lines = [line.strip() for line in (ROOT / "requirements-dev.txt").read_text().splitlines()]
    assert "-r requirements.txt" in lines
    assert "-r requirements-local.txt" in lines
    dev = pins(ROOT / "requirements-dev.txt")
    assert not set(dev) & set(pins(ROOT / "requirements-local.txt"))
    assert not set(dev) & set(pins(ROOT / "requirements.txt"))
