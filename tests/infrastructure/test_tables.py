"""Intent: every table's keys, indexes, stream, TTL, billing and protection, per stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from datamodel.tables import EMAIL_INDEX, MESSAGE_CREATED_AT_INDEX, MESSAGE_GROUP_INDEX
from stacks.config import stage_config
from tests.infrastructure.cfn import function_role, grants, role_statements
from tests.support.synth import SynthesizedStage, synthesize


def table_properties(stage: SynthesizedStage, key: str) -> dict[str, Any]:
    """The synthesized properties of the table with logical key `key`, found by its name."""
    name = stage.config.table(key).table_name
    tables = stage.data.find_resources("AWS::DynamoDB::Table", {"Properties": {"TableName": name}})
    assert len(tables) == 1, f"expected one table named {name}, found {len(tables)}"
    properties: dict[str, Any] = next(iter(tables.values()))["Properties"]
    return properties


def test_local_stage_uses_the_tutorials_physical_names(local: SynthesizedStage) -> None:
    for name in ("Tasks", "Users", "cruddur-messages"):
        local.data.has_resource_properties("AWS::DynamoDB::Table", {"TableName": name})
    local.data.resource_count_is("AWS::DynamoDB::Table", 3)


def test_every_table_is_a_plain_table_never_a_global_table(stage: SynthesizedStage) -> None:
    # The local cloud's CloudFormation silently skips AWS::DynamoDB::GlobalTable.
    stage.data.resource_count_is("AWS::DynamoDB::GlobalTable", 0)
    stage.data.resource_count_is("AWS::DynamoDB::Table", 3)


def test_tasks_table_keys_and_ttl(stage: SynthesizedStage) -> None:
    tasks = table_properties(stage, "tasks")
    assert tasks["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert tasks["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert tasks["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert "StreamSpecification" not in tasks


def test_users_table_email_index(stage: SynthesizedStage) -> None:
    users = table_properties(stage, "users")
    assert users["KeySchema"] == [{"AttributeName": "userId", "KeyType": "HASH"}]
    assert sorted(users["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": "email", "AttributeType": "S"},
        {"AttributeName": "userId", "AttributeType": "S"},
    ]
    (index,) = users["GlobalSecondaryIndexes"]
    assert index["IndexName"] == EMAIL_INDEX
    assert index["KeySchema"] == [{"AttributeName": "email", "KeyType": "HASH"}]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert users["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert "LocalSecondaryIndexes" not in users  # no sort key: an LSI is impossible here


def test_messages_single_table_design(stage: SynthesizedStage) -> None:
    messages = table_properties(stage, "messages")
    assert messages["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert messages["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    (group_index,) = messages["GlobalSecondaryIndexes"]
    assert group_index["IndexName"] == MESSAGE_GROUP_INDEX
    assert group_index["KeySchema"] == [
        {"AttributeName": "message_group_uuid", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert group_index["Projection"] == {"ProjectionType": "ALL"}
    (created_index,) = messages["LocalSecondaryIndexes"]
    assert created_index["IndexName"] == MESSAGE_CREATED_AT_INDEX
    assert created_index["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    declared = {a["AttributeName"]: a["AttributeType"] for a in messages["AttributeDefinitions"]}
    assert declared == {"pk": "S", "sk": "S", "message_group_uuid": "S", "created_at": "S"}


def test_local_billing_is_the_tutorials_provisioned_5_5(local: SynthesizedStage) -> None:
    for key in ("tasks", "users", "messages"):
        properties = table_properties(local, key)
        # CloudFormation's default billing mode is PROVISIONED; CDK omits it.
        assert properties.get("BillingMode", "PROVISIONED") == "PROVISIONED"
        assert properties["ProvisionedThroughput"] == {
            "ReadCapacityUnits": 5,
            "WriteCapacityUnits": 5,
        }
        for index in properties.get("GlobalSecondaryIndexes", []):
            assert index["ProvisionedThroughput"] == {
                "ReadCapacityUnits": 5,
                "WriteCapacityUnits": 5,
            }


def test_prod_billing_is_on_demand(prod: SynthesizedStage) -> None:
    for key in ("tasks", "users", "messages"):
        properties = table_properties(prod, key)
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert "ProvisionedThroughput" not in properties
        for index in properties.get("GlobalSecondaryIndexes", []):
            assert "ProvisionedThroughput" not in index


@pytest.mark.parametrize("key", ["tasks", "users", "messages"])
def test_prod_protects_data(prod: SynthesizedStage, key: str) -> None:
    name = prod.config.table(key).table_name
    prod.data.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": Match.object_like(
                {
                    "TableName": name,
                    "DeletionProtectionEnabled": True,
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                }
            ),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    # SSEEnabled false is DynamoDB's AWS-owned key (tables are always encrypted at rest).
    assert table_properties(prod, key)["SSESpecification"] == {"SSEEnabled": False}


@pytest.mark.parametrize("key", ["tasks", "users", "messages"])
def test_local_data_is_disposable(local: SynthesizedStage, key: str) -> None:
    name = local.config.table(key).table_name
    local.data.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": Match.object_like(
                {
                    "TableName": name,
                    "DeletionProtectionEnabled": False,
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": False},
                }
            ),
            "DeletionPolicy": "Delete",
        },
    )


def test_alarms_only_in_prod_two_per_table(local: SynthesizedStage, prod: SynthesizedStage) -> None:
    local.data.resource_count_is("AWS::CloudWatch::Alarm", 0)
    prod.data.resource_count_is("AWS::CloudWatch::Alarm", 6)
    for spec in prod.config.tables:
        prod.data.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {"AlarmName": f"{spec.table_name}-throttled-requests", "Threshold": 1},
        )
        prod.data.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {"AlarmName": f"{spec.table_name}-system-errors", "Threshold": 1},
        )


def test_throttle_alarm_watches_the_table_and_each_gsi(prod: SynthesizedStage) -> None:
    users = prod.config.table("users").table_name
    alarms = prod.data.find_resources(
        "AWS::CloudWatch::Alarm",
        {"Properties": {"AlarmName": f"{users}-throttled-requests"}},
    )
    (alarm,) = alarms.values()
    watched = {
        (
            query["MetricStat"]["Metric"]["MetricName"],
            tuple(sorted(d["Value"] for d in query["MetricStat"]["Metric"]["Dimensions"])),
        )
        for query in alarm["Properties"]["Metrics"]
        if "MetricStat" in query
    }
    assert watched == {
        ("ReadThrottleEvents", (users,)),
        ("WriteThrottleEvents", (users,)),
        ("ReadThrottleEvents", tuple(sorted((users, EMAIL_INDEX)))),
        ("WriteThrottleEvents", tuple(sorted((users, EMAIL_INDEX)))),
    }


def test_customer_managed_key_option(tmp_path: Path) -> None:
    config = stage_config("prod", {"encryption": "customer_managed"})
    stage = synthesize(config, tmp_path)  # also runs cdk-nag: it must stay clean
    stage.data.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    key_id = next(iter(stage.data.find_resources("AWS::KMS::Key")))
    for spec in config.tables:
        assert table_properties(stage, spec.key)["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        }
    role_id, _ = function_role(stage.functions, config.functions.user_manager)
    kms = grants(role_statements(stage.functions, role_id), "kms")
    assert {"kms:Decrypt", "kms:Encrypt"} <= set(kms)
