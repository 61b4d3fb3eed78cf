"""SnapStart (context ``snapStart``, on by default): registration, inbound and sender are
published, snapshotted versions behind a ``live`` alias, and every caller invokes the alias.
With it off they are invoked unqualified and nothing is versioned."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import functions, names
from optin.configuration import SettingError
from tests.infra.conftest import Synthesized, cfn_lint_errors, context_with, synthesize

SNAPPED = ("registration", "inbound", "sender")
UNSNAPPED = ("delivery",)


@pytest.fixture(scope="module")
def snap_start_off() -> Synthesized:
    return synthesize("snap-start-off", context_with(snapStart=False))


def _function(synth: Synthesized, name: str) -> Any:
    return getattr(synth.stack, name)


def _alias(synth: Synthesized, name: str) -> dict[str, Any]:
    function_id = synth.logical_id(_function(synth, name).function)
    found = [
        resource["Properties"]
        for resource in synth.resources("AWS::Lambda::Alias").values()
        if resource["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert len(found) == 1, name
    return found[0]


def _alias_ref(synth: Synthesized, name: str) -> dict[str, str]:
    return {"Ref": synth.logical_id(_function(synth, name).alias)}


def _properties(synth: Synthesized, construct: Any) -> dict[str, Any]:
    resource = synth.template["Resources"][synth.logical_id(construct)]
    return dict(resource["Properties"])


def test_snap_start_is_on_by_default_for_the_three_functions(new_number):
    assert new_number.stack.config.snap_start is True
    for name in SNAPPED:
        properties = _properties(new_number, _function(new_number, name).function)
        assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}, name
        assert properties["Runtime"] == "python3.14"
    for name in UNSNAPPED:
        assert "SnapStart" not in _properties(new_number, _function(new_number, name).function)
    admin = new_number.stack.admin
    for construct in (admin.function.function, admin.housekeeping.function):
        assert "SnapStart" not in _properties(new_number, construct)


def test_each_alias_is_live_on_a_published_version_of_its_function(new_number):
    versions = new_number.resources("AWS::Lambda::Version")
    for name in SNAPPED:
        alias = _alias(new_number, name)
        assert alias["Name"] == functions.LIVE_ALIAS
        version_id = alias["FunctionVersion"]["Fn::GetAtt"][0]
        assert version_id in versions
        function_id = new_number.logical_id(_function(new_number, name).function)
        assert versions[version_id]["Properties"]["FunctionName"] == {"Ref": function_id}
        # A replaced version (and its cached snapshot) is deleted, not kept.
        assert versions[version_id]["DeletionPolicy"] == "Delete"


def test_the_api_invokes_the_registration_alias(new_number):
    alias = _alias_ref(new_number, "registration")
    methods = [
        resource["Properties"]
        for resource in new_number.resources("AWS::ApiGateway::Method").values()
        if resource["Properties"]["HttpMethod"] == "POST"
        and resource["Properties"].get("Integration", {}).get("Type") == "AWS_PROXY"
        and "register" in str(resource["Properties"]["ResourceId"]).lower()
    ]
    assert methods
    for method in methods:
        assert alias in _refs(method["Integration"]["Uri"])
    permissions = [
        resource["Properties"]
        for resource in new_number.resources("AWS::Lambda::Permission").values()
        if resource["Properties"]["Principal"] == "apigateway.amazonaws.com"
        and resource["Properties"]["FunctionName"] == alias
    ]
    assert permissions


def test_the_inbound_topic_invokes_the_inbound_alias(new_number):
    alias = _alias_ref(new_number, "inbound")
    function = {"Ref": new_number.logical_id(new_number.stack.inbound.function)}
    lambda_subscriptions = [
        resource["Properties"]
        for resource in new_number.resources("AWS::SNS::Subscription").values()
        if resource["Properties"]["Protocol"] == "lambda"
    ]
    endpoints = [subscription["Endpoint"] for subscription in lambda_subscriptions]
    # The alias's ARN: the function's ARN and the alias name.
    function_arn = {"Fn::GetAtt": [function["Ref"], "Arn"]}
    assert {"Fn::Join": [":", [function_arn, functions.LIVE_ALIAS]]} in endpoints
    assert function_arn not in endpoints
    sns_permissions = [
        resource["Properties"]["FunctionName"]
        for resource in new_number.resources("AWS::Lambda::Permission").values()
        if resource["Properties"]["Principal"] == "sns.amazonaws.com"
    ]
    assert alias in sns_permissions


def test_the_inbound_alias_carries_its_retries_and_failure_destination(new_number):
    alias = _alias_ref(new_number, "inbound")
    configs = [
        resource["Properties"]
        for resource in new_number.resources("AWS::Lambda::EventInvokeConfig").values()
        if resource["Properties"]["FunctionName"]
        == {"Ref": new_number.logical_id(new_number.stack.inbound.function)}
    ]
    assert len(configs) == 1
    # The alias's own qualifier (its name, taken from its ARN), not $LATEST.
    assert alias in _refs(configs[0]["Qualifier"])
    assert configs[0]["MaximumRetryAttempts"] == names.INBOUND_RETRY_ATTEMPTS
    assert "OnFailure" in configs[0]["DestinationConfig"]


def test_both_send_queues_map_to_the_sender_alias(new_number):
    alias = _alias_ref(new_number, "sender")
    mappings = list(new_number.resources("AWS::Lambda::EventSourceMapping").values())
    assert len({str(m["Properties"]["EventSourceArn"]) for m in mappings}) >= 2
    for mapping in mappings:
        # function-name:live, the name taken from the alias's ARN
        name = mapping["Properties"]["FunctionName"]
        assert alias in _refs(name)
        assert name["Fn::Join"][1][-1] == f":{functions.LIVE_ALIAS}"


def test_with_snap_start_off_nothing_is_versioned_and_callers_invoke_the_function(
    snap_start_off,
):
    synth = snap_start_off
    assert synth.stack.config.snap_start is False
    assert not synth.resources("AWS::Lambda::Alias")
    assert not synth.resources("AWS::Lambda::Version")
    for name in SNAPPED:
        function = _function(synth, name)
        assert function.alias is None
        assert function.target is function.function
        assert "SnapStart" not in _properties(synth, function.function)
    sender = {"Ref": synth.logical_id(synth.stack.sender.function)}
    for mapping in synth.resources("AWS::Lambda::EventSourceMapping").values():
        assert mapping["Properties"]["FunctionName"] == sender
    inbound = {"Ref": synth.logical_id(synth.stack.inbound.function)}
    endpoints = [
        resource["Properties"]["Endpoint"]
        for resource in synth.resources("AWS::SNS::Subscription").values()
        if resource["Properties"]["Protocol"] == "lambda"
    ]
    assert {"Fn::GetAtt": [inbound["Ref"], "Arn"]} in endpoints
    configs = [
        resource["Properties"]
        for resource in synth.resources("AWS::Lambda::EventInvokeConfig").values()
        if resource["Properties"]["FunctionName"] == inbound
    ]
    assert [config["Qualifier"] for config in configs] == ["$LATEST"]


def test_a_bad_snap_start_value_fails_synth_naming_the_setting():
    from infra import config

    with pytest.raises(SettingError, match="snapStart"):
        config.load(context_with(snapStart="sometimes").get)
    assert config.load(context_with(snapStart=None).get).snap_start is True


def _refs(value: Any) -> list[Any]:
    """Every Ref / Fn::GetAtt inside a CloudFormation value."""
    found: list[Any] = []
    if isinstance(value, dict):
        if set(value) <= {"Ref", "Fn::GetAtt"}:
            found.append(value)
        for inner in value.values():
            found.extend(_refs(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_refs(inner))
    return found


def test_cdk_nag_and_cfn_lint_stay_clean_with_snap_start_off(snap_start_off):
    """cdk-nag runs at synthesis (a finding fails it); with snapStart on, test_template
    checks every mode."""
    report = snap_start_off.outdir / "validation-report.json"
    if report.exists():
        content = json.loads(report.read_text())
        violations = [v for p in content.get("pluginReports", []) for v in p.get("violations", [])]
        assert violations == []
    assert cfn_lint_errors(snap_start_off.template) == []
