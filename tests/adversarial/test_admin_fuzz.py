"""The operator API's part of the document, fuzzed against local mode's /admin: no 5xx,
every answer as documented, every refusal in the operator API's error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.harness import ROOT
from tests.support.local_mode import LocalMode

DOCUMENT = ROOT / "docs" / "openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ADMIN_CODES = set(
    yaml.safe_load(DOCUMENT.read_text())["components"]["schemas"]["AdminError"]["properties"][
        "error"
    ]["properties"]["code"]["enum"]
)

schema = schemathesis.openapi.from_path(DOCUMENT).include(path_regex="^/admin/")


@pytest.fixture(scope="module")
def local_mode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMode]:
    log = Path(tmp_path_factory.mktemp("local-mode")) / "console.log"
    mode = LocalMode(log)
    for number in ("+12065550142", "+14165550142"):
        status, _ = mode.json(
            "POST",
            "/register",
            {"phoneNumber": number, "firstName": "Ada", "lastName": "L", "consent": True},
        )
        assert status == 202
    yield mode
    mode.stop()
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text()


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operator_answer_follows_the_document(case, local_mode):
    if case.method.upper() != case.operation.method.upper():
        return  # another method on a documented path: not the operator API's to answer
    response = case.call(base_url=local_mode.base_url)
    case.validate_response(response, checks=CHECKS)
    if 400 <= response.status_code < 500:
        error = json.loads(response.content)["error"]
        assert error["code"] in ADMIN_CODES
        assert isinstance(error["message"], str)
        assert error["message"]
