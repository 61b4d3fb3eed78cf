"""The domain receives plain values: it imports no settings, adapter, handler, runtime,
observability or AWS SDK module, so its rules can be read and tested alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import optin.domain

DOMAIN = Path(optin.domain.__file__).parent
FORBIDDEN = (
    "optin.settings",
    "optin.adapters",
    "optin.handlers",
    "optin.runtime",
    "optin.observability",
    "boto3",
    "botocore",
)


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN)


@pytest.mark.parametrize(
    "path", sorted(DOMAIN.rglob("*.py")), ids=lambda path: str(path.relative_to(DOMAIN))
)
def test_domain_module_imports_nothing_outside_the_domain(path: Path) -> None:
    assert sorted(filter(forbidden, imported_modules(path))) == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import boto3\nfrom optin import settings\nfrom optin.adapters.sms import x\n"
        "def f():\n    import botocore.exceptions\n"
    )
    assert sorted(filter(forbidden, imported_modules(sample))) == [
        "boto3",
        "botocore.exceptions",
        "optin.adapters.sms",
        "optin.adapters.sms.x",
        "optin.settings",
    ]
