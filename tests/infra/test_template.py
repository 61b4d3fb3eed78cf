"""The synthesized templates as a whole: cdk-nag, cfn-lint, outputs."""

from __future__ import annotations

import json

import pytest

from infra import names
from tests.infra.conftest import Synthesized, cfn_lint_errors


def test_cdk_nag_leaves_no_unacknowledged_finding(each_mode: Synthesized) -> None:
    """AwsSolutions runs as a policy-validation plugin: synthesis itself fails on a finding.
    Reaching here means it passed; the report, when written, must be clean."""
    report = each_mode.outdir / "validation-report.json"
    if report.exists():
        content = json.loads(report.read_text())
        violations = [v for p in content.get("pluginReports", []) for v in p.get("violations", [])]
        assert violations == []


def test_every_acknowledged_finding_carries_a_reason(each_mode: Synthesized) -> None:
    acknowledged = 0
    for construct in each_mode.stack.node.find_all():
        for entry in construct.node.metadata:
            if "acknowledg" in entry.type.lower():
                data = entry.data if isinstance(entry.data, list) else [entry.data]
                for item in data:
                    for rule, reason in item.items():
                        acknowledged += 1
                        assert "AwsSolutions-" in rule
                        assert len(reason) > 40, rule
    assert acknowledged > 0


def test_cfn_lint_finds_no_error(each_mode: Synthesized) -> None:
    assert cfn_lint_errors(each_mode.template) == []


@pytest.mark.parametrize(
    "output",
    [
        names.OUTPUT_FORM_URL,
        names.OUTPUT_API_URL,
        names.OUTPUT_TABLE_NAME,
        names.OUTPUT_INBOUND_TOPIC_ARN,
        names.OUTPUT_ORIGINATION_IDENTITY,
    ],
)
def test_outputs_have_stable_logical_ids(each_mode: Synthesized, output: str) -> None:
    assert output in each_mode.template["Outputs"]
