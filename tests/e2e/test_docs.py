"""The repository's own reference stands alone: its links resolve inside the checkout, and
it names every setting, error code and local-mode route the code has."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.errors import ERROR_STATUS
from tests.support.harness import ROOT

DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")
# Files this reference owns: none may point at a document outside the repository.
# Every file of the repository a person reads: nothing in it may point outside it.
OWN_FILES = [
    *sorted(p for p in ROOT.iterdir() if p.is_file()),
    *(
        path
        for folder in ("docs", "web", "local", "lambdas", "infra", "benchmarks", "tests", ".ci")
        for path in sorted((ROOT / folder).rglob("*"))
        if "__pycache__" not in path.parts
    ),
]
OUTSIDE = re.compile("|".join(["SP" + "EC" + r"\b", r"\.\./" + "shared", "STYLE" + r"\.md"]))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_resolves_inside_the_repository(page: Path) -> None:
    for target in _LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        resolved = (page.parent / target.split("#", 1)[0]).resolve()
        assert resolved.is_relative_to(ROOT), f"{page.name} links outside: {target}"
        assert resolved.exists(), f"{page.name} links to a missing file: {target}"


def test_no_owned_file_points_to_a_document_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in OWN_FILES
        if path.is_file() and path.suffix not in (".png", ".pyc")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found


def test_the_readme_links_the_reference() -> None:
    readme = (ROOT / "README.md").read_text()
    for page in ("lifecycle.md", "api.md", "configuration.md", "local-mode.md", "openapi.yaml"):
        assert f"(docs/{page})" in readme


def test_the_configuration_reference_names_every_setting_and_variable() -> None:
    from optin.settings import ENVIRONMENT

    reference = (DOCS / "configuration.md").read_text()
    context_keys = set(
        re.findall(
            r"Setting\(\s*\"(\w+)\"",
            (ROOT / "infra" / "config.py").read_text(),
        )
    )
    context_keys |= {key for key in ENVIRONMENT.values() if not key.startswith("(")}
    assert {"stackName", "originationIdentity", "logLevel"} <= context_keys
    missing = sorted(key for key in context_keys if f"`{key}`" not in reference)
    assert not missing
    variables = [*ENVIRONMENT, "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_SERVICE_NAME"]
    assert not [variable for variable in variables if f"`{variable}`" not in reference]


def openapi_document() -> dict[str, Any]:
    return dict(yaml.safe_load((DOCS / "openapi.yaml").read_text()))


def openapi_error_codes(document: dict[str, Any]) -> list[str]:
    error = document["components"]["schemas"]["Error"]["properties"]["error"]
    return list(error["properties"]["code"]["enum"])


def api_reference_rows() -> dict[str, int]:
    """docs/api.md's error table: each code and its status."""
    reference = (DOCS / "api.md").read_text()
    return {
        match[2]: int(match[1])
        for match in re.finditer(r"^\| (\d{3}) \| `([A-Z_]+)` \|", reference, re.MULTILINE)
    }


def test_the_api_reference_explains_every_error_code_of_the_openapi_document() -> None:
    document = openapi_document()
    codes = openapi_error_codes(document)
    rows = api_reference_rows()
    assert set(codes) <= set(rows)
    for code in codes:
        statuses = [
            status
            for status, spec in document["paths"]["/register"]["post"]["responses"].items()
            if code in str(spec.get("description", ""))
        ]
        assert statuses == [str(rows[code])], code


def test_the_api_documents_each_error_code_the_code_answers_with_its_status() -> None:
    assert sorted(openapi_error_codes(openapi_document())) == sorted(ERROR_STATUS)
    rows = api_reference_rows()
    assert {code: rows.get(code) for code in ERROR_STATUS} == ERROR_STATUS


def test_the_local_mode_reference_lists_every_route_of_the_server() -> None:
    source = (ROOT / "local" / "server.py").read_text()
    routes = set(re.findall(r'path == "(/[\w./]+)"', source))
    routes |= {f"/simulator/api/{route}" for route in re.findall(r'route == "(\w+)"', source)}
    routes |= {
        f"/simulator/api/{route}" for route in re.findall(r'route\.startswith\("(\w+)/"\)', source)
    }
    assert {"/register", "/config.json", "/simulator/api/inbound"} <= routes
    reference = (DOCS / "local-mode.md").read_text()
    assert not [route for route in routes if f"{route}" not in reference]
