"""CloudFormation on the local cloud as the CDK CLI drives it: dependency order, rollback of
a failed create or update, and the resource types the local cloud skips, reported.

Fixture CDK apps of our own (`tests/fixture_apps/cfn_*`) deployed with the pinned
`cdklocal`, and the same behaviour through boto3's CloudFormation calls directly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud import launcher
from tests.localcloud.conftest import client
from tests.support.fixture_apps import FixtureApp, outputs_of
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APPS = Path(__file__).resolve().parents[1] / "fixture_apps"


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """A fresh local cloud on a free port for this module."""
    with LocalCloud(tmp_path_factory.mktemp("cfn-deploys")) as cloud:
        yield cloud


def _events(cloudformation: Any, stack: str) -> list[dict[str, Any]]:
    """The stack's events, oldest first."""
    events: list[dict[str, Any]] = cloudformation.describe_stack_events(StackName=stack)[
        "StackEvents"
    ]
    return list(reversed(events))


def _resource_events(cloudformation: Any, stack: str, status: str) -> list[str]:
    return [
        event["LogicalResourceId"]
        for event in _events(cloudformation, stack)
        if event["ResourceStatus"] == status
        and event["ResourceType"] != "AWS::CloudFormation::Stack"
    ]


def _status(cloudformation: Any, stack: str) -> str:
    status: str = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    return status


def _queue(name: str, **extra: Any) -> dict[str, Any]:
    return {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}, **extra}


def _rest_api(name: str) -> dict[str, Any]:
    """A RestApi, a GET method and a Deployment that `DependsOn` it, deployment first: the
    order CDK synthesizes (moto created the deployment first: "doesn't contain any methods")."""
    return {
        "Deployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "Properties": {"RestApiId": {"Ref": "Api"}},
            "DependsOn": ["Method"],
        },
        "Method": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "HttpMethod": "GET",
                "AuthorizationType": "NONE",
                "Integration": {"Type": "MOCK", "IntegrationHttpMethod": "GET", "Uri": "mock"},
            },
        },
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": name}},
    }


def _no_methods_deployment(name: str) -> dict[str, Any]:
    """A resource the local cloud refuses: a Deployment of an API without methods."""
    return {
        "Broken": {
            "Type": "AWS::ApiGateway::Deployment",
            "Properties": {"RestApiId": {"Ref": "EmptyApi"}},
        },
        "EmptyApi": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": name}},
    }


def _queue_names(sqs: Any) -> set[str]:
    return {url.rsplit("/", 1)[-1] for url in sqs.list_queues().get("QueueUrls", [])}


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


# --- boto3: dependency order ---------------------------------------------------------


def test_create_stack_creates_dependencies_first_and_deletes_in_reverse(
    local_cloud: LocalCloud,
) -> None:
    cloudformation = client("cloudformation", local_cloud.endpoint)
    suffix = _suffix()
    # Template order is the reverse of the dependency order: C -> B (DependsOn), B -> A (Sub).
    template = {
        "Resources": {
            "C": _queue(f"c-{suffix}", DependsOn="B"),
            "B": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": {"Fn::Sub": "b-${A.QueueName}"}},
            },
            "A": _queue(f"a-{suffix}"),
        }
    }
    stack = f"order-{suffix}"
    stack_id = cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template))[
        "StackId"
    ]
    assert _resource_events(cloudformation, stack, "CREATE_COMPLETE") == ["A", "B", "C"]
    sqs = client("sqs", local_cloud.endpoint)
    assert {f"a-{suffix}", f"b-a-{suffix}", f"c-{suffix}"} <= _queue_names(sqs)

    cloudformation.delete_stack(StackName=stack)
    assert _resource_events(cloudformation, stack_id, "DELETE_COMPLETE") == ["C", "B", "A"]
    assert not {f"a-{suffix}", f"b-a-{suffix}", f"c-{suffix}"} & _queue_names(sqs)


def test_a_change_set_creates_a_rest_api_deployment_after_its_methods(
    local_cloud: LocalCloud,
) -> None:
    cloudformation = client("cloudformation", local_cloud.endpoint)
    suffix = _suffix()
    stack = f"api-{suffix}"
    created = cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName="cdk-deploy-change-set",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps({"Resources": _rest_api(f"api-{suffix}")}),
    )
    cloudformation.execute_change_set(ChangeSetName=created["Id"], StackName=stack)

    assert _status(cloudformation, stack) == "CREATE_COMPLETE"
    assert _resource_events(cloudformation, stack, "CREATE_COMPLETE") == [
        "Api",
        "Method",
        "Deployment",
    ]
    apigateway = client("apigateway", local_cloud.endpoint)
    (api,) = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == f"api-{suffix}"]
    assert apigateway.get_deployments(restApiId=api["id"])["items"]


def test_an_update_adds_in_dependency_order_and_removes_in_reverse(
    local_cloud: LocalCloud,
) -> None:
    cloudformation = client("cloudformation", local_cloud.endpoint)
    suffix = _suffix()
    stack = f"update-order-{suffix}"
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=json.dumps({"Resources": {"Keep": _queue(f"keep-{suffix}")}}),
    )
    added = {"Keep": _queue(f"keep-{suffix}"), **_rest_api(f"update-api-{suffix}")}
    created = cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName="cdk-deploy-change-set",
        TemplateBody=json.dumps({"Resources": added}),
    )
    cloudformation.execute_change_set(ChangeSetName=created["Id"], StackName=stack)
    assert _status(cloudformation, stack) == "UPDATE_COMPLETE"
    assert _resource_events(cloudformation, stack, "CREATE_COMPLETE")[-3:] == [
        "Api",
        "Method",
        "Deployment",
    ]

    # Removing the chain deletes the dependents first.
    cloudformation.update_stack(
        StackName=stack,
        TemplateBody=json.dumps({"Resources": {"Keep": _queue(f"keep-{suffix}")}}),
    )
    assert _resource_events(cloudformation, stack, "DELETE_COMPLETE") == [
        "Deployment",
        "Method",
        "Api",
    ]


# --- boto3: rollback -----------------------------------------------------------------


def test_a_failed_create_rolls_back_and_the_stack_can_be_created_again(
    local_cloud: LocalCloud,
) -> None:
    cloudformation = client("cloudformation", local_cloud.endpoint)
    sqs = client("sqs", local_cloud.endpoint)
    suffix = _suffix()
    stack = f"rollback-{suffix}"
    fixed_name = f"fixed-{suffix}"
    broken = {"Queue": _queue(fixed_name), **_no_methods_deployment(f"empty-{suffix}")}
    with pytest.raises(ClientError) as failed:
        cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps({"Resources": broken}))
    error = failed.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert "Broken" in error["Message"]
    assert "doesn't contain any methods" in error["Message"]

    assert _status(cloudformation, stack) == "ROLLBACK_COMPLETE"
    assert fixed_name not in _queue_names(sqs)
    failures = [e for e in _events(cloudformation, stack) if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [(e["LogicalResourceId"], e["ResourceType"]) for e in failures] == [
        ("Broken", "AWS::ApiGateway::Deployment")
    ]
    assert "doesn't contain any methods" in failures[0]["ResourceStatusReason"]
    assert _resource_events(cloudformation, stack, "DELETE_COMPLETE")[-1] == "Queue"
    # As on AWS: a stack whose creation failed cannot be updated; it is deleted and created.
    with pytest.raises(ClientError, match="ROLLBACK_COMPLETE state and can not be updated"):
        cloudformation.update_stack(
            StackName=stack, TemplateBody=json.dumps({"Resources": {"Queue": _queue(fixed_name)}})
        )
    cloudformation.delete_stack(StackName=stack)
    cloudformation.create_stack(
        StackName=stack, TemplateBody=json.dumps({"Resources": {"Queue": _queue(fixed_name)}})
    )
    assert _status(cloudformation, stack) == "CREATE_COMPLETE"
    assert fixed_name in _queue_names(sqs)


def test_a_failed_change_set_update_rolls_back_to_the_previous_stack(
    local_cloud: LocalCloud,
) -> None:
    cloudformation = client("cloudformation", local_cloud.endpoint)
    sqs = client("sqs", local_cloud.endpoint)
    suffix = _suffix()
    stack = f"update-rollback-{suffix}"
    before = {
        "Resources": {
            "Kept": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": f"kept-{suffix}", "VisibilityTimeout": 30},
            }
        }
    }
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(before))
    original = cloudformation.get_template(StackName=stack)["TemplateBody"]
    after: dict[str, Any] = json.loads(json.dumps(before))
    after["Resources"]["Kept"]["Properties"]["VisibilityTimeout"] = 90
    after["Resources"]["New"] = _queue(f"new-{suffix}")
    after["Resources"].update(_no_methods_deployment(f"empty-{suffix}"))
    created = cloudformation.create_change_set(
        StackName=stack, ChangeSetName="cdk-deploy-change-set", TemplateBody=json.dumps(after)
    )
    with pytest.raises(ClientError, match=r"Broken .*doesn't contain any methods"):
        cloudformation.execute_change_set(ChangeSetName=created["Id"], StackName=stack)

    assert _status(cloudformation, stack) == "UPDATE_ROLLBACK_COMPLETE"
    assert cloudformation.get_template(StackName=stack)["TemplateBody"] == original
    assert f"new-{suffix}" not in _queue_names(sqs)
    url = sqs.get_queue_url(QueueName=f"kept-{suffix}")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attributes["Attributes"]["VisibilityTimeout"] == "30"  # updated back
    resources = cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    assert [r["LogicalResourceId"] for r in resources] == ["Kept"]
    # The rolled-back stack takes the next update.
    cloudformation.update_stack(
        StackName=stack,
        TemplateBody=json.dumps(
            {"Resources": {**before["Resources"], "New": after["Resources"]["New"]}}
        ),
    )
    assert _status(cloudformation, stack) == "UPDATE_COMPLETE"
    assert f"new-{suffix}" in _queue_names(sqs)


def test_a_handler_error_answers_cloudformation_xml_naming_the_resource(
    local_cloud: LocalCloud,
) -> None:
    cloudformation = client("cloudformation", local_cloud.endpoint)
    suffix = _suffix()
    # moto's IAM handler raises KeyError for a role without this property (was HTTP 500).
    role = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": f"no-trust-{suffix}"}}
    stack = f"keyerror-{suffix}"
    created = cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName="cdk-deploy-change-set",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps({"Resources": {"Role": role}}),
    )
    with pytest.raises(ClientError) as failed:
        cloudformation.execute_change_set(ChangeSetName=created["Id"])
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert failed.value.response["Error"]["Code"] == "ValidationError"
    message = failed.value.response["Error"]["Message"]
    assert "Role (AWS::IAM::Role)" in message and "AssumeRolePolicyDocument" in message
    assert _status(cloudformation, stack) == "ROLLBACK_COMPLETE"
    # The attempted template stays readable, as on AWS; the stack has no resources.
    assert "no-trust" in json.dumps(cloudformation.get_template(StackName=stack)["TemplateBody"])
    assert cloudformation.describe_stack_resources(StackName=stack)["StackResources"] == []


# --- boto3: skipped types ------------------------------------------------------------


def test_a_skipped_type_is_reported_and_a_get_att_on_it_says_why(
    local_cloud: LocalCloud,
) -> None:
    cloudformation = client("cloudformation", local_cloud.endpoint)
    suffix = _suffix()
    cluster = {"Type": "AWS::DAX::Cluster", "Properties": {"NodeType": "dax.t3.small"}}
    stack = f"skipped-{suffix}"
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=json.dumps({"Resources": {"Cache": cluster, "Queue": _queue(stack)}}),
    )
    (event,) = [e for e in _events(cloudformation, stack) if e["LogicalResourceId"] == "Cache"]
    assert event["ResourceType"] == "AWS::DAX::Cluster"
    assert "SKIPPED" in event["ResourceStatusReason"]
    assert "AWS::DAX::Cluster is not run locally" in event["ResourceStatusReason"]
    log = launcher.Paths(local_cloud.state_dir, local_cloud.port).log_file.read_text()
    assert f"CloudFormation stack {stack}: skipped Cache (AWS::DAX::Cluster)" in log

    uses = {
        "Cache": cluster,
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": {"Fn::GetAtt": ["Cache", "ClusterDiscoveryEndpoint"]}},
        },
    }
    with pytest.raises(ClientError) as failed:
        cloudformation.create_stack(
            StackName=f"{stack}-getatt", TemplateBody=json.dumps({"Resources": uses})
        )
    message = failed.value.response["Error"]["Message"]
    assert "Fn::GetAtt Cache.ClusterDiscoveryEndpoint" in message
    assert "a resource type the local cloud does not run" in message


# --- cdklocal deploys of fixture apps ------------------------------------------------


def test_cdklocal_deploys_a_rest_api_and_lists_the_skipped_resources(
    local_cloud: LocalCloud, tmp_path: Path
) -> None:
    app = FixtureApp(APPS / "cfn_rest_api", tmp_path)
    outputs = app.deploy(local_cloud)

    apigateway = client("apigateway", local_cloud.endpoint)
    api_id = outputs_of(outputs, "ApiId")
    resources = apigateway.get_resources(restApiId=api_id)["items"]
    methods = {
        (resource["path"], method)
        for resource in resources
        for method in resource.get("resourceMethods", {})
    }
    assert {("/", "GET"), ("/hello", "POST")} <= methods
    assert apigateway.get_deployments(restApiId=api_id)["items"]
    # The deploy output names the skipped queue policy, with its type.
    skipped = [line for line in app.last_output.splitlines() if "SKIPPED" in line]
    assert any("AWS::SQS::QueuePolicy" in line and "Inbox" in line for line in skipped), (
        app.last_output
    )


def test_cdklocal_deploy_that_fails_midway_rolls_back_and_the_fixed_app_deploys(
    local_cloud: LocalCloud, tmp_path: Path
) -> None:
    suffix = _suffix()
    stack = "fixture-cfn-fail-midway"
    first_name, second_name = f"cfn-midway-{suffix}", f"cfn-second-{suffix}"
    cloudformation = client("cloudformation", local_cloud.endpoint)
    dynamodb = client("dynamodb", local_cloud.endpoint)

    def step(name: str) -> FixtureApp:
        return FixtureApp(
            APPS / "cfn_fail_midway", tmp_path, context={"step": name, "suffix": suffix}
        )

    broken = step("broken")
    failed = broken.deploy(local_cloud, check=False)
    message = failed["error"]["message"]
    assert "Second" in message and "Cannot create preexisting table" in message, message
    assert "XML parse error" not in message
    assert _status(cloudformation, stack) == "ROLLBACK_COMPLETE"
    assert first_name not in dynamodb.list_tables()["TableNames"]  # rolled back

    # Fixed, the same command deploys: cdk deletes the ROLLBACK_COMPLETE stack, creates it.
    outputs = step("fixed").deploy(local_cloud)
    assert outputs_of(outputs, "SecondName") == second_name
    assert _status(cloudformation, stack) == "CREATE_COMPLETE"
    assert {first_name, second_name} <= set(dynamodb.list_tables()["TableNames"])

    # A failed update rolls back to the fixed stack: the new queue goes, the tables stay.
    failed = step("broken-update").deploy(local_cloud, check=False)
    assert "Third" in failed["error"]["message"], failed["error"]["message"]
    assert _status(cloudformation, stack) == "UPDATE_ROLLBACK_COMPLETE"
    assert f"cfn-midway-added-{suffix}" not in _queue_names(client("sqs", local_cloud.endpoint))
    assert {first_name, second_name} <= set(dynamodb.list_tables()["TableNames"])
    template = cloudformation.get_template(StackName=stack)["TemplateBody"]
    assert "Third" not in json.dumps(template)
    # ... and the next deploy of the fixed app works on the rolled-back stack.
    step("fixed").deploy(local_cloud)
    assert _status(cloudformation, stack) in ("UPDATE_ROLLBACK_COMPLETE", "UPDATE_COMPLETE")
