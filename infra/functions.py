"""How the functions are built: what each one is, runtime, architecture, logging, role,
layer, SnapStart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration, Fn, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import names
from infra.bundling import function_code

# The newest Python runtime the CDK offers that has a Powertools layer (checked 2026-11).
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
}
_LAMBDA_LOG_LEVELS = {
    "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
    "INFO": lambda_.ApplicationLogLevel.INFO,
    "WARNING": lambda_.ApplicationLogLevel.WARN,
    "ERROR": lambda_.ApplicationLogLevel.ERROR,
}


@dataclass(frozen=True)
class FunctionSpec:
    """What makes one of the stack's functions itself."""

    construct_id: str
    handler: str
    description: str
    timeout_seconds: int
    memory_size: int = 256
    # Restored from a snapshot when the snapStart setting is on: the functions whose cold
    # start someone waits for (a form's answer, a YES, a confirmation's send).
    snap_start: bool = False


# The alias every caller invokes when SnapStart is on: SnapStart applies to published
# versions only, so the event sources, the SNS subscription and the API point at this.
LIVE_ALIAS = "live"


# Every function of the stack.
REGISTRATION = FunctionSpec(
    "Registration",
    names.REGISTRATION_HANDLER,
    "SMS opt-in: the web form's POST /register",
    10,
    snap_start=True,
)
INBOUND = FunctionSpec(
    "Inbound",
    names.INBOUND_HANDLER,
    "SMS opt-in: replies from the two-way channel (YES, STOP, HELP)",
    30,
    snap_start=True,
)
SENDER = FunctionSpec(
    "Sender",
    names.SENDER_HANDLER,
    "SMS opt-in: sends queued SMS at the number's pace",
    30,
    snap_start=True,
)
DELIVERY = FunctionSpec(
    "Delivery", names.DELIVERY_HANDLER, "SMS opt-in: delivery events into the consent ledger", 30
)
# 29 s: API Gateway's own integration limit.
ADMIN = FunctionSpec(
    "Api", names.ADMIN_HANDLER, "SMS opt-in: the operator API (/admin, IAM-authorised)", 29, 512
)
HOUSEKEEPING = FunctionSpec(
    "Housekeeping",
    names.HOUSEKEEPING_HANDLER,
    "SMS opt-in: hourly housekeeping (expiry, erasure of unconfirmed)",
    5 * 60,
)


def retention(days: int) -> logs.RetentionDays:
    return _RETENTION[days]


def operational_log_group(scope: Construct, construct_id: str, days: int) -> logs.LogGroup:
    """Operational logs: bounded retention, removed with the stack (evidence is in DynamoDB)."""
    return logs.LogGroup(
        scope, construct_id, retention=retention(days), removal_policy=RemovalPolicy.DESTROY
    )


class FunctionFactory:
    """Shared pieces (the code asset, the Powertools layer), built once per stack."""

    def __init__(
        self,
        scope: Construct,
        *,
        powertools_version: str,
        log_retention_days: int,
        log_level: str,
        snap_start: bool = False,
    ) -> None:
        self.code = function_code(RUNTIME, names.PYTHON_VERSION)
        parameter = names.POWERTOOLS_LAYER_PARAMETER.format(
            python=names.PYTHON_VERSION, version=powertools_version
        )
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(
            scope,
            "PowertoolsLayer",
            ssm.StringParameter.value_for_string_parameter(scope, parameter),
        )
        self._log_retention_days = log_retention_days
        self._log_level = log_level
        self._snap_start = snap_start

    def create(
        self,
        scope: Construct,
        spec: FunctionSpec,
        environment: Mapping[str, str],
        *,
        retry_attempts: int | None = None,
        on_failure: lambda_.IDestination | None = None,
    ) -> OptInFunction:
        return OptInFunction(
            scope,
            spec,
            factory=self,
            environment=environment,
            retry_attempts=retry_attempts,
            on_failure=on_failure,
        )


class OptInFunction(Construct):
    """A function with its own role (nothing attached but what the caller grants) and
    its own log group (JSON logs, explicit retention).

    ``target`` is what callers invoke: with SnapStart, the ``live`` alias of the function's
    published version (which also carries the asynchronous retries and failure
    destination, since those are set per qualifier); otherwise the function itself.
    """

    def __init__(
        self,
        scope: Construct,
        spec: FunctionSpec,
        *,
        factory: FunctionFactory,
        environment: Mapping[str, str],
        retry_attempts: int | None,
        on_failure: lambda_.IDestination | None,
    ) -> None:
        super().__init__(scope, spec.construct_id)
        description = spec.description
        snap_start = spec.snap_start and factory._snap_start
        self.log_group = operational_log_group(self, "Logs", factory._log_retention_days)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description}: only what this function calls",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=factory.code,
            handler=spec.handler,
            layers=[factory.powertools],
            environment=dict(environment),
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=_LAMBDA_LOG_LEVELS[factory._log_level],
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_size,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            # A replaced version is deleted: each kept version's snapshot is charged for.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY)
            if snap_start
            else None,
            # With SnapStart the alias is invoked: its own invoke config says these.
            retry_attempts=None if snap_start else retry_attempts,
            on_failure=None if snap_start else on_failure,
        )
        self.alias: lambda_.Alias | None = None
        self.target: lambda_.IFunction = self.function
        if snap_start:
            self.alias = lambda_.Alias(
                self,
                "Live",
                alias_name=LIVE_ALIAS,
                version=self.function.current_version,
                description=f"{description}: the published version callers invoke",
                retry_attempts=retry_attempts,
                on_failure=on_failure,
            )
            self.target = self.alias

    def subscribe(self, topic: sns.ITopic, construct_id: str) -> None:
        """Have ``topic`` invoke ``target``. The alias's ARN is spelled as the function's
        ARN and the alias name (what the alias's own ARN is): the template validator
        expects a function on a ``lambda`` subscription and flags an alias reference."""
        if self.alias is None:
            topic.add_subscription(subscriptions.LambdaSubscription(self.function))
            return
        self.alias.add_permission(
            f"AllowInvoke{construct_id}",
            principal=iam.ServicePrincipal("sns.amazonaws.com"),
            source_arn=topic.topic_arn,
        )
        sns.Subscription(
            self,
            construct_id,
            topic=topic,
            protocol=sns.SubscriptionProtocol.LAMBDA,
            endpoint=Fn.join(":", [self.function.function_arn, LIVE_ALIAS]),
        )
