"""The web form: a private bucket behind CloudFront, with the API URL and the disclosure
texts delivered as ``config.json`` at deploy time."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra import names

CONFIG_FILE = "config.json"
# Where AWS WAF's JavaScript integration lives (its scripts and token endpoints).
WAF_SDK_SOURCES = "https://*.awswaf.com"


def content_security_policy(api_origin: str, *, waf_sdk: bool = False) -> str:
    """The form loads nothing from third parties and talks only to our API; with a bot
    challenge, also AWS WAF's integration script and its token endpoints."""
    waf = f" {WAF_SDK_SOURCES}" if waf_sdk else ""
    return "; ".join(
        (
            "default-src 'self'",
            f"connect-src 'self' {api_origin}{waf}",
            *((f"script-src 'self'{waf}",) if waf_sdk else ()),
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "upgrade-insecure-requests",
        )
    )


class Site(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, api_origin: str, waf_sdk: bool = False
    ) -> None:
        super().__init__(scope, construct_id)
        # Only generated, reproducible content: removed with the stack.
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="SMS opt-in form: CSP, HSTS, nosniff, frame deny",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(api_origin, waf_sdk=waf_sdk),
                    override=True,
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(730),
                    include_subdomains=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
            ),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="SMS opt-in form",
            default_root_object="index.html",
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
            ),
        )
        self.domain = self.distribution.distribution_domain_name
        self.origin = f"https://{self.domain}"

    @property
    def url(self) -> str:
        return f"{self.origin}/"

    def deploy(self, form_config: dict[str, Any]) -> s3deploy.BucketDeployment:
        """Upload web/ (whatever it holds today) and the generated config.json last, so it
        wins over any local one; then invalidate the CDN."""
        sources = []
        if names.WEB_DIR.is_dir() and any(p.is_file() for p in names.WEB_DIR.rglob("*")):
            sources.append(s3deploy.Source.asset(str(names.WEB_DIR), exclude=[CONFIG_FILE]))
        sources.append(s3deploy.Source.json_data(CONFIG_FILE, form_config))
        return s3deploy.BucketDeployment(
            self,
            "Deployment",
            sources=sources,
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            prune=True,
            memory_limit=256,
        )
