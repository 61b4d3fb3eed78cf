"""cdk-nag (AwsSolutions) findings we acknowledge, each with its reason.

cdk-nag runs as a CDK policy-validation plugin (``infra.stack.create_stack``): any finding
not acknowledged here fails ``cdk synth``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import custom_resources as cr
from constructs import IConstruct

from infra import names

if TYPE_CHECKING:
    from infra.stack import OptInStack

# The construct id aws-cdk-lib gives the singleton function behind every AwsCustomResource.
AWS_CUSTOM_RESOURCE_PROVIDER = "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
_STATIC_SITE_WAF = (
    "The distribution serves only the static form, no personal data and no SMS; the API it "
    "posts to, where sign-ups could be abused, has its own web ACL (infra/protection.py). "
    "A second web ACL would double the fixed monthly cost for nothing to protect."
)
_PUBLIC_FORM = (
    "The public web form registers anonymous visitors: there is no user to authenticate. "
    "Abuse is bounded by the web ACL's per-IP rate limit and managed rules, stage "
    "throttling, the per-number cool-down and daily cap, and the protect configuration's "
    "country allow list."
)
_STATIC_ONLY = (
    "The site serves only the public static form (no personal data); registrations, the "
    "requests that matter, are logged in the API access logs. Another log bucket would add "
    "cost and no evidence."
)
_CDK_HANDLER = (
    "Handler owned by aws-cdk-lib that runs only during deployments; its runtime and its "
    "policy (asset bucket, site bucket, CloudFront invalidation) are chosen by the CDK."
)


def _acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    for rule_id in rule_ids:
        Validations.of(scope).acknowledge(
            Acknowledgment(id=f"AwsSolutions-{rule_id}", reason=reason)
        )


def acknowledge_findings(stack: OptInStack) -> None:
    _acknowledge(
        stack.messaging.dead_letter_queue,
        "This queue is the inbound function's on-failure (dead-letter) destination itself.",
        "SQS3",
    )
    for function in (
        stack.registration,
        stack.inbound,
        stack.sender,
        stack.delivery,
        stack.admin.function,
        stack.admin.housekeeping,
    ):
        _acknowledge(
            function.role,
            "Resource '*' only for actions without resource-level permissions: X-Ray "
            "PutTraceSegments/PutTelemetryRecords (active tracing) and, for the registration "
            "function when numberLookup is carrier, sms-voice:CarrierLookup. Every other "
            "statement names its resources.",
            "IAM5[Resource::*]",
        )
    api = stack.api.rest_api
    _acknowledge(api, _PUBLIC_FORM, "APIG4", "COG4")
    _acknowledge(
        stack.api.admin,
        "The operator API is authorised by IAM (SigV4) on every method: operators sign with "
        "their own AWS credentials, granted by the stack's OperatorAccess managed policy. A "
        "Cognito user pool would add a second identity store for a handful of operators.",
        "COG4",
    )
    _acknowledge(
        stack.admin.erasure_key,
        "The key of the hash erased numbers are kept under: rotating it would make every "
        "erased number unrecognisable (an erased opted-out number could be texted again). "
        "Only the registration, operator and housekeeping functions may read it.",
        "SMG4",
    )
    _acknowledge(
        api,
        "API Gateway's account-level logging role uses the AWS managed policy made for exactly "
        "that (AmazonAPIGatewayPushToCloudWatchLogs).",
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
    )
    site = stack.site
    _acknowledge(site.bucket, _STATIC_ONLY, "S1")
    _acknowledge(site.distribution, _STATIC_ONLY, "CFR3")
    _acknowledge(site.distribution, _STATIC_SITE_WAF, "CFR2")
    _acknowledge(
        site.distribution,
        "Visitors from anywhere may open the form (travellers, roaming numbers); where SMS can "
        "go is limited by allowedCountries and the protect configuration instead.",
        "CFR1",
    )
    _acknowledge(
        site.distribution,
        "The default *.cloudfront.net certificate does not let CloudFront raise the minimum "
        "TLS version; a custom domain with its own certificate would (see docs/deploy.md).",
        "CFR4",
    )
    _acknowledge_operator_policy(stack)
    _acknowledge_bucket_deployment(stack)
    _acknowledge_custom_resource_provider(stack)
    captcha_key = stack.protection.node.try_find_child("CaptchaApiKey")
    if captcha_key is not None:
        _acknowledge(
            captcha_key,
            "CreateAPIKey creates a new key whose id is unknown beforehand; the statement "
            "allows creating WAF API keys in this account and region only, nothing else.",
            "IAM5[Resource::arn:<AWS::Partition>:wafv2:<AWS::Region>:<AWS::AccountId>:"
            "regional/apikey/*]",
        )


def _acknowledge_operator_policy(stack: OptInStack) -> None:
    """execute-api ARNs name a path parameter with ``*``: one per admin method that has one."""
    api = Stack.of(stack).get_logical_id(stack.api.rest_api.node.default_child)  # type: ignore[arg-type]
    prefix = "arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>"
    for method, path in names.ADMIN_ROUTES:
        if "{" not in path:
            continue
        wildcarded = "/".join("*" if part.startswith("{") else part for part in path.split("/"))
        _acknowledge(
            stack.admin.operator_policy,
            "An execute-api ARN stands for a path parameter (the phone number) with '*': this "
            f"grants {method} /{names.ADMIN_PATH}/{path} for any number, on this API and "
            "stage only, which is what an operator needs.",
            f"IAM5[Resource::{prefix}:<{api}>/{names.API_STAGE}/{method}/"
            f"{names.ADMIN_PATH}/{wildcarded}]",
        )


def _acknowledge_custom_resource_provider(stack: OptInStack) -> None:
    """The function behind AwsCustomResource (adopting a number, reading the web ACL's
    integration URL): a CDK singleton."""
    for child in stack.node.children:
        if child.node.id == AWS_CUSTOM_RESOURCE_PROVIDER:
            _acknowledge(
                child,
                "Handler owned by aws-cdk-lib behind AwsCustomResource (configuring an adopted "
                "number, reading the web ACL's integration URL); it runs only during "
                "deployments and may write its own logs with the AWS managed basic execution "
                "policy. Its API calls are limited by the statements beside each call "
                "(infra/messaging.py, infra/protection.py).",
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
            )


def _acknowledge_bucket_deployment(stack: OptInStack) -> None:
    site_bucket = Stack.of(stack).get_logical_id(stack.site.bucket.node.default_child)  # type: ignore[arg-type]
    for child in stack.node.children:
        if child.node.id.startswith("Custom::CDKBucketDeployment"):
            _acknowledge(
                child,
                _CDK_HANDLER,
                "L1",
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                "IAM5[Resource::*]",
                "IAM5[Action::s3:GetBucket*]",
                "IAM5[Action::s3:GetObject*]",
                "IAM5[Action::s3:List*]",
                "IAM5[Action::s3:Abort*]",
                "IAM5[Action::s3:DeleteObject*]",
                "IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-"
                "<AWS::AccountId>-<AWS::Region>/*]",
                f"IAM5[Resource::<{site_bucket}.Arn>/*]",
            )
