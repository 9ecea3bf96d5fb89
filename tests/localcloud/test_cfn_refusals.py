"""A deploy the Lambda runner refuses reaches the CDK CLI with the runner's reason: a Java 21
function (`tests/fixture_apps/cfn_bad_runtime`) fails (`ValidationError` in the CLI, a
`CREATE_FAILED` event) naming the runtime, and the stack rolls back, its table removed.
Issue #11 saw `XML parse error` here; `cfn_resources.py`'s error conversion already answers
it, so this guards that."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.localcloud.conftest import client, module_cloud
from tests.support.fixture_apps import FixtureApp
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APPS = Path(__file__).resolve().parents[1] / "fixture_apps"
STACK = "fixture-cfn-bad-runtime"


cloud = module_cloud("cfn-refusals")


def test_an_unsupported_runtime_fails_the_deploy_with_the_reason(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    app = FixtureApp(APPS / "cfn_bad_runtime", tmp_path)
    app.deploy(cloud, check=False)
    output = app.last_output
    assert "XML parse error" not in output, output
    assert "ValidationError" in output, output
    assert "JavaFunction" in output, output
    assert "cannot run runtime java21" in output, output
    cloudformation = client("cloudformation", cloud.endpoint)
    failed = [
        event
        for event in cloudformation.describe_stack_events(StackName=STACK)["StackEvents"]
        if event["ResourceStatus"] == "CREATE_FAILED"
        and event["LogicalResourceId"].startswith("JavaFunction")
    ]
    assert failed, "no CREATE_FAILED event for the function"
    assert "java21" in failed[0]["ResourceStatusReason"]
    stack = cloudformation.describe_stacks(StackName=STACK)
    assert stack["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    tables = client("dynamodb", cloud.endpoint).list_tables()["TableNames"]
    assert "fixture-bad-runtime-table" not in tables
