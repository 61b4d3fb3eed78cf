"""The table: built from the schema module the store and the moto tests use."""

from __future__ import annotations

import boto3
from moto import mock_aws

from optin.adapters import schema
from tests.infra.conftest import Synthesized


def table(synth: Synthesized) -> dict:
    [resource] = synth.resources("AWS::DynamoDB::Table").values()
    return resource


def test_the_table_is_on_demand_recoverable_retained_and_protected(new_number: Synthesized) -> None:
    resource = table(new_number)
    properties = resource["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["DeletionProtectionEnabled"] is True
    assert properties["TimeToLiveSpecification"] == {
        "AttributeName": schema.TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


@mock_aws
def test_the_deployed_schema_is_the_one_moto_tables_are_built_from(new_number: Synthesized) -> None:
    """The same definition, two consumers: the stack and the tests' moto table."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(**schema.table_definition("subscribers"))
    described = client.describe_table(TableName="subscribers")["Table"]
    deployed = table(new_number)["Properties"]

    def attributes(definitions: list[dict]) -> dict[str, str]:
        return {a["AttributeName"]: a["AttributeType"] for a in definitions}

    assert attributes(deployed["AttributeDefinitions"]) == attributes(
        described["AttributeDefinitions"]
    )
    assert deployed["KeySchema"] == described["KeySchema"]
    [deployed_index] = deployed["GlobalSecondaryIndexes"]
    [moto_index] = described["GlobalSecondaryIndexes"]
    assert deployed_index["IndexName"] == moto_index["IndexName"] == schema.STATUS_INDEX
    assert deployed_index["KeySchema"] == moto_index["KeySchema"]
    assert (
        deployed_index["Projection"]["ProjectionType"] == moto_index["Projection"]["ProjectionType"]
    )
    assert sorted(deployed_index["Projection"]["NonKeyAttributes"]) == sorted(
        moto_index["Projection"]["NonKeyAttributes"]
    )
