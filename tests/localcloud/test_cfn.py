"""The CloudFormation overrides: each test proves moto 5.2.5 still fails without the fix
(so a moto upgrade that fixes it makes the test fail and the override can go), then that the
override gives AWS's behaviour."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from localcloud import cfn
from localcloud.patches import without
from tests.localcloud.conftest import REGION

pytestmark = pytest.mark.usefixtures("cfn_fixes")

SSM_VERSION = "/cdk-bootstrap/hnb659fds/version"


def _template(
    *, changed: bool = False, output_export: str | None = None, queue_name: str = "things"
) -> str:
    """A CDK-shaped template: a queue, the BootstrapVersion SSM parameter, outputs.

    (Tables are not moto's any more: `cfn_tables.py` puts them in DynamoDB Local, tested in
    `test_cfn_tables.py` against a running local cloud.)
    """
    queue: dict[str, Any] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": queue_name, "VisibilityTimeout": 60 if changed else 30},
    }
    output: dict[str, Any] = {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}}
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
            "Resources": {"Queue": queue},
            "Outputs": {
                "QueueName": {"Value": {"Fn::GetAtt": ["Queue", "QueueName"]}},
                "QueueArn": output,
            },
        }
    )


def _visibility(sqs: Any, name: str = "things") -> str:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    timeout: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
        "Attributes"
    ]["VisibilityTimeout"]
    return timeout


def _clients() -> tuple[Any, Any, Any]:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name=SSM_VERSION, Value="21", Type="String", Overwrite=True)
    return (
        boto3.client("cloudformation", region_name=REGION),
        boto3.client("sqs", region_name=REGION),
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
        TemplateBody=_template(changed=True),
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
        cloudformation.create_stack(StackName=stack, TemplateBody=_template(queue_name=stack))
    cloudformation.create_change_set(
        StackName="s1",
        ChangeSetName="cdk-deploy-change-set",
        TemplateBody=_template(changed=True, queue_name="s1"),
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
    cloudformation, sqs, _ = _clients()
    cloudformation.create_stack(StackName="s1", TemplateBody=_template())
    previous = [{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}]
    with without(cfn.PATCHES), pytest.raises(KeyError, match="BootstrapVersion"):
        cloudformation.update_stack(
            StackName="s1", TemplateBody=_template(changed=True), Parameters=previous
        )

    cloudformation.update_stack(
        StackName="s1", TemplateBody=_template(changed=True), Parameters=previous
    )
    stack = cloudformation.describe_stacks(StackName="s1")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert {"ParameterKey": "BootstrapVersion", "ParameterValue": "21"} in stack["Parameters"]
    assert _visibility(sqs) == "60"


def test_change_set_update_with_previous_ssm_parameter() -> None:
    cloudformation, sqs, _ = _clients()
    _change_set_deploy(cloudformation, "s1", _template(), "CREATE")
    with without(cfn.PATCHES), pytest.raises(AttributeError):
        _change_set_deploy(cloudformation, "s1", _template(changed=True), "UPDATE")


def test_change_set_outputs_exports_and_update_of_a_table() -> None:
    cloudformation, sqs, _ = _clients()
    with without(cfn.PATCHES):
        _change_set_deploy(cloudformation, "plain", _template(), "CREATE")
        plain = cloudformation.describe_stacks(StackName="plain")["Stacks"][0]
        assert "Outputs" not in plain  # moto's gap: no outputs after a change-set create
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="things")["QueueUrl"])

    _change_set_deploy(cloudformation, "s1", _template(output_export="things-queue"), "CREATE")
    stack = cloudformation.describe_stacks(StackName="s1")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["QueueName"] == "things"
    assert outputs["QueueArn"].startswith("arn:aws:sqs:us-east-1:")
    exports = {e["Name"]: e["Value"] for e in cloudformation.list_exports()["Exports"]}
    assert exports == {"things-queue": outputs["QueueArn"]}

    # A second stack imports the export through a change set, as CDK's cross-stack refs do.
    consumer = json.dumps(
        {
            "Resources": {
                "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "consumer"}}
            },
            "Outputs": {"Imported": {"Value": {"Fn::ImportValue": "things-queue"}}},
        }
    )
    _change_set_deploy(cloudformation, "s2", consumer, "CREATE")
    s2 = cloudformation.describe_stacks(StackName="s2")["Stacks"][0]
    assert s2["Outputs"][0]["OutputValue"] == outputs["QueueArn"]

    # Re-deploying a changed queue updates it in place and keeps the outputs.
    _change_set_deploy(
        cloudformation, "s1", _template(changed=True, output_export="things-queue"), "UPDATE"
    )
    assert _visibility(sqs) == "60"
    stack = cloudformation.describe_stacks(StackName="s1")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert {o["OutputKey"] for o in stack["Outputs"]} == {"QueueName", "QueueArn"}
    # As on AWS, executing a change set removes the stack's change sets, so CDK's next
    # `cdk-deploy-change-set` lookup finds nothing.
    summaries = cloudformation.list_change_sets(StackName="s1")["Summaries"]
    assert [s for s in summaries if s["StackName"] == "s1"] == []


def test_describing_a_deleted_stack_does_not_recreate_its_resources() -> None:
    cloudformation, sqs, _ = _clients()

    def create_then_delete(name: str) -> None:
        stack_id = cloudformation.create_stack(StackName=name, TemplateBody=_template())["StackId"]
        cloudformation.delete_stack(StackName=stack_id)
        assert sqs.list_queues().get("QueueUrls", []) == []
        # What `cdk destroy` does next: poll the deleted stack by id.
        status = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
        assert status == "DELETE_COMPLETE"

    with without(cfn.PATCHES):
        create_then_delete("plain")
        (url,) = sqs.list_queues()["QueueUrls"]  # moto re-created it
        sqs.delete_queue(QueueUrl=url)

    create_then_delete("fixed")
    assert sqs.list_queues().get("QueueUrls", []) == []


def test_a_change_set_without_a_type_updates_the_existing_stack() -> None:
    cloudformation, sqs, _ = _clients()

    def update_without_type(name: str) -> int:
        cloudformation.create_stack(StackName=name, TemplateBody=_template(queue_name=name))
        cloudformation.create_change_set(
            StackName=name,
            ChangeSetName="typeless",
            TemplateBody=_template(changed=True, queue_name=name),
        )
        cloudformation.execute_change_set(ChangeSetName="typeless", StackName=name)
        stacks = cloudformation.describe_stacks()["Stacks"]
        return sum(1 for stack in stacks if stack["StackName"] == name)

    with without(cfn.PATCHES), pytest.raises(ClientError, match="QueueAlreadyExists"):
        update_without_type("plain")  # moto creates a second stack of that name

    assert update_without_type("fixed") == 1
    assert _visibility(sqs, "fixed") == "60"


def _deployment_before_its_method() -> str:
    """CDK's shape: the Deployment `DependsOn` the Method and comes first in the template."""
    return json.dumps(
        {
            "Resources": {
                "Deployment": {
                    "Type": "AWS::ApiGateway::Deployment",
                    "Properties": {"RestApiId": {"Ref": "Api"}},
                    "DependsOn": "Method",
                },
                "Method": {
                    "Type": "AWS::ApiGateway::Method",
                    "Properties": {
                        "RestApiId": {"Ref": "Api"},
                        "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                        "HttpMethod": "GET",
                        "AuthorizationType": "NONE",
                        "Integration": {
                            "Type": "MOCK",
                            "IntegrationHttpMethod": "GET",
                            "Uri": "mock",
                        },
                    },
                },
                "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "ordered"}},
            }
        }
    )


def test_a_change_set_creates_resources_after_their_depends_on() -> None:
    cloudformation, _, _ = _clients()
    # moto answers API Gateway's JSON error to a CloudFormation call (the CDK CLI: "XML parse
    # error: unexpected content").
    with without(cfn.PATCHES), pytest.raises(ResponseParserError, match="any methods"):
        _change_set_deploy(cloudformation, "plain", _deployment_before_its_method(), "CREATE")

    _change_set_deploy(cloudformation, "fixed", _deployment_before_its_method(), "CREATE")
    stack = cloudformation.describe_stacks(StackName="fixed")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_a_failed_change_set_create_rolls_back_what_it_created() -> None:
    cloudformation, sqs, _ = _clients()
    broken = json.loads(_template(queue_name="left-behind"))
    broken["Resources"]["Broken"] = {
        "Type": "AWS::ApiGateway::Deployment",
        "Properties": {"RestApiId": {"Ref": "EmptyApi"}},
    }
    broken["Resources"]["EmptyApi"] = {
        "Type": "AWS::ApiGateway::RestApi",
        "Properties": {"Name": "empty"},
    }
    with without(cfn.PATCHES), pytest.raises(ResponseParserError):
        _change_set_deploy(cloudformation, "plain", json.dumps(broken), "CREATE")
    stack = cloudformation.describe_stacks(StackName="plain")["Stacks"][0]
    assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"  # moto: stuck, queue left behind
    (url,) = sqs.list_queues()["QueueUrls"]
    sqs.delete_queue(QueueUrl=url)

    with pytest.raises(ClientError, match=r"Broken \(AWS::ApiGateway::Deployment\)"):
        _change_set_deploy(cloudformation, "fixed", json.dumps(broken), "CREATE")
    stack = cloudformation.describe_stacks(StackName="fixed")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert sqs.list_queues().get("QueueUrls", []) == []
