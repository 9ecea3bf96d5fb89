"""The CloudFormation overrides: each test proves moto 5.2.5 still fails without the fix
(so a moto upgrade that fixes it makes the test fail and the override can go), then that the
override gives AWS's behaviour."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.cloudformation.exceptions import ValidationError as MotoValidationError

from localcloud import cfn
from localcloud.patches import without
from tests.localcloud.conftest import REGION

pytestmark = pytest.mark.usefixtures("cfn_fixes")

SSM_VERSION = "/cdk-bootstrap/hnb659fds/version"


def _template(
    *, gsi: bool = False, output_export: str | None = None, table_name: str = "Things"
) -> str:
    """A CDK-shaped template: a table, the BootstrapVersion SSM parameter, outputs."""
    table: dict[str, Any] = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": table_name,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
        },
    }
    if gsi:
        table["Properties"]["AttributeDefinitions"].append(
            {"AttributeName": "email", "AttributeType": "S"}
        )
        table["Properties"]["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "EmailIndex",
                "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    output: dict[str, Any] = {"Value": {"Fn::GetAtt": ["Table", "StreamArn"]}}
    if output_export:
        output["Export"] = {"Name": output_export}
    return json.dumps(
        {
            "Parameters": {
                "BootstrapVersion": {
                    "Type": "AWS::SSM::Parameter::Value<String>",
                    "Default": SSM_VERSION,
                }
            },
            "Resources": {"Table": table},
            "Outputs": {"TableName": {"Value": {"Ref": "Table"}}, "StreamArn": output},
        }
    )


def _clients() -> tuple[Any, Any, Any]:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name=SSM_VERSION, Value="21", Type="String", Overwrite=True)
    return (
        boto3.client("cloudformation", region_name=REGION),
        boto3.client("dynamodb", region_name=REGION),
        ssm,
    )


def _change_set_deploy(cloudformation: Any, stack: str, template: str, kind: str) -> None:
    """What `cdk deploy` does: create a change set named like CDK's, then execute it."""
    parameters = (
        [{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}] if kind == "UPDATE" else []
    )
    created = cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName="cdk-deploy-change-set",
        TemplateBody=template,
        ChangeSetType=kind,
        Parameters=parameters,
    )
    cloudformation.execute_change_set(ChangeSetName=created["Id"], StackName=stack)


def test_describe_missing_change_set_is_change_set_not_found() -> None:
    cloudformation, _, _ = _clients()
    cloudformation.create_stack(StackName="s1", TemplateBody=_template())
    with without(cfn.PATCHES), pytest.raises(ClientError) as moto_error:
        cloudformation.describe_change_set(StackName="s1", ChangeSetName="cdk-deploy-change-set")
    assert moto_error.value.response["Error"]["Code"] == "ValidationError"

    with pytest.raises(ClientError) as fixed:
        cloudformation.describe_change_set(StackName="s1", ChangeSetName="cdk-deploy-change-set")
    assert fixed.value.response["Error"]["Code"] == "ChangeSetNotFound"
    assert fixed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_delete_missing_change_set_is_a_no_op() -> None:
    cloudformation, _, _ = _clients()
    cloudformation.create_stack(StackName="s1", TemplateBody=_template())
    cloudformation.create_change_set(
        StackName="s1",
        ChangeSetName="other",
        TemplateBody=_template(gsi=True),
        ChangeSetType="UPDATE",
    )
    with without(cfn.PATCHES), pytest.raises(UnboundLocalError):
        cloudformation.delete_change_set(StackName="s1", ChangeSetName="cdk-deploy-change-set")

    cloudformation.delete_change_set(StackName="s1", ChangeSetName="cdk-deploy-change-set")
    # The existing change set was not touched by the no-op.
    names = [
        s["ChangeSetName"] for s in cloudformation.list_change_sets(StackName="s1")["Summaries"]
    ]
    assert names == ["other"]


def test_change_set_names_are_scoped_to_their_stack() -> None:
    cloudformation, _, _ = _clients()
    for stack in ("s1", "s2"):
        cloudformation.create_stack(StackName=stack, TemplateBody=_template(table_name=stack))
    cloudformation.create_change_set(
        StackName="s1",
        ChangeSetName="cdk-deploy-change-set",
        TemplateBody=_template(gsi=True, table_name="s1"),
        ChangeSetType="UPDATE",
    )
    found = cloudformation.describe_change_set(
        StackName="s1", ChangeSetName="cdk-deploy-change-set"
    )
    assert found["StackName"] == "s1"
    with pytest.raises(ClientError) as error:
        cloudformation.describe_change_set(StackName="s2", ChangeSetName="cdk-deploy-change-set")
    assert error.value.response["Error"]["Code"] == "ChangeSetNotFound"


def test_direct_update_with_previous_bootstrap_version() -> None:
    cloudformation, dynamodb, _ = _clients()
    cloudformation.create_stack(StackName="s1", TemplateBody=_template())
    previous = [{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}]
    with without(cfn.PATCHES), pytest.raises(KeyError, match="BootstrapVersion"):
        cloudformation.update_stack(
            StackName="s1", TemplateBody=_template(gsi=True), Parameters=previous
        )

    cloudformation.update_stack(
        StackName="s1", TemplateBody=_template(gsi=True), Parameters=previous
    )
    stack = cloudformation.describe_stacks(StackName="s1")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert {"ParameterKey": "BootstrapVersion", "ParameterValue": "21"} in stack["Parameters"]
    table = dynamodb.describe_table(TableName="Things")["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["EmailIndex"]


def test_change_set_update_with_previous_ssm_parameter() -> None:
    cloudformation, dynamodb, _ = _clients()
    _change_set_deploy(cloudformation, "s1", _template(), "CREATE")
    with without(cfn.PATCHES), pytest.raises(AttributeError):
        _change_set_deploy(cloudformation, "s1", _template(gsi=True), "UPDATE")


def test_change_set_outputs_exports_and_update_of_a_table() -> None:
    cloudformation, dynamodb, _ = _clients()
    with without(cfn.PATCHES):
        _change_set_deploy(cloudformation, "plain", _template(), "CREATE")
        plain = cloudformation.describe_stacks(StackName="plain")["Stacks"][0]
        assert "Outputs" not in plain  # moto's gap: no outputs after a change-set create
        dynamodb.delete_table(TableName="Things")

    _change_set_deploy(cloudformation, "s1", _template(output_export="things-stream"), "CREATE")
    stack = cloudformation.describe_stacks(StackName="s1")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["TableName"] == "Things"
    assert outputs["StreamArn"].startswith("arn:aws:dynamodb:us-east-1:")
    exports = {e["Name"]: e["Value"] for e in cloudformation.list_exports()["Exports"]}
    assert exports == {"things-stream": outputs["StreamArn"]}

    # A second stack imports the export through a change set, as CDK's cross-stack refs do.
    consumer = json.dumps(
        {
            "Resources": {
                "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "consumer"}}
            },
            "Outputs": {"Imported": {"Value": {"Fn::ImportValue": "things-stream"}}},
        }
    )
    _change_set_deploy(cloudformation, "s2", consumer, "CREATE")
    s2 = cloudformation.describe_stacks(StackName="s2")["Stacks"][0]
    assert s2["Outputs"][0]["OutputValue"] == outputs["StreamArn"]

    # Re-deploying with a new GSI updates the live table and keeps the outputs.
    _change_set_deploy(
        cloudformation, "s1", _template(gsi=True, output_export="things-stream"), "UPDATE"
    )
    table = dynamodb.describe_table(TableName="Things")["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["EmailIndex"]
    stack = cloudformation.describe_stacks(StackName="s1")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert {o["OutputKey"] for o in stack["Outputs"]} == {"TableName", "StreamArn"}
    # As on AWS, executing a change set removes the stack's change sets, so CDK's next
    # `cdk-deploy-change-set` lookup finds nothing.
    summaries = cloudformation.list_change_sets(StackName="s1")["Summaries"]
    assert [s for s in summaries if s["StackName"] == "s1"] == []


def test_moto_cannot_update_a_table_without_the_override() -> None:
    cloudformation, dynamodb, _ = _clients()
    previous = [{"ParameterKey": "BootstrapVersion", "ParameterValue": SSM_VERSION}]
    cloudformation.create_stack(StackName="s1", TemplateBody=_template())
    with without(cfn.PATCHES):
        cloudformation.update_stack(
            StackName="s1", TemplateBody=_template(gsi=True), Parameters=previous
        )
        table = dynamodb.describe_table(TableName="Things")["Table"]
        assert table.get("GlobalSecondaryIndexes", []) == []
        # moto raises while serializing the outputs (an HTTP 500 through its server).
        with pytest.raises(MotoValidationError, match="Fn::GetAtt references undefined"):
            cloudformation.describe_stacks(StackName="s1")


def test_describing_a_deleted_stack_does_not_recreate_its_resources() -> None:
    cloudformation, dynamodb, _ = _clients()

    def create_then_delete(name: str) -> None:
        stack_id = cloudformation.create_stack(StackName=name, TemplateBody=_template())["StackId"]
        cloudformation.delete_stack(StackName=stack_id)
        assert dynamodb.list_tables()["TableNames"] == []
        # What `cdk destroy` does next: poll the deleted stack by id.
        status = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
        assert status == "DELETE_COMPLETE"

    with without(cfn.PATCHES):
        create_then_delete("plain")
        assert dynamodb.list_tables()["TableNames"] == ["Things"]  # moto re-created it
        dynamodb.delete_table(TableName="Things")

    create_then_delete("fixed")
    assert dynamodb.list_tables()["TableNames"] == []
