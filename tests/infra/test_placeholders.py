"""The example branding of cdk.json previews fine and never deploys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest

from infra import names
from infra.config import load
from infra.placeholders import DEPLOY_VARIABLE, RULE_ID, ExampleBranding, example_settings
from infra.stack import create_stack
from optin.settings import Settings
from tests.infra.conftest import Synthesized, cdk_json_context, context_with, synthesize

OWN_BRANDING = {
    "brandName": "Acme Parcels",
    "termsUrl": "https://acme-parcels.test/sms-terms",
    "privacyUrl": "https://acme-parcels.test/privacy",
    "helpContact": "help@acme-parcels.test",
}
EXAMPLE_KEYS = ["brandName", "termsUrl", "privacyUrl", "helpContact"]


def checked(**changes: object) -> Settings:
    return load(context_with(**changes).get).checked


def test_cdk_json_as_shipped_holds_the_example_brand_links_and_contact() -> None:
    assert example_settings(checked()) == EXAMPLE_KEYS


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (OWN_BRANDING, []),
        ({**OWN_BRANDING, "brandName": "example co"}, ["brandName"]),
        ({**OWN_BRANDING, "termsUrl": "https://www.example.org/terms"}, ["termsUrl"]),
        ({**OWN_BRANDING, "privacyUrl": "https://EXAMPLE.NET/p"}, ["privacyUrl"]),
        ({**OWN_BRANDING, "helpContact": "sms@example.com"}, ["helpContact"]),
        # Look-alikes of the reserved domains are real domains: not refused.
        ({**OWN_BRANDING, "termsUrl": "https://example.company.com/terms"}, []),
        ({**OWN_BRANDING, "helpContact": "help@myexample.com"}, []),
    ],
)
def test_example_values_are_recognised_and_only_they(
    changes: dict[str, str], expected: list[str]
) -> None:
    assert example_settings(checked(**changes)) == expected


def test_a_preview_template_carries_a_rule_that_refuses_to_deploy(
    new_number: Synthesized,
) -> None:
    rule = new_number.template["Rules"][RULE_ID]
    [assertion] = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": ["example-branding", "replaced"]}
    for key in EXAMPLE_KEYS:
        assert key in assertion["AssertDescription"]
    assert "RuleCondition" not in rule  # always applies


def test_own_branding_leaves_no_rule_in_the_template() -> None:
    synth = synthesize("own-branding", context_with(**OWN_BRANDING))
    assert RULE_ID not in synth.template.get("Rules", {})


def test_a_deployment_synthesis_refuses_examples_before_building_anything() -> None:
    app = cdk.App(context=context_with(termsUrl="https://acme-parcels.test/terms"))
    with pytest.raises(ExampleBranding) as raised:
        create_stack(app, deploying=True)
    assert raised.value.settings == ["brandName", "privacyUrl", "helpContact"]
    assert "refusing to deploy with example values in brandName, privacyUrl, helpContact" in str(
        raised.value
    )


def test_make_deploys_variable_makes_the_app_exit_with_one_clear_line(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        DEPLOY_VARIABLE: "1",
        "CDK_OUTDIR": str(tmp_path),
        "CDK_CONTEXT_JSON": json.dumps(cdk_json_context()),
    }
    finished = subprocess.run(
        [sys.executable, str(names.REPO_ROOT / "app.py")],
        cwd=names.REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 1
    assert "Traceback" not in finished.stderr
    assert "refusing to deploy with example values in brandName" in finished.stderr
    assert not list(tmp_path.iterdir())  # nothing was synthesized


def test_make_deploy_synthesizes_as_a_deployment() -> None:
    makefile = (names.REPO_ROOT / "Makefile").read_text()
    assert f"{DEPLOY_VARIABLE}=1 $(CDK) deploy" in makefile
