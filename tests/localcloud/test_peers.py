"""`make deploy` on a peer local cloud: MiniStack (free, Docker-free, PyPI `ministack`),
then our own cloud on the same port in the same checkout.

The same `deploy_local` path deploys, seeds and serves the tutorials' calls on MiniStack.
What MiniStack lacks is recorded here as tests that fail when it changes. Switching clouds
must not break the next deploy: the CDK CLI caches one account per access key, and
MiniStack's (000000000000) is not ours (123456789012).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud import launcher
from scripts import deploy
from stacks.config import stage_config
from tests.localcloud.conftest import client, create_function
from tests.localcloud.stack_checks import (
    message_reaches_the_stream_function,
    tutorial_invoke_session,
)
from tests.support.ministack import MiniStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONFIG = stage_config("local")


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, MiniStack]]:
    """MiniStack on a free port with the local stage deployed and seeded by `deploy_local`."""
    state_dir = tmp_path_factory.mktemp("ministack-deploy")
    with MiniStack(log_path=state_dir / "ministack.log") as peer:
        port = int(peer.endpoint.rsplit(":", 1)[1])
        summary = deploy.deploy_local(port, state_dir, quiet=True, validate=False)
        assert summary.cloud == launcher.MINISTACK
        assert all(count > 0 for count in summary.tables.values())
        yield port, state_dir, peer


@pytest.fixture(scope="module")
def ministack(peer: tuple[int, Path, MiniStack]) -> tuple[int, Path]:
    return peer[0], peer[1]


def _invoke(endpoint: str, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    response = client("lambda", endpoint).invoke(FunctionName=name, Payload=json.dumps(event))
    return response, json.loads(response["Payload"].read())


def test_the_stack_deploys_and_the_tutorial_calls_work_on_ministack(
    ministack: tuple[int, Path],
) -> None:
    endpoint = launcher.endpoint_url(ministack[0])
    found = launcher.detect(ministack[0])
    assert found is not None and found.kind == launcher.MINISTACK
    tables = client("dynamodb", endpoint).list_tables()["TableNames"]
    assert set(tables) >= {spec.table_name for spec in CONFIG.tables}
    response, result = _invoke(endpoint, CONFIG.functions.user_manager, {"action": "LIST"})
    assert "FunctionError" not in response
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["count"] > 0


def test_the_tutorials_invoke_session_on_ministack(ministack: tuple[int, Path]) -> None:
    tutorial_invoke_session(launcher.endpoint_url(ministack[0]))


def test_a_new_message_reaches_the_stream_function_on_ministack(
    ministack: tuple[int, Path],
) -> None:
    message_reaches_the_stream_function(launcher.endpoint_url(ministack[0]), "peer-group-1")


def test_ministack_gap_error_type_is_not_the_exception_class(
    ministack: tuple[int, Path], cloud: str
) -> None:
    """Lambda answers `errorType` with the exception's class; MiniStack with
    `Runtime.HandlerError` (1.5.33). Our cloud answers as Lambda does."""
    code = "def handler(event, context):\n    raise KeyError('missing')\n"
    errors = {}
    for endpoint in (launcher.endpoint_url(ministack[0]), cloud):
        name = f"raises-{abs(hash(endpoint)) % 10_000}"
        create_function(endpoint, name, code)
        response, result = _invoke(endpoint, name, {})
        assert response["FunctionError"] == "Unhandled"
        errors[endpoint] = result["errorType"]
    assert errors[cloud] == "KeyError"
    assert errors[launcher.endpoint_url(ministack[0])] == "Runtime.HandlerError"


COUNT_THEN_FAIL = """
import boto3

ddb = boto3.client("dynamodb")


def handler(event, context):
    table = event["Records"][0]["eventSourceARN"].split("/")[1]
    for record in event["Records"]:
        pk = record["dynamodb"]["Keys"]["pk"]["S"]
        if not pk.startswith("count#"):
            ddb.update_item(
                TableName=table,
                Key={"pk": {"S": "count#" + pk}},
                UpdateExpression="ADD n :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
    raise RuntimeError("this batch never succeeds")
"""
# Long enough for MiniStack to have retried and given up, as Lambda would have by then.
GAP_OBSERVATION_S = 8.0


def test_ministack_gap_partial_batch_failures_are_ignored(ministack: tuple[int, Path]) -> None:
    """A reported `batchItemFailures` record is retried by Lambda (and by our cloud:
    test_streams.py); MiniStack 1.5.33 delivers it once and moves on."""
    from tests.localcloud.test_streams import PARTIAL, _rows, _table, _wait_for

    endpoint = launcher.endpoint_url(ministack[0])
    table, stream_arn = _table(endpoint)
    name = f"partial-{table}"
    create_function(endpoint, name, PARTIAL)
    client("lambda", endpoint).create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=3,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    for key in ("k0", "k1", "k2"):
        client("dynamodb", endpoint).put_item(TableName=table, Item={"pk": {"S": key}})
    _wait_for(lambda: len(_rows(endpoint, table, "count#")) == 3, timeout=30)
    time.sleep(GAP_OBSERVATION_S)
    counts = {pk: row["n"]["N"] for pk, row in _rows(endpoint, table, "count#").items()}
    assert counts["count#k1"] == "1"  # never retried


def test_ministack_gap_no_on_failure_destination(ministack: tuple[int, Path]) -> None:
    """After the retries, Lambda (and our cloud: test_streams.py) sends the failed batch's
    description to the mapping's SQS `OnFailure` destination; MiniStack 1.5.33 does not."""
    from tests.localcloud.test_streams import _rows, _table, _wait_for

    endpoint = launcher.endpoint_url(ministack[0])
    table, stream_arn = _table(endpoint)
    sqs = client("sqs", endpoint)
    queue_url = sqs.create_queue(QueueName=f"failures-{table}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    name = f"fails-{table}"
    create_function(endpoint, name, COUNT_THEN_FAIL)
    client("lambda", endpoint).create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    client("dynamodb", endpoint).put_item(TableName=table, Item={"pk": {"S": "doomed"}})
    _wait_for(lambda: _rows(endpoint, table, "count#doomed"), timeout=30)
    time.sleep(GAP_OBSERVATION_S)
    received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
    assert received == []


# Last: it stops the module's MiniStack.
def test_switching_from_ministack_to_our_cloud_on_one_port_deploys(
    peer: tuple[int, Path, MiniStack],
) -> None:
    port, state_dir, ministack = peer
    found = launcher.detect(port)
    assert found is not None and found.kind == launcher.MINISTACK
    ministack_home = deploy.cdk_home(state_dir, found, port)
    assert (ministack_home / "cache").exists(), "the CDK CLI cached nothing for MiniStack"
    # Same checkout (state directory), same port, another cloud.
    ministack.stop()
    summary = deploy.deploy_local(port, state_dir, quiet=True, validate=False)
    try:
        assert summary.cloud == launcher.LOCALCLOUD
        ours = launcher.detect(port)
        assert ours is not None and deploy.cdk_home(state_dir, ours, port) != ministack_home
        endpoint = launcher.endpoint_url(port)
        response, result = _invoke(endpoint, CONFIG.functions.user_manager, {"action": "LIST"})
        assert "FunctionError" not in response and result["statusCode"] == 200
    finally:
        launcher.stop(port, state_dir)
