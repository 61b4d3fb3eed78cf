"""Synthesize the app once per origination mode per test session, then read templates.

Synthesis runs the real local bundling (pip from PyPI). The cloud assemblies live under
``cdk.out/tests`` and survive the session: the functions' asset is keyed by a hash of its
inputs, so a later run reuses the bundle until lambdas/ or the recipe changes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Node 20 banners are noise in test output; set before the jsii runtime starts.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk

from infra import names
from infra.stack import OptInStack, create_stack

OUT_ROOT = names.REPO_ROOT / "cdk.out" / "tests"
ADOPTED_NUMBER_ID = "phone-0123456789abcdef0123456789abcdef"
ADOPTED_POOL_ARN = (
    "arn:aws:sms-voice:us-east-1:111122223333:pool/pool-0123456789abcdef0123456789abcdef"
)
EXTRA_ORIGIN = "https://www.example.org"


def cdk_json_context() -> dict[str, Any]:
    context = json.loads((names.REPO_ROOT / "cdk.json").read_text())["context"]
    return dict(context)


def context_with(**changes: Any) -> dict[str, Any]:
    """cdk.json's context with changes; a value of None removes the key."""
    context = cdk_json_context()
    for key, value in changes.items():
        if value is None:
            context.pop(key, None)
        else:
            context[key] = value
    return context


@dataclass
class Synthesized:
    stack: OptInStack
    template: dict[str, Any]
    outdir: Path

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }

    def only(self, resource_type: str) -> dict[str, Any]:
        found = list(self.resources(resource_type).values())
        assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
        return found[0]["Properties"]

    def logical_id(self, construct: Any) -> str:
        element = (
            construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
        )
        return self.stack.resolve(element.logical_id)


def cfn_lint_errors(template: dict[str, Any]) -> list[str]:
    """cfn-lint's errors (not warnings) for the regions the project documents."""
    from cfnlint.api import lint

    matches = lint(json.dumps(template), regions=["us-east-1", "us-west-2", "eu-west-1"])
    return [str(m) for m in matches if m.rule.id.startswith("E")]


def synthesize(name: str, context: dict[str, Any]) -> Synthesized:
    outdir = OUT_ROOT / name
    app = cdk.App(outdir=str(outdir), context=context)
    stack = create_stack(app)
    assembly = app.synth()
    template = assembly.get_stack_by_name(stack.stack_name).template
    return Synthesized(stack=stack, template=template, outdir=outdir)


@pytest.fixture(scope="session")
def new_number() -> Synthesized:
    """cdk.json as shipped: request a new (simulator) number."""
    return synthesize("new-number", cdk_json_context())


@pytest.fixture(scope="session")
def adopted() -> Synthesized:
    """Adopt an existing phone number by id; carrier lookup; an extra origin; alarm e-mail;
    a faster pace with more sender instances."""
    return synthesize(
        "adopted-number",
        context_with(
            originationIdentity=ADOPTED_NUMBER_ID,
            originationNumber="+18005550100",
            numberLookup="carrier",
            allowedOrigins=[EXTRA_ORIGIN],
            alarmEmail="ops@example.com",
            alarmConfirmationsPerHour=50,
            alarmWafBlocksPer5Minutes=40,
            apiThrottlingRateLimit=5,
            apiThrottlingBurstLimit=7,
            sendRatePerSecond=3,
            confirmationMaxDelaySeconds=600,
            senderMaxConcurrency=5,
            alarmSendQueueAgeSeconds=120,
        ),
    )


@pytest.fixture(scope="session")
def adopted_pool() -> Synthesized:
    """Adopt a pool by ARN and keep its existing opt-out list."""
    return synthesize(
        "adopted-pool",
        context_with(
            originationIdentity=ADOPTED_POOL_ARN,
            optOutListName="Default",
        ),
    )


@pytest.fixture(params=["new_number", "adopted", "adopted_pool"])
def each_mode(request: pytest.FixtureRequest) -> Synthesized:
    return request.getfixturevalue(request.param)
