"""`make deploy` end to end: the real CDK CLI deploys the synthesized local stage to a local
cloud on a free port; then a changed copy of the app (new GSI, new code, new environment
variable) is deployed over it, and the original again."""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud import launcher
from scripts import deploy
from stacks.config import HOT_RELOAD_TAG, stage_config
from tests.localcloud.conftest import client, free_port, zip_code
from tests.localcloud.stack_checks import (
    invoke_json,
    message_reaches_the_stream_function,
    tutorial_invoke_session,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONFIG = stage_config("local")
PROBE_INDEX = "deploy-probe-index"

# A wrapper app over a *copy* of the repo's app: the same stacks, plus a GSI on Tasks and an
# environment variable on user-manager, and no hot reload (it would run the repo's
# `lambda_src/`, not the copy's). Only public entry points of `stacks` are used.
WRAPPER_APP = textwrap.dedent(
    f"""
    import dataclasses

    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_

    from stacks.backend import build_backend
    from datamodel.tables import AttributeType, IndexSpec
    from stacks.config import stage_config

    config = stage_config("local", {{"hot_reload": "false"}})
    tables = []
    for spec in config.tables:
        if spec.key == "tasks":
            spec = dataclasses.replace(
                spec,
                attributes=(*spec.attributes, ("owner", AttributeType.STRING)),
                global_indexes=(
                    *spec.global_indexes,
                    IndexSpec("{PROBE_INDEX}", "owner", capacity=spec.capacity),
                ),
            )
        tables.append(spec)
    config = dataclasses.replace(config, tables=tuple(tables))
    app = cdk.App()
    build_backend(app, config, nag=False)
    for node in app.node.find_all():
        if isinstance(node, lambda_.Function) and "UserManager" in node.node.path:
            node.add_environment("DEPLOY_PROBE", "v2")
    app.synth()
    """
)

# Appended to the copy's user-manager handler: every response says which code answered.
HANDLER_PATCH = textwrap.dedent(
    """

    _deployed_handler = lambda_handler


    def lambda_handler(event, context):
        response = _deployed_handler(event, context)
        response["deployedCode"] = "v2"
        response["deployProbe"] = os.environ.get("DEPLOY_PROBE")
        return response
    """
)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A fresh local cloud with the local stage deployed and seeded by `deploy_local`."""
    port = free_port()
    state_dir = tmp_path_factory.mktemp("deploy-cloud")
    try:
        summary = deploy.deploy_local(port, state_dir, quiet=True)
        assert summary.cloud == launcher.LOCALCLOUD
        yield port, state_dir
    finally:
        launcher.stop(port, state_dir)


def _index_names(table: dict[str, Any], kind: str) -> set[str]:
    return {index["IndexName"] for index in table.get(kind, [])}


def test_tables_indexes_stream_and_ttl_exist_as_declared(deployed: tuple[int, Path]) -> None:
    endpoint = launcher.endpoint_url(deployed[0])
    dynamodb = client("dynamodb", endpoint)
    for spec in CONFIG.tables:
        table = dynamodb.describe_table(TableName=spec.table_name)["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        assert keys.get("HASH") == spec.partition_key
        assert keys.get("RANGE") == spec.sort_key
        assert _index_names(table, "GlobalSecondaryIndexes") == {
            i.name for i in spec.global_indexes
        }
        assert _index_names(table, "LocalSecondaryIndexes") == {i.name for i in spec.local_indexes}
        stream = table.get("StreamSpecification", {})
        if spec.stream is None:
            assert not stream.get("StreamEnabled")
        else:
            assert stream == {"StreamEnabled": True, "StreamViewType": spec.stream.value}
        if spec.ttl_attribute:
            ttl = dynamodb.describe_time_to_live(TableName=spec.table_name)
            assert ttl["TimeToLiveDescription"] == {
                "TimeToLiveStatus": "ENABLED",
                "AttributeName": spec.ttl_attribute,
            }
        assert table["ItemCount"] > 0  # seeded


def test_user_manager_runs_the_real_handler(deployed: tuple[int, Path]) -> None:
    endpoint = launcher.endpoint_url(deployed[0])
    name = CONFIG.functions.user_manager
    created = invoke_json(
        endpoint,
        name,
        {
            "action": "CREATE",
            "data": {"userId": "deploy-test-1", "email": "deploy@example.com", "name": "Dee"},
        },
    )
    assert created["statusCode"] == 201
    read = invoke_json(endpoint, name, {"action": "READ", "userId": "deploy-test-1"})
    assert read["statusCode"] == 200
    assert json.loads(read["body"])["email"] == "deploy@example.com"
    stored = client("dynamodb", endpoint).get_item(
        TableName=CONFIG.table("users").table_name, Key={"userId": {"S": "deploy-test-1"}}
    )
    assert stored["Item"]["name"] == {"S": "Dee"}


def test_the_tutorials_invoke_session_on_the_local_cloud(deployed: tuple[int, Path]) -> None:
    tutorial_invoke_session(launcher.endpoint_url(deployed[0]))


def test_a_new_message_reaches_the_stream_function(deployed: tuple[int, Path]) -> None:
    message_reaches_the_stream_function(launcher.endpoint_url(deployed[0]), "deploy-test-group")


def _copy_app(target: Path) -> Path:
    root = deploy.REPO_ROOT
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".pytest_cache")
    for name in ("stacks", "lambda_src"):
        shutil.copytree(root / name, target / name, ignore=ignore)
    shutil.copy(root / "cdk.json", target / "cdk.json")
    # `datamodel` is a link into lambda_src/ (the Lambda asset ships it): copied as a link.
    shutil.copy(root / "datamodel", target / "datamodel", follow_symlinks=False)
    (target / "wrapper_app.py").write_text(WRAPPER_APP)
    handler = target / "lambda_src" / "user_manager" / "handler.py"
    handler.write_text(handler.read_text() + HANDLER_PATCH)
    return target


def test_a_role_missing_the_index_grant_fails_find_by_email_with_aws_message(
    deployed: tuple[int, Path],
) -> None:
    """The deployed roles are enforced: without `Users/index/*`, FIND_BY_EMAIL is denied."""
    endpoint = launcher.endpoint_url(deployed[0])
    name = CONFIG.functions.user_manager
    role_arn = client("lambda", endpoint).get_function(FunctionName=name)["Configuration"]["Role"]
    role = role_arn.rsplit("/", 1)[-1]
    iam = client("iam", endpoint)
    originals = {
        policy: iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
        for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }
    email = "sample.user.1@example.com"
    assert invoke_json(endpoint, name, {"action": "FIND_BY_EMAIL", "email": email})[
        "statusCode"
    ] in (200, 404)
    try:
        for policy, document in originals.items():
            narrowed = copy.deepcopy(document)
            kept = []
            for statement in narrowed["Statement"]:
                resources = statement.get("Resource")
                listed = resources if isinstance(resources, list) else [resources]
                statement["Resource"] = [r for r in listed if "/index/" not in str(r)]
                if statement["Resource"]:
                    kept.append(statement)
            narrowed["Statement"] = kept
            iam.put_role_policy(
                RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(narrowed)
            )
        response = client("lambda", endpoint).invoke(
            FunctionName=name,
            Payload=json.dumps({"action": "FIND_BY_EMAIL", "email": email}),
            LogType="Tail",
        )
        # The handler answers a bare 500; the denial is in the function's log.
        assert json.loads(response["Payload"].read())["statusCode"] == 500
        answer = base64.b64decode(response["LogResult"]).decode()
        table = CONFIG.table("users")
        index = table.global_indexes[0].name
        expected = (
            f"is not authorized to perform: dynamodb:Query on resource: "
            f"arn:aws:dynamodb:{CONFIG.region}:123456789012:table/{table.table_name}/index/"
            f"{index} because no identity-based policy allows the dynamodb:Query action"
        )
        assert expected in answer, answer
        assert "AccessDeniedException" in answer
        assert f"assumed-role/{role}/{name}" in answer
    finally:
        for policy, document in originals.items():
            iam.put_role_policy(
                RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(document)
            )
    assert invoke_json(endpoint, name, {"action": "FIND_BY_EMAIL", "email": email})[
        "statusCode"
    ] in (200, 404)


def test_redeploy_updates_a_table_the_code_and_the_environment(
    deployed: tuple[int, Path], tmp_path: Path
) -> None:
    port, state_dir = deployed
    endpoint = launcher.endpoint_url(port)
    dynamodb = client("dynamodb", endpoint)
    lambda_client = client("lambda", endpoint)
    tasks = CONFIG.table("tasks").table_name
    user_manager = CONFIG.functions.user_manager
    counts_before = {
        spec.table_name: dynamodb.describe_table(TableName=spec.table_name)["Table"]["ItemCount"]
        for spec in CONFIG.tables
    }

    app_dir = _copy_app(tmp_path / "app")
    deploy.deploy_local(
        port,
        state_dir,
        seed=False,
        quiet=True,
        app_dir=app_dir,
        app=f"{sys.executable} wrapper_app.py",
        validate=False,
    )
    table = dynamodb.describe_table(TableName=tasks)["Table"]
    assert PROBE_INDEX in _index_names(table, "GlobalSecondaryIndexes")
    environment = lambda_client.get_function_configuration(FunctionName=user_manager)[
        "Environment"
    ]["Variables"]
    assert environment["DEPLOY_PROBE"] == "v2"
    listed = invoke_json(endpoint, user_manager, {"action": "LIST"})
    assert listed["deployedCode"] == "v2"
    assert listed["deployProbe"] == "v2"

    # `make deploy` again from the repo: back to the declared stage, and idempotent.
    summary = deploy.deploy_local(port, state_dir, quiet=True, validate=False)
    table = dynamodb.describe_table(TableName=tasks)["Table"]
    assert PROBE_INDEX not in _index_names(table, "GlobalSecondaryIndexes")
    environment = lambda_client.get_function_configuration(FunctionName=user_manager)[
        "Environment"
    ]["Variables"]
    assert "DEPLOY_PROBE" not in environment
    listed = invoke_json(endpoint, user_manager, {"action": "LIST"})
    assert "deployedCode" not in listed
    # Re-seeding writes the same keys: no table grew.
    assert summary.tables == counts_before


def _sequence_number(endpoint: str, stream_arn: str, pk: str) -> int:
    """The sequence number of the stream record that wrote `pk` (read with the Streams API)."""
    streams = client("dynamodbstreams", endpoint)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in page["Records"]:
            if record["dynamodb"]["Keys"]["pk"]["S"] == pk:
                return int(record["dynamodb"]["SequenceNumber"])
        if not page["Records"]:
            break
        iterator = page.get("NextShardIterator")
    raise AssertionError(f"no stream record for {pk}")


def test_a_raising_stream_handler_is_retried_then_sent_to_the_failure_queue(
    deployed: tuple[int, Path],
) -> None:
    """The deployed mapping (retries, on-failure queue from the stack) with a handler that
    always raises: each attempt is a function error in the logs; then the queue has it."""
    endpoint = launcher.endpoint_url(deployed[0])
    lambda_client = client("lambda", endpoint)
    name = CONFIG.functions.message_stream
    raising = "def lambda_handler(event, context):\n    raise RuntimeError('injected failure')\n"
    # Untagged, the function runs the uploaded zip rather than the repo's working tree.
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    lambda_client.untag_resource(Resource=arn, TagKeys=[HOT_RELOAD_TAG])
    lambda_client.update_function_code(
        FunctionName=name,
        ZipFile=zip_code({"message_stream/__init__.py": "", "message_stream/handler.py": raising}),
    )
    (mapping,) = lambda_client.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    retries = mapping["MaximumRetryAttempts"]
    queue_arn = mapping["DestinationConfig"]["OnFailure"]["Destination"]
    sqs = client("sqs", endpoint)
    queue_url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"]

    client("dynamodb", endpoint).put_item(
        TableName=CONFIG.table("messages").table_name,
        Item={
            "pk": {"S": "MSG#failure-test"},
            "sk": {"S": "2031-01-01T00:00:00+00:00"},
            "message": {"S": "never applied"},
        },
    )
    sequence = _sequence_number(endpoint, mapping["EventSourceArn"], "MSG#failure-test")
    deadline = time.monotonic() + 30
    body: dict[str, Any] = {}
    while not body and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=queue_url, WaitTimeSeconds=1, MaxNumberOfMessages=10
        ).get("Messages", []):
            info = json.loads(message["Body"])
            batch = info["DDBStreamBatchInfo"]
            if int(batch["startSequenceNumber"]) <= sequence <= int(batch["endSequenceNumber"]):
                body = info
    assert body, "the failed batch never reached the on-failure queue"
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == retries + 1
    assert body["DDBStreamBatchInfo"]["streamArn"] == mapping["EventSourceArn"]

    logs = client("logs", endpoint)
    group = f"/aws/lambda/{name}"
    failed = 0
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])
        failed += sum(
            "[ERROR] RuntimeError: injected failure" in event["message"]
            for event in events["events"]
        )
    assert failed >= retries + 1


def test_make_deploy_refuses_prod_without_confirmation() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts", "--stage", "prod", "deploy"],
        cwd=deploy.REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "refusing to deploy prod without an explicit confirmation" in result.stderr


def test_destroy_removes_the_stacks_and_their_resources(deployed: tuple[int, Path]) -> None:
    port, state_dir = deployed
    endpoint = launcher.endpoint_url(port)
    message = deploy.destroy_local(port, state_dir)
    assert message.startswith(f"destroyed the {CONFIG.stack_prefix} stacks")
    assert client("dynamodb", endpoint).list_tables()["TableNames"] == []
    functions = client("lambda", endpoint).list_functions()["Functions"]
    assert [f["FunctionName"] for f in functions] == []


def test_bootstrap_names_the_clouds_account_and_runs_once(deployed: tuple[int, Path]) -> None:
    port, state_dir = deployed
    endpoint = launcher.endpoint_url(port)
    found = launcher.detect(port)
    assert found is not None
    account = client("sts", endpoint).get_caller_identity()["Account"]
    (toolkit,) = client("cloudformation", endpoint).describe_stacks(StackName="CDKToolkit")[
        "Stacks"
    ]
    assert toolkit["StackStatus"] == "CREATE_COMPLETE"
    assert f":{CONFIG.region}:{account}:stack/CDKToolkit/" in toolkit["StackId"]
    # Bootstrapped by the deploy: a second bootstrap runs no CLI (a broken one is not reached).
    env = deploy.local_environment(found, port, CONFIG.region, state_dir)
    env["PATH"] = str(state_dir / "no-such-bin")
    assert not deploy.bootstrap_local(port, CONFIG.region, env, state_dir, verbose=False)
