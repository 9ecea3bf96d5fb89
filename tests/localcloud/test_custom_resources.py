"""CloudFormation custom resources in the local cloud: how properties are sent (pure), and
against a fresh local cloud a CDK app's Lambda-backed custom resources answering their
response URL (types of the properties in `Data`, `Fn::GetAtt`, `Ref`), an update and a
delete carrying what CloudFormation sends, a FAILED answer rolling the stack back, an
unanswered request timing out, and an SNS ServiceToken refused."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud import custom_resources
from tests.localcloud.conftest import client, create_function, module_cloud
from tests.support.fixture_apps import FixtureApp, outputs_of
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APP = Path("tests/fixture_apps/custom_resource")


def test_properties_are_sent_as_strings_nested_too() -> None:
    sent = custom_resources.as_sent(
        {"Flag": True, "Off": False, "Count": 3, "Ratio": 1.5, "Nested": {"L": [1, True, "x"]}}
    )
    assert sent == {
        "Flag": "true",
        "Off": "false",
        "Count": "3",
        "Ratio": "1.5",
        "Nested": {"L": ["1", "true", "x"]},
    }


cloud = module_cloud("custom-resource")


def _requests(endpoint: str, table: str) -> list[dict[str, Any]]:
    items = client("dynamodb", endpoint).scan(TableName=table)["Items"]
    return [json.loads(item["event"]["S"]) for item in items]


def _deadline_requests(endpoint: str, table: str, kind: str, timeout: float = 30.0) -> list[Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = [r for r in _requests(endpoint, table) if r["RequestType"] == kind]
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"no {kind} request recorded within {timeout} s")


def test_custom_resources_answer_with_string_properties_update_and_delete(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    app = FixtureApp(APP, tmp_path, {"version": "1"})
    outputs = app.deploy(cloud)
    # The function saw CloudFormation's strings: its Data says which type each value had.
    assert outputs_of(outputs, "FlagType") == "str:true"
    assert json.loads(outputs_of(outputs, "NestedType")) == {
        "On": "str:false",
        "List": ["str:1", "str:true", "str:x"],
    }
    assert outputs_of(outputs, "EnabledType") == "str:false"  # AWS::CloudFormation::CustomResource
    assert outputs_of(outputs, "EchoId") == "echo-1"  # Ref: the answered PhysicalResourceId
    endpoint, table = cloud.endpoint, outputs_of(outputs, "TableName")
    (create,) = [
        r
        for r in _requests(endpoint, table)
        if r["RequestType"] == "Create" and r["LogicalResourceId"].startswith("Echo")
    ]
    assert create["ResourceType"] == "Custom::Echo"
    assert create["ResourceProperties"]["Count"] == "3"
    assert create["ResourceProperties"]["Ratio"] == "1.5"
    assert create["ResponseURL"].startswith(f"{endpoint}/")
    assert create["StackId"].startswith("arn:aws:cloudformation:us-east-1:")
    assert "PhysicalResourceId" not in create and "OldResourceProperties" not in create

    FixtureApp(APP, tmp_path, {"version": "2"}).deploy(cloud)
    (update,) = _deadline_requests(endpoint, table, "Update")
    assert update["PhysicalResourceId"] == "echo-1"
    assert update["OldResourceProperties"]["Version"] == "1"
    assert update["OldResourceProperties"]["Flag"] == "true"
    assert update["ResourceProperties"]["Version"] == "2"

    cfn = client("cloudformation", endpoint)
    resources = cfn.describe_stack_resources(StackName="fixture-custom")["StackResources"]
    echo = next(r for r in resources if r["ResourceType"] == "Custom::Echo")
    assert echo["PhysicalResourceId"] == "echo-1"
    function = next(r for r in resources if r["ResourceType"] == "AWS::Lambda::Function")

    app.destroy(cloud)
    deletes = [
        r
        for r in _logged_requests(endpoint, function["PhysicalResourceId"])
        if r["RequestType"] == "Delete"
    ]
    assert {r["PhysicalResourceId"] for r in deletes} >= {"echo-1"}
    assert all("OldResourceProperties" not in r for r in deletes)


def _logged_requests(endpoint: str, function_name: str) -> list[dict[str, Any]]:
    """The requests the echo function printed to its log group (which outlives it)."""
    logs = client("logs", endpoint)
    found = []
    group = f"/aws/lambda/{function_name}"
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])
        for event in events["events"]:
            if event["message"].startswith("REQUEST "):
                found.append(json.loads(event["message"][len("REQUEST ") :]))
    return found


def test_failed_answer_rolls_the_stack_back_with_its_reason(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    app = FixtureApp(APP, tmp_path, {"fail": "1"})
    result = app.deploy(cloud, check=False)
    assert "error" in result
    cfn = client("cloudformation", cloud.endpoint)
    stack = cfn.describe_stacks(StackName="fixture-custom-fail")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="fixture-custom-fail")["StackEvents"]
    failed = [e for e in events if e.get("ResourceStatus") == "CREATE_FAILED"]
    assert failed, events
    reason = failed[0]["ResourceStatusReason"]
    assert "Received response status [FAILED]" in reason
    assert "the echo refuses this resource" in reason
    assert "the echo refuses this resource" in app.last_output


SILENT = """
def handler(event, context):
    return None
"""

CRASHING = """
def handler(event, context):
    raise RuntimeError("no answer from me")
"""


def _stack_with(endpoint: str, name: str, token: str, timeout: int | None = None) -> Any:
    properties: dict[str, Any] = {"ServiceToken": token}
    if timeout is not None:
        properties["ServiceTimeout"] = timeout
    template = {"Resources": {"Thing": {"Type": "Custom::Thing", "Properties": properties}}}
    cfn = client("cloudformation", endpoint)
    with pytest.raises(ClientError) as raised:
        cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    return raised.value.response["Error"]["Message"]


def test_unanswered_request_times_out_and_a_crash_fails_at_once(cloud: LocalCloud) -> None:
    endpoint = cloud.endpoint
    silent = create_function(endpoint, "cr-silent", SILENT)
    started = time.monotonic()
    message = _stack_with(endpoint, "cr-timeout", silent, timeout=3)
    assert "did not receive a response from your Custom Resource" in message
    assert time.monotonic() - started < 30
    crashing = create_function(endpoint, "cr-crash", CRASHING)
    message = _stack_with(endpoint, "cr-crash", crashing)
    assert "failed before it answered" in message and "no answer from me" in message
    cfn = client("cloudformation", endpoint)
    assert cfn.describe_stacks(StackName="cr-crash")["Stacks"][0]["StackStatus"] == (
        "ROLLBACK_COMPLETE"
    )


def test_sns_service_token_is_refused(cloud: LocalCloud) -> None:
    topic = client("sns", cloud.endpoint).create_topic(Name="cr-topic")["TopicArn"]
    message = _stack_with(cloud.endpoint, "cr-sns", topic)
    assert "is an SNS topic" in message
