"""The API as deployed: stage, throttling, logs, validation, CORS, and the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

import yaml

from infra import names
from optin.domain.errors import InvalidJson, TooManyRequests
from tests.infra.conftest import EXTRA_ORIGIN, Synthesized


def quoted_site_origin(synth: Synthesized) -> dict[str, Any]:
    """The form's origin as an API Gateway static header value: 'https://<cloudfront>'."""
    distribution = synth.logical_id(synth.stack.site.distribution)
    return {"Fn::Join": ["", ["'https://", {"Fn::GetAtt": [distribution, "DomainName"]}, "'"]]}


def deployed_operations(synth: Synthesized) -> set[tuple[str, str]]:
    resources = synth.resources("AWS::ApiGateway::Resource")
    api_id = synth.logical_id(synth.stack.api.rest_api)

    def path_of(reference: dict[str, Any]) -> str:
        if reference == {"Fn::GetAtt": [api_id, "RootResourceId"]}:
            return ""
        resource = resources[reference["Ref"]]["Properties"]
        return f"{path_of(resource['ParentId'])}/{resource['PathPart']}"

    return {
        (path_of(method["Properties"]["ResourceId"]), method["Properties"]["HttpMethod"].lower())
        for method in synth.resources("AWS::ApiGateway::Method").values()
    }


def test_the_openapi_document_matches_the_deployed_paths_and_methods(
    new_number: Synthesized,
) -> None:
    document = yaml.safe_load(names.OPENAPI_DOCUMENT.read_text())
    documented = {
        (path, method) for path, operations in document["paths"].items() for method in operations
    }
    assert deployed_operations(new_number) == documented
    assert document["servers"][0]["url"].endswith(f"/{names.API_STAGE}")


def test_the_openapi_error_codes_are_the_ones_the_gateway_answers(new_number: Synthesized) -> None:
    document = yaml.safe_load(names.OPENAPI_DOCUMENT.read_text())
    codes = set(
        document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"][
            "enum"
        ]
    )
    for response in new_number.resources("AWS::ApiGateway::GatewayResponse").values():
        templates = response["Properties"].get("ResponseTemplates")
        if templates:
            body = json.loads(templates["application/json"])
            assert body["error"]["code"] in codes
            assert (
                str(response["Properties"]["StatusCode"])
                in document["paths"]["/register"]["post"]["responses"]
            )


def test_stage_v1_is_throttled_from_config_and_logs_access_without_bodies(
    new_number: Synthesized, adopted: Synthesized
) -> None:
    for synth, rate, burst in ((new_number, 10, 20), (adopted, 5, 7)):
        stage = synth.only("AWS::ApiGateway::Stage")
        assert stage["StageName"] == "v1"
        [settings] = stage["MethodSettings"]
        assert settings["ThrottlingRateLimit"] == rate
        assert settings["ThrottlingBurstLimit"] == burst
        assert settings["DataTraceEnabled"] is False
        access_logs = synth.logical_id(synth.stack.api.access_logs)
        assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": [access_logs, "Arn"]}
        assert "$context.requestId" in stage["AccessLogSetting"]["Format"]


def test_post_register_validates_the_body_against_the_capped_model(new_number: Synthesized) -> None:
    methods = new_number.resources("AWS::ApiGateway::Method").values()
    register = {
        "Ref": new_number.logical_id(new_number.stack.api.rest_api.root.get_resource("register"))
    }
    [post] = [
        m["Properties"]
        for m in methods
        if m["Properties"]["HttpMethod"] == "POST" and m["Properties"]["ResourceId"] == register
    ]
    assert post["AuthorizationType"] == "NONE"
    assert post["Integration"]["Type"] == "AWS_PROXY"
    validator = new_number.only("AWS::ApiGateway::RequestValidator")
    assert validator["ValidateRequestBody"] is True
    model = new_number.only("AWS::ApiGateway::Model")
    assert post["RequestModels"] == {
        "application/json": {"Ref": next(iter(new_number.resources("AWS::ApiGateway::Model")))}
    }
    schema = model["Schema"]
    assert schema["type"] == "object"
    assert schema["maxProperties"] == 1024
    assert "required" not in schema  # missing fields are the function's MISSING_FIELD
    for field in ("phoneNumber", "destinationNumber", "firstName", "lastName", "source", "country"):
        assert schema["properties"][field] == {"maxLength": 4096}


def test_cors_allows_only_the_site_origin_by_default(new_number: Synthesized) -> None:
    methods = new_number.resources("AWS::ApiGateway::Method").values()
    [options] = [m["Properties"] for m in methods if m["Properties"]["HttpMethod"] == "OPTIONS"]
    [response] = options["Integration"]["IntegrationResponses"]
    headers = response["ResponseParameters"]
    allowed = headers["method.response.header.Access-Control-Allow-Origin"]
    assert allowed == quoted_site_origin(new_number)
    assert headers["method.response.header.Access-Control-Allow-Methods"] == "'POST,OPTIONS'"
    assert headers["method.response.header.Access-Control-Allow-Headers"] == "'Content-Type'"
    assert "ResponseTemplates" not in response  # no other origin is echoed


def test_cors_echoes_configured_origins_and_no_other(adopted: Synthesized) -> None:
    methods = adopted.resources("AWS::ApiGateway::Method").values()
    [options] = [m["Properties"] for m in methods if m["Properties"]["HttpMethod"] == "OPTIONS"]
    [response] = options["Integration"]["IntegrationResponses"]
    template = response["ResponseTemplates"]["application/json"]
    assert f'#if($origin == "{EXTRA_ORIGIN}")' in template
    assert template.count("$origin ==") == 2  # the empty-header check and our one origin


def test_gateway_errors_use_the_api_error_shape_with_cors(new_number: Synthesized) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in new_number.resources("AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == {
        "BAD_REQUEST_BODY",
        "REQUEST_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
        "THROTTLED",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    }
    throttled = responses["THROTTLED"]
    assert throttled["StatusCode"] == str(TooManyRequests.status)
    assert throttled["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
    body = json.loads(throttled["ResponseTemplates"]["application/json"])
    assert body["error"]["code"] == TooManyRequests.code
    assert (
        json.loads(responses["BAD_REQUEST_BODY"]["ResponseTemplates"]["application/json"])["error"][
            "code"
        ]
        == InvalidJson.code
    )
    for response in responses.values():
        headers = response["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == quoted_site_origin(
            new_number
        )
