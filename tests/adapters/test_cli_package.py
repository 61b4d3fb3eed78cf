"""`pip install .` gives an operator the `optin` command: pyproject.toml names an entry point
that exists, and depends on what the CLI imports and nothing more (no CDK, no moto, not even
the functions' libraries)."""

from __future__ import annotations

import ast
import importlib
import re
import sys
import tomllib
from pathlib import Path

import pytest

from optin import cli

ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = ROOT / "lambdas"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
_NAME = re.compile(r"^[A-Za-z0-9_.-]+")
# Top-level module -> the distribution that provides it.
DISTRIBUTION = {"botocore": "botocore"}


def declared_dependencies() -> set[str]:
    names = set()
    for requirement in PROJECT["project"]["dependencies"]:
        match = _NAME.match(requirement.strip())
        assert match is not None, requirement
        names.add(match[0].lower())
    return names


def module_file(module: str) -> Path:
    base = LAMBDAS.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def statements(tree: ast.AST, into_functions: bool) -> list[ast.AST]:
    found: list[ast.AST] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        found.append(node)
        for child in ast.iter_child_nodes(node):
            if into_functions or not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                pending.append(child)
    return found


def imports_of(module: str, into_functions: bool) -> set[str]:
    """The modules `module` imports, absolute names: at the top only, or inside its
    functions too."""
    names: set[str] = set()
    tree = ast.parse(module_file(module).read_text(), module)
    for node in statements(tree, into_functions):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
            assert node.level == 0, f"{module}: relative import"
            names.add(node.module)
    return names


def cli_third_party_imports() -> set[str]:
    """The third-party top-level modules the CLI can import: every import of cli.py, on any
    of its paths, and what importing each first-party module it names pulls in (the
    packages' __init__ modules too), followed to the end. A first-party module's function
    that imports more (phone.py's parser needs phonenumbers) is one the CLI never calls:
    test_cli.py runs the CLI with phonenumbers missing."""
    seen: set[str] = set()
    pending = ["optin.cli"]
    third_party: set[str] = set()
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        pending.extend(".".join(parts[:n]) for n in range(1, len(parts)))  # the packages
        for name in imports_of(module, into_functions=module == "optin.cli"):
            top = name.split(".")[0]
            if top == "optin":
                pending.append(name)
            elif top not in sys.stdlib_module_names:
                third_party.add(top)
    return third_party


def test_the_optin_script_names_a_callable_that_exists():
    target = PROJECT["project"]["scripts"]["optin"]
    module, _, attribute = target.partition(":")
    entry = getattr(importlib.import_module(module), attribute)
    assert callable(entry)
    assert entry is cli.command


def test_the_dependencies_are_what_the_cli_imports():
    imported = cli_third_party_imports()
    assert imported == {"botocore"}  # SigV4, imported only when a request is signed
    assert declared_dependencies() == {DISTRIBUTION[name] for name in imported}


def test_installing_the_package_pulls_in_neither_the_cdk_nor_moto():
    declared = declared_dependencies()
    for heavy in ("aws-cdk-lib", "constructs", "cdk-nag", "moto", "boto3", "pytest"):
        assert heavy not in declared
    assert "optional-dependencies" not in PROJECT["project"]


def test_the_package_is_built_from_lambdas():
    assert PROJECT["build-system"]["build-backend"] == "setuptools.build_meta"
    found = PROJECT["tool"]["setuptools"]["packages"]["find"]
    assert found["where"] == ["lambdas"]
    assert (LAMBDAS / "optin" / "cli.py").is_file()


def test_the_existing_tool_configuration_is_kept():
    tools = PROJECT["tool"]
    assert tools["pytest"]["ini_options"]["pythonpath"] == ["lambdas", "."]
    assert tools["mypy"]["files"] == ["lambdas/optin", "infra", "local", "app.py"]
    assert tools["ruff"]["line-length"] == 100


def test_the_entry_point_runs_in_process_as_optin(monkeypatch, capsys):
    """As the console script calls it: no arguments, sys.argv as the shell passed it."""
    monkeypatch.delenv("OPTIN_API_URL", raising=False)
    monkeypatch.setattr(sys, "argv", ["optin", "--help"])
    with pytest.raises(SystemExit) as exited:
        cli.command()
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: optin ")
    assert "broadcast" in help_text
    monkeypatch.setattr(sys, "argv", ["optin", "--api", "http://127.0.0.1:9/admin", "segments"])
    assert cli.command() == cli.FAILED
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("optin: cannot reach http://127.0.0.1:9/admin")
