"""The optional bot check (botChallenge): WAF rule, token domain, form integration, CSP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.api import WAF_TOKEN_HEADER
from infra.protection import BOT_CHALLENGE_RULE, MANAGED_RULE_GROUPS, RATE_LIMIT_RULE
from infra.site import CONFIG_FILE, WAF_SDK_SOURCES
from tests.infra.conftest import Synthesized, cfn_lint_errors, context_with, synthesize


@pytest.fixture(scope="module", params=["challenge", "captcha"])
def checked(request: pytest.FixtureRequest) -> Synthesized:
    return synthesize(f"bot-{request.param}", context_with(botChallenge=request.param))


def mode(synth: Synthesized) -> str:
    return synth.stack.config.bot_challenge


def rules(synth: Synthesized) -> list[dict[str, Any]]:
    acl = synth.only("AWS::WAFv2::WebACL")
    return sorted(acl["Rules"], key=lambda rule: rule["Priority"])


def csp_directives(synth: Synthesized) -> dict[str, str]:
    policy = synth.only("AWS::CloudFront::ResponseHeadersPolicy")
    csp = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    parts = csp["ContentSecurityPolicy"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "{token}" for p in parts)
    return dict(d.strip().split(" ", 1) for d in text.split(";") if " " in d.strip())


def preflight_headers(synth: Synthesized) -> str:
    [options] = [
        m["Properties"]
        for m in synth.resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    [response] = options["Integration"]["IntegrationResponses"]
    return str(
        response["ResponseParameters"]["method.response.header.Access-Control-Allow-Headers"]
    )


def form_config(synth: Synthesized) -> tuple[dict[str, Any], dict[str, Any]]:
    properties = synth.only("Custom::CDKBucketDeployment")
    config_key = properties["SourceObjectKeys"][1]
    text = (synth.outdir / f"asset.{config_key.removesuffix('.zip')}" / CONFIG_FILE).read_text()
    markers = properties["SourceMarkers"][1]
    for marker in markers:
        text = text.replace(marker, f'"{marker}"')
    return json.loads(text), markers


def rendered(value: str | dict[str, Any]) -> dict[str, Any]:
    """A custom resource's SDK call, its deploy-time values shown as TOKEN."""
    if isinstance(value, str):
        return dict(json.loads(value))
    parts = value["Fn::Join"][1]
    return dict(json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts)))


def test_by_default_there_is_no_bot_check_and_the_form_loads_nothing_from_aws_waf(
    new_number: Synthesized,
) -> None:
    assert BOT_CHALLENGE_RULE not in [rule["Name"] for rule in rules(new_number)]
    assert "TokenDomains" not in new_number.only("AWS::WAFv2::WebACL")
    directives = csp_directives(new_number)
    assert "script-src" not in directives  # default-src 'self' alone
    assert "awswaf" not in json.dumps(directives)
    assert WAF_TOKEN_HEADER not in preflight_headers(new_number)
    config, _ = form_config(new_number)
    assert config["botChallenge"] == "none"
    assert config["wafIntegrationUrl"] == ""
    assert not new_number.resources("Custom::AWS")


def test_the_check_runs_after_the_managed_groups_and_before_the_rate_limit(
    checked: Synthesized,
) -> None:
    names = [rule["Name"] for rule in rules(checked)]
    assert names == [*MANAGED_RULE_GROUPS, BOT_CHALLENGE_RULE, RATE_LIMIT_RULE]
    [rule] = [r for r in rules(checked) if r["Name"] == BOT_CHALLENGE_RULE]
    expected_action = "Captcha" if mode(checked) == "captcha" else "Challenge"
    assert rule["Action"] == {expected_action: {}}
    [path, method] = rule["Statement"]["AndStatement"]["Statements"]
    assert path["ByteMatchStatement"]["FieldToMatch"] == {"UriPath": {}}
    assert path["ByteMatchStatement"]["SearchString"] == "/register"
    # POST only: a challenged CORS preflight would break the form's cross-origin post.
    assert method["ByteMatchStatement"]["FieldToMatch"] == {"Method": {}}
    assert method["ByteMatchStatement"]["PositionalConstraint"] == "EXACTLY"
    assert method["ByteMatchStatement"]["SearchString"] == "post"


def test_the_api_accepts_tokens_issued_to_the_forms_domain(checked: Synthesized) -> None:
    acl = checked.only("AWS::WAFv2::WebACL")
    distribution = checked.logical_id(checked.stack.site.distribution)
    assert acl["TokenDomains"] == [{"Fn::GetAtt": [distribution, "DomainName"]}]
    assert WAF_TOKEN_HEADER in preflight_headers(checked)


def test_the_csp_allows_aws_waf_scripts_and_token_calls_and_nothing_else_new(
    checked: Synthesized,
) -> None:
    directives = csp_directives(checked)
    assert directives["script-src"] == f"'self' {WAF_SDK_SOURCES}"
    assert directives["connect-src"].endswith(f" {WAF_SDK_SOURCES}")
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


def test_the_form_gets_the_integration_url_read_at_deploy_time(checked: Synthesized) -> None:
    config, markers = form_config(checked)
    assert config["botChallenge"] == mode(checked)
    calls = [rendered(r["Properties"]["Create"]) for r in checked.resources("Custom::AWS").values()]
    reads = [call for call in calls if call["service"] == "@aws-sdk/client-wafv2"]
    actions = sorted(call["action"] for call in reads)
    expected = ["CreateAPIKey", "GetWebACL"] if mode(checked) == "captcha" else ["GetWebACL"]
    assert actions == expected

    def attribute(marker: str) -> list[str]:
        [_, value, _] = markers[marker]["Fn::Join"][1]  # the value between JSON quotes
        return list(value["Fn::GetAtt"])

    [integration] = [
        logical_id
        for logical_id, r in checked.resources("Custom::AWS").items()
        if "GetWebACL" in json.dumps(r["Properties"]["Create"])
    ]
    assert attribute(config["wafIntegrationUrl"]) == [integration, "ApplicationIntegrationURL"]
    [get] = [call for call in reads if call["action"] == "GetWebACL"]
    assert get["parameters"] == {"Name": "SmsOptIn-api", "Scope": "REGIONAL", "Id": "TOKEN"}
    if mode(checked) == "captcha":
        assert attribute(config["wafCaptchaApiKey"])[1] == "APIKey"
        [create] = [call for call in reads if call["action"] == "CreateAPIKey"]
        assert create["parameters"] == {"Scope": "REGIONAL", "TokenDomains": ["TOKEN"]}
    else:
        assert config["wafCaptchaApiKey"] == ""


def test_cfn_lint_finds_no_error_with_a_bot_check(checked: Synthesized) -> None:
    assert cfn_lint_errors(checked.template) == []
