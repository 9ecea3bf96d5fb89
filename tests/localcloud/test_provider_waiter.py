"""CDK's `Provider` with an `is_complete_handler` on a fresh local cloud: its waiter state
machine (a Task on the framework's `isComplete` function retried every `query_interval`,
caught into its timeout function) runs in moto's Step Functions interpreter, its Lambda Tasks
in our runner. Creation completes when the user's `is_complete` says so; a handler that
never completes fails the resource with CDK's `Operation timed out` after `total_timeout`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.localcloud.conftest import client, module_cloud
from tests.support.fixture_apps import FixtureApp, outputs_of
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APP = Path("tests/fixture_apps/provider_waiter")


cloud = module_cloud("provider-waiter")


def test_create_completes_after_is_complete_polls(cloud: LocalCloud, tmp_path: Path) -> None:
    outputs = FixtureApp(APP, tmp_path).deploy(cloud)
    assert outputs_of(outputs, "JobId") == "job-local"
    # is_complete answered IsComplete on its third poll; its Data reached the resource.
    assert outputs_of(outputs, "Polls") == "3"
    sfn = client("stepfunctions", cloud.endpoint)
    (machine,) = sfn.list_state_machines()["stateMachines"]
    (execution,) = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    assert execution["status"] == "SUCCEEDED"


def test_never_complete_fails_after_total_timeout(cloud: LocalCloud, tmp_path: Path) -> None:
    app = FixtureApp(APP, tmp_path, {"never_complete": "true"})
    started = time.monotonic()
    assert "error" in app.deploy(cloud, check=False)
    # total_timeout is 4 s: the waiter gave up, not CloudFormation's hour-long wait.
    assert time.monotonic() - started < 300
    cfn = client("cloudformation", cloud.endpoint)
    stack_name = "fixture-provider-waiter-never"
    assert cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"] == (
        "ROLLBACK_COMPLETE"
    )
    events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    reasons = [e.get("ResourceStatusReason", "") for e in failed]
    assert any("Operation timed out" in reason for reason in reasons), reasons
