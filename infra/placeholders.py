"""The example branding cdk.json ships with, and the refusal to deploy it.

cdk.json carries an example brand and example.com links so that ``make synth`` and local
mode work out of the box. Deployed, they would put a made-up brand and dead links into every
confirmation SMS and the consent disclosure people agree to. A preview synth keeps working;
a deployment refuses them twice over: ``make deploy`` stops before anything is uploaded, and
the template carries a CloudFormation rule that fails a deployment started any other way.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aws_cdk import Annotations, CfnRule, CfnRuleAssertion, Fn, Stack

from optin.settings import Settings

EXAMPLE_BRAND = "Example Co"
# Domains reserved for documentation (RFC 2606): never a real company's terms or inbox.
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
# Set by ``make deploy``: this synthesis is for a deployment, so examples are refused now.
DEPLOY_VARIABLE = "OPTIN_DEPLOY"
RULE_ID = "RefuseExampleBranding"


class ExampleBranding(ValueError):
    """A deployment with the example brand, terms, privacy link or help contact in place."""

    def __init__(self, settings: list[str]) -> None:
        super().__init__(refusal(settings))
        self.settings = settings


def _example_domain(text: str) -> bool:
    host = urlsplit(text).hostname if "://" in text else text.rpartition("@")[2]
    host = (host or "").lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in EXAMPLE_DOMAINS)


def example_settings(settings: Settings) -> list[str]:
    """The context keys that still hold example values, in a stable order."""
    found = []
    if settings.brand_name.strip().casefold() == EXAMPLE_BRAND.casefold():
        found.append("brandName")
    for key, value in (
        ("termsUrl", settings.terms_url),
        ("privacyUrl", settings.privacy_url),
        ("helpContact", settings.help_contact),
    ):
        if _example_domain(value):
            found.append(key)
    return found


def refusal(settings: list[str]) -> str:
    return (
        f"refusing to deploy with example values in {', '.join(settings)}: set your own "
        "brand, terms and privacy URLs and help contact in cdk.json or with -c KEY=VALUE "
        "(make synth still previews with the examples)"
    )


def guard(stack: Stack, settings: Settings, *, deploying: bool) -> None:
    """Refuse now when deploying; otherwise warn and make the template refuse to deploy."""
    found = example_settings(settings)
    if not found:
        return
    if deploying:
        raise ExampleBranding(found)
    Annotations.of(stack).add_warning_v2("optin:example-branding", refusal(found))
    CfnRule(
        stack,
        RULE_ID,
        assertions=[
            CfnRuleAssertion(
                # Always false: the rule exists only while examples are in place.
                assert_=Fn.condition_equals("example-branding", "replaced"),
                assert_description=refusal(found),
            )
        ],
    )
