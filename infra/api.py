"""The HTTP API (docs/api.md): API Gateway REST, stage v1, POST /register, and the
operator API under /admin (docs/operator.md), every method of it IAM-authorised.

API Gateway REST has no setting for a body size below its own 10 MB: the registration
function answers 413 above 4 KiB. In front of it, a request validator checks the body
against a model that refuses what no legitimate form can send (a non-object, a field
longer than the whole 4 KiB budget, more than 1024 properties), so such bodies never
reach the function.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import functions, names
from infra.config import DeployConfig
from infra.functions import FunctionFactory, OptInFunction, operational_log_group
from optin.domain import errors
from optin.domain.subscribers.fields import FIELDS

BODY_BUDGET = 4096
WAF_TOKEN_HEADER = "x-aws-waf-token"  # noqa: S105 (a header name, not a secret)
_STRING_FIELDS = ("phoneNumber", "destinationNumber", "country", *(field.key for field in FIELDS))


def _error_body(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message, "field": None}})


# Errors API Gateway answers itself, in the API's error shape (docs/api.md).
GATEWAY_ERRORS = {
    apigateway.ResponseType.BAD_REQUEST_BODY: errors.BODY_NOT_JSON,
    apigateway.ResponseType.REQUEST_TOO_LARGE: errors.BODY_TOO_LARGE,
    apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE: errors.NOT_JSON_MEDIA_TYPE,
    apigateway.ResponseType.THROTTLED: errors.THROTTLED,
}


_ACCESS_LOG_FIELDS = (
    "http_method",
    "ip",
    "protocol",
    "request_time",
    "resource_path",
    "response_length",
    "status",
)


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.access_logs = operational_log_group(self, "AccessLogs", config.log_retention_days)
        self.rest_api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=f"{config.stack_name}-api",
            description="SMS double opt-in: POST /register",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=True,
            deploy_options=apigateway.StageOptions(
                stage_name=names.API_STAGE,
                throttling_rate_limit=config.throttling_rate_limit,
                throttling_burst_limit=config.throttling_burst_limit,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                # Every standard field but the caller and the user (IAM identities).
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    **dict.fromkeys(_ACCESS_LOG_FIELDS, True), caller=False, user=False
                ),
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # would log request bodies: names and numbers
                metrics_enabled=True,
                tracing_enabled=True,
            ),
        )
        stack = Stack.of(self)
        # Built from the API's id alone (not its URL, which depends on the deployment),
        # so the site's CSP can name it without a dependency cycle.
        self.origin = (
            f"https://{self.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}"
        )

    @property
    def url(self) -> str:
        return self.rest_api.url

    def add_registration(
        self,
        factory: FunctionFactory,
        environment: Mapping[str, str],
        *,
        site_origin: str,
    ) -> OptInFunction:
        registration = factory.create(self, functions.REGISTRATION, environment)
        if self._config.checked.number_lookup == "carrier":
            registration.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="CarrierLookupHasNoResourceLevelPermissions",
                    actions=["sms-voice:CarrierLookup"],
                    resources=["*"],
                )
            )
        origins = [site_origin, *self._config.allowed_origins]
        register = self.rest_api.root.add_resource(
            names.REGISTER_PATH,
            default_cors_preflight_options=apigateway.CorsOptions(
                allow_origins=origins,
                allow_methods=["POST", "OPTIONS"],
                allow_headers=[
                    "Content-Type",
                    # AWS WAF's token, sent by its JavaScript integration (botChallenge).
                    *(() if self._config.bot_challenge == "none" else (WAF_TOKEN_HEADER,)),
                ],
                max_age=Duration.hours(1),
            ),
        )
        validator = self.rest_api.add_request_validator(
            "BodyValidator", validate_request_body=True, validate_request_parameters=True
        )
        register.add_method(
            "POST",
            apigateway.LambdaIntegration(registration.target, proxy=True),
            request_validator=validator,
            request_models={"application/json": self._request_model()},
        )
        cors = {"Access-Control-Allow-Origin": f"'{site_origin}'", "Vary": "'Origin'"}
        for response_type, answer in GATEWAY_ERRORS.items():
            headers = dict(cors)
            if answer.status == 429:
                headers["Retry-After"] = "'1'"
            self.rest_api.add_gateway_response(
                f"{answer.code.title().replace('_', '')}Response",
                type=response_type,
                status_code=str(answer.status),
                response_headers=headers,
                templates={"application/json": _error_body(answer.code, answer.message)},
            )
        for response_type, name in (
            (apigateway.ResponseType.DEFAULT_4_XX, "Default4xx"),
            (apigateway.ResponseType.DEFAULT_5_XX, "Default5xx"),
        ):
            self.rest_api.add_gateway_response(name, type=response_type, response_headers=cors)
        return registration

    def add_admin(self, function: lambda_.IFunction) -> list[str]:
        """The operator API's routes (``names.ADMIN_ROUTES``) under /admin, each method
        authorised by IAM (SigV4) and served by ``function``. Returns the execute-api ARN
        of each method, for the policy that grants them."""
        self.admin = self.rest_api.root.add_resource(names.ADMIN_PATH)
        integration = apigateway.LambdaIntegration(function, proxy=True, allow_test_invoke=False)
        arns = []
        for method, path in names.ADMIN_ROUTES:
            resource = self.admin.resource_for_path(path)
            resource.add_method(
                method, integration, authorization_type=apigateway.AuthorizationType.IAM
            )
            wildcarded = "/".join("*" if part.startswith("{") else part for part in path.split("/"))
            arns.append(
                self.rest_api.arn_for_execute_api(
                    method, f"/{names.ADMIN_PATH}/{wildcarded}", names.API_STAGE
                )
            )
        return arns

    @property
    def admin_url(self) -> str:
        return f"{self.rest_api.url}{names.ADMIN_PATH}"

    def _request_model(self) -> apigateway.Model:
        # No types here: a wrong type is the function's INVALID_FIELD, with the field named.
        capped = apigateway.JsonSchema(max_length=BODY_BUDGET)
        return self.rest_api.add_model(
            "RegistrationRequest",
            content_type="application/json",
            model_name="RegistrationRequest",
            schema=apigateway.JsonSchema(
                schema=apigateway.JsonSchemaVersion.DRAFT4,
                title="RegistrationRequest",
                type=apigateway.JsonSchemaType.OBJECT,
                max_properties=1024,
                properties={field: capped for field in _STRING_FIELDS},
            ),
        )
