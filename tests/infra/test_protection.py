"""Abuse protection on the template: the web ACL, its logs, the message key, protect mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import load
from infra.protection import LOG_GROUP_PREFIX, MANAGED_RULE_GROUPS, RATE_LIMIT_RULE
from optin.configuration import SettingError
from optin.domain.errors import TooManyRequests
from tests.infra.conftest import ADOPTED_NUMBER_ID, Synthesized, context_with, synthesize


@pytest.fixture(scope="module")
def strict() -> Synthesized:
    """A stricter per-IP limit and AWS's traffic filtering for the allowed countries."""
    return synthesize(
        "strict-protection",
        context_with(registrationsPerIpPer5Minutes=25, protectMode="FILTER"),
    )


def web_acl(synth: Synthesized) -> dict[str, Any]:
    return synth.only("AWS::WAFv2::WebACL")


def rules(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in web_acl(synth)["Rules"]}


def test_the_web_acl_is_regional_allows_by_default_and_runs_the_managed_groups_first(
    each_mode: Synthesized,
) -> None:
    acl = web_acl(each_mode)
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    ordered = sorted(acl["Rules"], key=lambda rule: rule["Priority"])
    assert [rule["Name"] for rule in ordered] == [*MANAGED_RULE_GROUPS, RATE_LIMIT_RULE]
    for rule in ordered[: len(MANAGED_RULE_GROUPS)]:
        statement = rule["Statement"]["ManagedRuleGroupStatement"]
        assert statement == {"VendorName": "AWS", "Name": rule["Name"]}
        assert rule["OverrideAction"] == {"None": {}}  # the groups' own block actions apply
    for rule in ordered:
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True


def test_registrations_are_rate_limited_per_ip_in_the_apis_429_shape(
    new_number: Synthesized, strict: Synthesized
) -> None:
    rule = rules(new_number)[RATE_LIMIT_RULE]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    assert rate["Limit"] == 10
    assert rate["EvaluationWindowSec"] == 300
    match = rate["ScopeDownStatement"]["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"UriPath": {}}
    assert match["PositionalConstraint"] == "ENDS_WITH"
    assert match["SearchString"] == "/register"
    response = rule["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == TooManyRequests.status
    assert response["ResponseHeaders"] == [{"Name": "Retry-After", "Value": "300"}]
    body = web_acl(new_number)["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    assert json.loads(body["Content"])["error"]["code"] == TooManyRequests.code
    assert rules(strict)[RATE_LIMIT_RULE]["Statement"]["RateBasedStatement"]["Limit"] == 25


def test_the_web_acl_guards_the_api_stage(new_number: Synthesized) -> None:
    association = new_number.only("AWS::WAFv2::WebACLAssociation")
    acl_id = new_number.logical_id(new_number.stack.protection.web_acl)
    assert association["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    rendered = json.dumps(association["ResourceArn"])
    assert "/restapis/" in rendered
    assert "/stages/" in rendered
    api_id = new_number.logical_id(new_number.stack.api.rest_api)
    stage_id = new_number.logical_id(new_number.stack.api.rest_api.deployment_stage)
    assert {"Ref": api_id} in association["ResourceArn"]["Fn::Join"][1]
    assert {"Ref": stage_id} in association["ResourceArn"]["Fn::Join"][1]


def test_waf_logs_go_to_their_log_group_with_numbers_and_credentials_redacted(
    new_number: Synthesized,
) -> None:
    logging = new_number.only("AWS::WAFv2::LoggingConfiguration")
    [(group_id, group)] = [
        (logical_id, g["Properties"])
        for logical_id, g in new_number.resources("AWS::Logs::LogGroup").items()
        if str(g["Properties"].get("LogGroupName", "")).startswith(LOG_GROUP_PREFIX)
    ]
    assert group["RetentionInDays"] == 90
    [destination] = logging["LogDestinationConfigs"]
    parts = destination["Fn::Join"][1]
    assert parts[-2:] == [":log-group:", {"Ref": group_id}]  # no ":*": WAF refuses it
    assert logging["RedactedFields"] == [
        {"QueryString": {}},
        {"UriPath": {}},
        {"SingleHeader": {"Name": "authorization"}},
    ]


def test_the_inbound_topic_is_encrypted_with_a_rotated_key_end_user_messaging_may_use(
    new_number: Synthesized,
) -> None:
    key_id = new_number.logical_id(new_number.stack.messaging.key)
    topic = new_number.template["Resources"][
        new_number.logical_id(new_number.stack.messaging.inbound_topic)
    ]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = new_number.template["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    [statement] = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s.get("Sid") == "EndUserMessagingPublishesEncrypted"
    ]
    assert statement["Principal"] == {"Service": "sms-voice.amazonaws.com"}
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    conditions = statement["Condition"]
    assert conditions["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # A requested number: this account's phone numbers (its own ARN would be a cycle).
    source = json.dumps(conditions["ArnLike"]["aws:SourceArn"])
    assert ":phone-number/*" in source


def test_an_adopted_number_scopes_the_key_to_that_number(adopted: Synthesized) -> None:
    key = adopted.template["Resources"][adopted.logical_id(adopted.stack.messaging.key)]
    [statement] = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "EndUserMessagingPublishesEncrypted"
    ]
    source = json.dumps(statement["Condition"]["ArnLike"]["aws:SourceArn"])
    assert f":phone-number/{ADOPTED_NUMBER_ID}" in source


def test_protect_mode_filter_applies_to_the_allowed_countries_only(strict: Synthesized) -> None:
    rules = strict.only("AWS::SMSVOICE::ProtectConfiguration")["CountryRuleSet"]["SMS"]
    statuses = {rule["CountryCode"]: rule["ProtectStatus"] for rule in rules}
    assert statuses["US"] == statuses["CA"] == "FILTER"
    assert {status for code, status in statuses.items() if code not in ("US", "CA")} == {"BLOCK"}


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"registrationsPerIpPer5Minutes": 9}, "registrationsPerIpPer5Minutes"),
        ({"registrationsPerIpPer5Minutes": "ten"}, "registrationsPerIpPer5Minutes"),
        ({"protectMode": "BLOCK"}, "protectMode"),
        ({"alarmConfirmationsPerHour": 0}, "alarmConfirmationsPerHour"),
        ({"alarmWafBlocksPer5Minutes": 1.5}, "alarmWafBlocksPer5Minutes"),
    ],
)
def test_invalid_protection_settings_name_themselves(changes: dict[str, Any], setting: str) -> None:
    with pytest.raises(SettingError, match=f"setting {setting} "):
        load(context_with(**changes).get)
