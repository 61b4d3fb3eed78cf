"""Both functions: runtime, architecture, logging, layer, environment, and the bundle."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from infra import names
from infra.config import STACK_VARIABLES
from optin.settings import ENVIRONMENT, Settings
from tests.infra.conftest import EXTRA_ORIGIN, Synthesized


def function(synth: Synthesized, which: str) -> dict[str, Any]:
    construct = getattr(synth.stack, which).function
    return synth.template["Resources"][synth.logical_id(construct)]["Properties"]


def bundle_dir(synth: Synthesized) -> Path:
    s3_key = function(synth, "registration")["Code"]["S3Key"]
    return synth.outdir / f"asset.{s3_key.removesuffix('.zip')}"


def test_both_functions_run_the_newest_python_on_arm64_with_json_logs(
    new_number: Synthesized,
) -> None:
    for which, handler in (
        ("registration", names.REGISTRATION_HANDLER),
        ("inbound", names.INBOUND_HANDLER),
    ):
        properties = function(new_number, which)
        assert properties["Runtime"] == "python3.14"
        assert properties["Architectures"] == ["arm64"]
        assert properties["Handler"] == handler
        assert properties["LoggingConfig"]["LogFormat"] == "JSON"
        assert properties["TracingConfig"] == {"Mode": "Active"}
        log_group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert new_number.template["Resources"][log_group]["Properties"]["RetentionInDays"] == 90


def test_powertools_comes_from_the_managed_layer_matching_runtime_and_pinned_version(
    new_number: Synthesized,
) -> None:
    pinned = Path(names.DEV_REQUIREMENTS).read_text()
    parameters = new_number.template["Parameters"]
    layer_parameter = next(
        name for name, p in parameters.items() if "powertools" in p.get("Default", "")
    )
    default = parameters[layer_parameter]["Default"]
    assert default.startswith("/aws/service/powertools/python/arm64/python3.14/")
    assert f"aws-lambda-powertools[tracer]=={default.rsplit('/', 1)[1]}" in pinned
    for which in ("registration", "inbound"):
        assert function(new_number, which)["Layers"] == [{"Ref": layer_parameter}]


def test_one_asset_serves_both_functions(new_number: Synthesized) -> None:
    assert function(new_number, "registration")["Code"] == function(new_number, "inbound")["Code"]


def test_the_bundle_holds_the_package_and_its_runtime_requirements_only(
    new_number: Synthesized,
) -> None:
    bundle = bundle_dir(new_number)
    top_level = {path.name for path in bundle.iterdir()}
    assert "optin" in top_level
    assert "phonenumbers" in top_level
    for absent in ("boto3", "botocore", "aws_lambda_powertools", "aws_cdk", "pytest", "tests"):
        assert absent not in top_level
    assert not (bundle / "phonenumbers" / "geodata").exists()
    assert not (bundle / "phonenumbers" / "carrierdata").exists()
    assert (bundle / "optin" / "handlers").is_dir()
    leftovers = [
        p for p in bundle.rglob("*") if p.name == "__pycache__" or p.suffix in {".pyi", ".pyc"}
    ]
    assert leftovers == []


def test_the_bundled_phonenumbers_imports_with_its_time_zones(new_number: Synthesized) -> None:
    bundle = bundle_dir(new_number)
    check = (
        "import sys; sys.path.insert(0, sys.argv[1]); import phonenumbers, phonenumbers.timezone; "
        "assert phonenumbers.__file__.startswith(sys.argv[1]); "
        "print(phonenumbers.timezone.time_zones_for_number(phonenumbers.parse('+33612345678')))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", check, str(bundle)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Europe/Paris" in result.stdout


def test_the_zipped_bundle_stays_small(new_number: Synthesized, tmp_path: Path) -> None:
    bundle = bundle_dir(new_number)
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(bundle.rglob("*")):
            zipped.write(path, path.relative_to(bundle))
    assert archive.stat().st_size < 1_500_000


def test_each_function_gets_every_setting_the_functions_read(each_mode: Synthesized) -> None:
    expected = set(ENVIRONMENT) | {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
    }
    # Context may leave optional settings unset; the stack's own values are always there.
    for which in ("registration", "inbound"):
        variables = function(each_mode, which)["Environment"]["Variables"]
        assert set(STACK_VARIABLES) <= set(variables) <= expected
        assert variables["POWERTOOLS_SERVICE_NAME"] == names.SERVICE_NAME
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == names.METRICS_NAMESPACE
        assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"


def test_the_environment_carries_the_configuration_and_the_stack_values(
    new_number: Synthesized,
) -> None:
    variables = function(new_number, "registration")["Environment"]["Variables"]
    resolved = {k: v for k, v in variables.items() if isinstance(v, str)}
    assert resolved["BRAND_NAME"] == "Example Co"
    assert json.loads(resolved["CONFIRM_KEYWORDS"]) == ["YES"]
    assert json.loads(resolved["ALLOWED_COUNTRIES"]) == ["US", "CA"]
    assert resolved["NUMBER_LOOKUP"] == "offline"
    assert resolved["REQUIRE_CONSENT_CHECKBOX"] == "true"
    assert resolved["CONFIRMATION_WINDOW_HOURS"] == "24"
    messaging = new_number.stack.messaging
    assert variables["TABLE_NAME"] == {"Ref": new_number.logical_id(new_number.stack.data.table)}
    assert variables["ORIGINATION_IDENTITY"] == {
        "Fn::GetAtt": [new_number.logical_id(messaging.node.find_child("PhoneNumber")), "Arn"]
    }
    assert variables["ORIGINATION_NUMBER"] == {
        "Fn::GetAtt": [
            new_number.logical_id(messaging.node.find_child("PhoneNumber")),
            "PhoneNumber",
        ]
    }
    assert variables["CONFIGURATION_SET_NAME"] == {
        "Ref": new_number.logical_id(messaging.configuration_set)
    }
    assert variables["PROTECT_CONFIGURATION_ID"] == {
        "Fn::GetAtt": [
            new_number.logical_id(messaging.protect_configuration),
            "ProtectConfigurationId",
        ]
    }
    assert variables["OPT_OUT_LIST_NAME"] == {
        "Ref": new_number.logical_id(messaging.node.find_child("OptOutList"))
    }
    # The site's own origin, first: what CloudFront serves the form from.
    assert variables["ALLOWED_ORIGINS"] == {
        "Fn::Join": [
            "",
            [
                "https://",
                {
                    "Fn::GetAtt": [
                        new_number.logical_id(new_number.stack.site.distribution),
                        "DomainName",
                    ]
                },
            ],
        ]
    }


def test_the_functions_know_the_form_url_for_their_signup_answer(
    new_number: Synthesized, adopted: Synthesized
) -> None:
    site = new_number.stack.site
    for which in ("registration", "inbound"):
        variables = function(new_number, which)["Environment"]["Variables"]
        assert new_number.stack.resolve(site.url) == variables["FORM_URL"]


def test_adopted_values_and_extra_origins_reach_the_functions(adopted: Synthesized) -> None:
    variables = function(adopted, "inbound")["Environment"]["Variables"]
    assert variables["ORIGINATION_NUMBER"] == "+18005550100"
    assert variables["NUMBER_LOOKUP"] == "carrier"
    origins = variables["ALLOWED_ORIGINS"]["Fn::Join"][1]
    assert origins[-1] == f",{EXTRA_ORIGIN}"
    identity = variables["ORIGINATION_IDENTITY"]["Fn::Join"][1]
    assert identity[-1].endswith(":phone-number/phone-0123456789abcdef0123456789abcdef")


def test_the_functions_accept_their_environment(adopted: Synthesized) -> None:
    """With the stack's values filled in, the functions' own parser accepts what we deploy."""
    variables = function(adopted, "registration")["Environment"]["Variables"]
    concrete = {
        k: v if isinstance(v, str) else f"resolved-{k.lower()}" for k, v in variables.items()
    }
    concrete["ALLOWED_ORIGINS"] = f"https://d111111abcdef8.cloudfront.net,{EXTRA_ORIGIN}"
    concrete["FORM_URL"] = "https://d111111abcdef8.cloudfront.net/"
    settings = Settings.from_env(concrete)
    assert settings.allowed_origins == ("https://d111111abcdef8.cloudfront.net", EXTRA_ORIGIN)


def test_the_inbound_function_retries_twice_then_dead_letters(each_mode: Synthesized) -> None:
    config = each_mode.only("AWS::Lambda::EventInvokeConfig")
    assert config["MaximumRetryAttempts"] == 2
    queue = each_mode.logical_id(each_mode.stack.messaging.dead_letter_queue)
    assert config["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}
    }
    assert config["FunctionName"] == {"Ref": each_mode.logical_id(each_mode.stack.inbound.function)}
