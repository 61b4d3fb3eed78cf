"""The subscribers table, built from the same definition the tests give moto."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from optin.adapters import schema

# Per-item actions only, for the registration and inbound functions: the store reads,
# writes and transacts single items (a transaction needs each item's action). The operator
# and housekeeping functions get their own wider grants (infra/admin.py).
SUBSCRIBER_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
)
_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}


class Data(Construct):
    """On demand, point-in-time recovery, TTL, retained and protected from deletion:
    the consent ledger is evidence and must outlive the stack."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        definition = schema.table_definition("unused")
        types = {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]}

        def key(element: dict[str, str]) -> dynamodb.Attribute:
            name = element["AttributeName"]
            return dynamodb.Attribute(name=name, type=_TYPES[types[name]])

        def keys(schema_: list[dict[str, str]]) -> tuple[dynamodb.Attribute, dynamodb.Attribute]:
            by_role = {element["KeyType"]: key(element) for element in schema_}
            return by_role["HASH"], by_role["RANGE"]

        partition_key, sort_key = keys(definition["KeySchema"])
        self.table = dynamodb.Table(
            self,
            "Subscribers",
            partition_key=partition_key,
            sort_key=sort_key,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=schema.TTL_ATTRIBUTE,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in definition["GlobalSecondaryIndexes"]:
            projection = index["Projection"]
            index_partition_key, index_sort_key = keys(index["KeySchema"])
            self.table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=index_partition_key,
                sort_key=index_sort_key,
                projection_type=dynamodb.ProjectionType(projection["ProjectionType"]),
                non_key_attributes=projection.get("NonKeyAttributes"),
            )

    def grant_subscriber_access(self, role: iam.IRole) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(SUBSCRIBER_ACTIONS), resources=[self.table.table_arn])
        )

    def grant_confirmed_listing(self, role: iam.IRole) -> None:
        """Page through the subscribers of one status (a broadcast's planner): the status
        index, and the profiles it points to."""
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:Query"], resources=[self.status_index_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:BatchGetItem"], resources=[self.table.table_arn])
        )

    @property
    def status_index_arn(self) -> str:
        return f"{self.table.table_arn}/index/{schema.STATUS_INDEX}"
