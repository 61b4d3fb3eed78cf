"""The form's bucket, CloudFront and the generated config.json."""

from __future__ import annotations

import json
from typing import Any

from infra.site import CONFIG_FILE
from tests.infra.conftest import Synthesized


def test_the_bucket_is_private_encrypted_and_tls_only(new_number: Synthesized) -> None:
    bucket = new_number.only("AWS::S3::Bucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert "WebsiteConfiguration" not in bucket


def test_the_bucket_policy_denies_plain_http_and_lets_only_our_distribution_read(
    new_number: Synthesized,
) -> None:
    statements = new_number.only("AWS::S3::BucketPolicy")["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert [s["Condition"] for s in deny] == [{"Bool": {"aws:SecureTransport": "false"}}]
    distribution = new_number.logical_id(new_number.stack.site.distribution)
    readers = [s for s in statements if s["Principal"] == {"Service": "cloudfront.amazonaws.com"}]
    [reader] = readers
    assert reader["Action"] == "s3:GetObject"
    source_arn = reader["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert {"Ref": distribution} in source_arn["Fn::Join"][1]
    # No other principal may read (the auto-delete handler may only list and delete).
    others = [s for s in statements if s["Effect"] == "Allow" and s is not reader]
    for statement in others:
        assert "s3:GetObject" not in statement["Action"]


def test_cloudfront_uses_origin_access_control_and_https(new_number: Synthesized) -> None:
    control = new_number.only("AWS::CloudFront::OriginAccessControl")["OriginAccessControlConfig"]
    assert control["OriginAccessControlOriginType"] == "s3"
    assert control["SigningBehavior"] == "always"
    config = new_number.only("AWS::CloudFront::Distribution")["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["OriginAccessControlId"] == {
        "Fn::GetAtt": [
            next(iter(new_number.resources("AWS::CloudFront::OriginAccessControl"))),
            "Id",
        ]
    }
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["ResponseHeadersPolicyId"] == {
        "Ref": next(iter(new_number.resources("AWS::CloudFront::ResponseHeadersPolicy")))
    }
    assert config["DefaultRootObject"] == "index.html"


def test_security_headers(new_number: Synthesized) -> None:
    policy = new_number.only("AWS::CloudFront::ResponseHeadersPolicy")
    headers = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": 730 * 24 * 3600,
        "IncludeSubdomains": True,
        "Override": True,
    }
    csp = headers["ContentSecurityPolicy"]
    assert csp["Override"] is True
    parts = csp["ContentSecurityPolicy"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "{token}" for p in parts)
    directives = dict(d.strip().split(" ", 1) for d in text.split(";") if " " in d.strip())
    assert directives["default-src"] == "'self'"
    assert directives["connect-src"] == "'self' https://{token}.execute-api.{token}.{token}"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    api = new_number.logical_id(new_number.stack.api.rest_api)
    assert {"Ref": api} in parts  # the API's id, not its stage URL (no dependency cycle)


def deployment(synth: Synthesized) -> dict[str, Any]:
    return synth.only("Custom::CDKBucketDeployment")


def test_web_and_a_generated_config_json_are_deployed_and_the_cache_invalidated(
    new_number: Synthesized,
) -> None:
    properties = deployment(new_number)
    assert len(properties["SourceObjectKeys"]) == 2  # web/ and config.json, in that order
    assert properties["DistributionPaths"] == ["/*"]
    assert properties["Prune"] is True
    [web_key, config_key] = properties["SourceObjectKeys"]
    config_dir = new_number.outdir / f"asset.{config_key.removesuffix('.zip')}"
    web_dir = new_number.outdir / f"asset.{web_key.removesuffix('.zip')}"
    assert (web_dir / "index.html").is_file()
    assert not (web_dir / CONFIG_FILE).exists()
    text = (config_dir / CONFIG_FILE).read_text()
    # Deploy-time values (API URL, number) are markers the deployment substitutes.
    markers = properties["SourceMarkers"][1]
    assert set(markers) == {"<<marker:0xbaba:0>>", "<<marker:0xbaba:1>>"}
    for marker in markers:
        text = text.replace(marker, '"deploy-time"')
    config = json.loads(text)
    settings = new_number.stack.config.checked
    assert config["apiUrl"] == "deploy-time"
    assert config["brandName"] == settings.brand_name
    assert config["disclosure"] == settings.texts.disclosure
    assert config["disclosureVersion"] == settings.texts.disclosure_version
    assert config["allowedCountries"] == ["US", "CA"]
    api_url = markers["<<marker:0xbaba:0>>"]
    assert {"Ref": new_number.logical_id(new_number.stack.api.rest_api)} in api_url["Fn::Join"][1]
