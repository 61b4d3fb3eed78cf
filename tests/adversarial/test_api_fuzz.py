"""The API document, fuzzed against local mode: no 5xx, and every 4xx in the error shape,
the public API's or the operator API's.

Local mode runs the real handlers behind a stdlib HTTP server (started here on a free
port, as ``make dev`` starts it); schemathesis generates requests from docs/openapi.yaml,
both valid and invalid ones.
"""

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
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.errors import REFUSAL_STATUS
from tests.support.harness import ROOT
from tests.support.local_mode import LocalMode

DOCUMENT = ROOT / "docs" / "openapi.yaml"
ADMIN_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CHECKS = [*ADMIN_CHECKS, response_headers_conformance]
ADMIN_CODES = set(
    yaml.safe_load(DOCUMENT.read_text())["components"]["schemas"]["AdminError"]["properties"][
        "error"
    ]["properties"]["code"]["enum"]
)

schema = schemathesis.openapi.from_path(DOCUMENT).include(path="/register")
admin_schema = schemathesis.openapi.from_path(DOCUMENT).include(path_regex="^/admin/")


@pytest.fixture(scope="module")
def local_mode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMode]:
    log = Path(tmp_path_factory.mktemp("local-mode")) / "console.log"
    with LocalMode(log) as mode:
        for number in ("+12065550142", "+14165550142"):  # subscribers for the operator API
            form = {"phoneNumber": number, "firstName": "Ada", "lastName": "L", "consent": True}
            assert mode.json("POST", "/register", form)[0] == 202
        yield mode
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text()


@schema.parametrize()
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_follows_the_document(case, local_mode):
    if case.method.upper() not in ("POST", "OPTIONS"):
        return  # methods the document does not list: see the test below
    response = case.call(base_url=local_mode.base_url)
    case.validate_response(response, checks=CHECKS)
    if 400 <= response.status_code < 500 and case.method == "POST":
        error = json.loads(response.content)["error"]
        assert error["code"] in REFUSAL_STATUS
        assert REFUSAL_STATUS[error["code"]] == response.status_code
        assert isinstance(error["message"], str)
        assert error["message"]
        assert set(error) <= {"code", "message", "field"}


def test_undocumented_methods_are_refused_with_405(local_mode):
    for method in ("PUT", "DELETE", "PATCH", "TRACE"):
        status, headers, _ = local_mode.request(method, "/register")
        assert (method, status) == (method, 405)
        assert headers["Content-Type"] == "application/json"


@admin_schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operator_answer_follows_the_document(case, local_mode):
    if case.method.upper() != case.operation.method.upper():
        return  # another method on a documented path: not the operator API's to answer
    response = case.call(base_url=local_mode.base_url)
    case.validate_response(response, checks=ADMIN_CHECKS)
    if 400 <= response.status_code < 500:
        error = json.loads(response.content)["error"]
        assert error["code"] in ADMIN_CODES
        assert isinstance(error["message"], str)
        assert error["message"]
