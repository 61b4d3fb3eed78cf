"""Abuse protection in front of the API: a regional WAF web ACL and its logs.

Rules, in the order WAF evaluates them:

1. Amazon IP reputation list: sources AWS threat intelligence knows for bots and fraud.
2. Common rule set: the OWASP-style protections (oversized or malformed requests, bad
   user agents, cross-site scripting in bodies).
3. Known bad inputs: request patterns of known exploits.
4. Optionally (``botChallenge``), a bot check on ``POST /register``: WAF's silent
   JavaScript challenge, or a CAPTCHA. The form then loads AWS WAF's integration script
   (its URL and, for a CAPTCHA, an API key for the form's domain are read at deploy time)
   and sends WAF's token with each registration.
5. A rate limit per client IP on ``POST /register`` over five minutes: one person signs up
   once; a script walking number ranges (SMS pumping) is stopped after a few attempts, and
   it answers the API's own 429 shape so the form shows its usual message.

The logs redact what could carry a phone number or a credential: the query string, the
URI path (the operator routes name numbers in it) and the Authorization header. WAF never
logs request bodies, where the form puts the number.
"""

from __future__ import annotations

import json

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra import names
from infra.functions import retention
from optin.domain.errors import WAF_BLOCKED

# AWS managed rule groups (no subscription fee; each counts as one rule of the ACL).
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
RATE_WINDOW_SECONDS = 300
RATE_LIMIT_RULE = "RegistrationsPerIp"
BOT_CHALLENGE_RULE = "BotChallenge"
WAF_SDK = "@aws-sdk/client-wafv2"
TOO_MANY_BODY_KEY = "TooManyRequests"
# WAF requires this prefix for a CloudWatch Logs destination.
LOG_GROUP_PREFIX = "aws-waf-logs-"


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True,
        metric_name=metric_name,
        sampled_requests_enabled=True,
    )


class Protection(Construct):
    """The web ACL, associated with the API's stage, and its redacted logs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_arn: str,
        registrations_per_ip: int,
        log_retention_days: int,
        bot_challenge: str = "none",
        form_domain: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.web_acl_name = f"{stack.stack_name}-api"
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_visibility(group),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        if bot_challenge != "none":
            rules.append(self._bot_check(len(rules), bot_challenge))
        rules.append(self._rate_limit(len(rules), registrations_per_ip))
        too_many = {
            "error": {
                "code": WAF_BLOCKED.code,
                "message": WAF_BLOCKED.message,
                "field": None,
            }
        }
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=self.web_acl_name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(self.web_acl_name),
            custom_response_bodies={
                TOO_MANY_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=json.dumps(too_many)
                )
            },
            rules=rules,
            # The form's page gets WAF's token; the API, on another domain, must accept it.
            token_domains=[form_domain] if bot_challenge != "none" and form_domain else None,
        )
        self.integration_url = ""
        self.captcha_api_key = ""
        if bot_challenge != "none":
            self._read_integration(stack, bot_challenge, form_domain)
        wafv2.CfnWebACLAssociation(
            self, "ApiAssociation", resource_arn=stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"{LOG_GROUP_PREFIX}{stack.stack_name}",
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[
                stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=self.log_group.log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(query_string={}),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(uri_path={}),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(
                    single_header={"Name": "authorization"}
                ),
            ],
        )

    def _read_integration(self, stack: Stack, bot_challenge: str, form_domain: str) -> None:
        """WAF's JavaScript integration URL (and a CAPTCHA API key for the form's domain):
        CloudFormation does not return them, so they are read at deploy time."""
        acl_arn = self.web_acl.attr_arn

        def call(action: str, parameters: dict[str, object], output: str) -> cr.AwsSdkCall:
            return cr.AwsSdkCall(
                service=WAF_SDK,
                action=action,
                parameters=parameters,
                physical_resource_id=cr.PhysicalResourceId.of(f"{self.web_acl_name}/{action}"),
                output_paths=[output],
            )

        integration = cr.AwsCustomResource(
            self,
            "IntegrationUrl",
            on_update=call(
                "GetWebACL",
                {
                    "Name": self.web_acl_name,
                    "Scope": "REGIONAL",
                    "Id": self.web_acl.attr_id,
                },
                "ApplicationIntegrationURL",
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["wafv2:GetWebACL"], resources=[acl_arn])]
            ),
            install_latest_aws_sdk=False,
        )
        self.integration_url = integration.get_response_field("ApplicationIntegrationURL")
        if bot_challenge != "captcha":
            return
        api_key = cr.AwsCustomResource(
            self,
            "CaptchaApiKey",
            on_update=call(
                "CreateAPIKey", {"Scope": "REGIONAL", "TokenDomains": [form_domain]}, "APIKey"
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["wafv2:CreateAPIKey"],
                        resources=[
                            stack.format_arn(
                                service="wafv2", resource="regional", resource_name="apikey/*"
                            )
                        ],
                    )
                ]
            ),
            install_latest_aws_sdk=False,
        )
        self.captcha_api_key = api_key.get_response_field("APIKey")

    @staticmethod
    def _bot_check(priority: int, bot_challenge: str) -> wafv2.CfnWebACL.RuleProperty:
        """Challenge (or CAPTCHA) each POST /register without a valid WAF token. Never the
        CORS preflight: a challenged OPTIONS would break the form's cross-origin post."""

        def matches(field: wafv2.CfnWebACL.FieldToMatchProperty, constraint: str, text: str):
            return wafv2.CfnWebACL.StatementProperty(
                byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                    field_to_match=field,
                    positional_constraint=constraint,
                    search_string=text,
                    text_transformations=[
                        wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")
                    ],
                )
            )

        action = (
            wafv2.CfnWebACL.RuleActionProperty(captcha={})
            if bot_challenge == "captcha"
            else wafv2.CfnWebACL.RuleActionProperty(challenge={})
        )
        return wafv2.CfnWebACL.RuleProperty(
            name=BOT_CHALLENGE_RULE,
            priority=priority,
            action=action,
            statement=wafv2.CfnWebACL.StatementProperty(
                and_statement=wafv2.CfnWebACL.AndStatementProperty(
                    statements=[
                        matches(
                            wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                            "ENDS_WITH",
                            f"/{names.REGISTER_PATH}",
                        ),
                        matches(wafv2.CfnWebACL.FieldToMatchProperty(method={}), "EXACTLY", "post"),
                    ]
                )
            ),
            visibility_config=_visibility(BOT_CHALLENGE_RULE),
        )

    @staticmethod
    def _rate_limit(priority: int, limit: int) -> wafv2.CfnWebACL.RuleProperty:
        """Block an IP past ``limit`` registrations in five minutes, in the API's 429 shape."""
        register_path = wafv2.CfnWebACL.StatementProperty(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                positional_constraint="ENDS_WITH",
                search_string=f"/{names.REGISTER_PATH}",
                text_transformations=[
                    wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")
                ],
            )
        )
        return wafv2.CfnWebACL.RuleProperty(
            name=RATE_LIMIT_RULE,
            priority=priority,
            action=wafv2.CfnWebACL.RuleActionProperty(
                block=wafv2.CfnWebACL.BlockActionProperty(
                    custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                        response_code=429,
                        custom_response_body_key=TOO_MANY_BODY_KEY,
                        response_headers=[
                            wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                                name="Retry-After", value=str(RATE_WINDOW_SECONDS)
                            )
                        ],
                    )
                )
            ),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP",
                    limit=limit,
                    evaluation_window_sec=RATE_WINDOW_SECONDS,
                    scope_down_statement=register_path,
                )
            ),
            visibility_config=_visibility(RATE_LIMIT_RULE),
        )
