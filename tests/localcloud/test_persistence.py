"""State that survives a restart: the data directory, the snapshot, named snapshots.

The unit tests pickle moto-shaped object graphs and refuse bad directories; the round
trips start a persisting local cloud, stop it (cleanly, or with `kill -9`) and start it
again on the same data directory.
"""

from __future__ import annotations

import collections
import json
import os
import pickle
import shutil
import signal
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud import launcher, state
from tests.localcloud.conftest import client, create_function, free_port, wait_for
from tests.support.local_cloud import LocalCloud

# Counts each delivery of each record: a record delivered twice shows as n = 2.
COUNTER = """
import boto3

ddb = boto3.client("dynamodb")


def handler(event, context):
    for record in event["Records"]:
        pk = record["dynamodb"]["Keys"]["pk"]["S"]
        if pk.startswith("count#"):
            continue
        ddb.update_item(
            TableName=record["eventSourceARN"].split("/")[1],
            Key={"pk": {"S": "count#" + pk}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
"""

ECHO = """
def handler(event, context):
    return {"echo": event}
"""


# -- pickling ----------------------------------------------------------------------------
class _ParameterDict(collections.defaultdict[str, list[int]]):
    """Like moto's SSM ParameterDict: a defaultdict whose __init__ takes other arguments."""

    def __init__(self, account_id: str, region_name: str) -> None:
        super().__init__(list)
        self.account_id = account_id
        self.region_name = region_name


class _Holder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rlock = threading.RLock()
        self.ready = threading.Event()
        self.nested: collections.defaultdict[str, Any] = collections.defaultdict(
            lambda: collections.defaultdict(dict)
        )
        self.plain: collections.defaultdict[str, list[int]] = collections.defaultdict(list)
        self.cache: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self.parameters = _ParameterDict("123456789012", "eu-west-1")


def test_moto_shaped_graphs_pickle_with_fresh_locks_and_lambda_factories() -> None:
    holder = _Holder()
    holder.nested["a"]["b"]["c"] = 1
    holder.plain["x"].append(1)
    holder.parameters["/cdk-bootstrap/version"].append(21)
    with holder.lock:  # a held lock comes back released
        restored: _Holder = pickle.loads(state.dumps(holder))
    assert restored.lock.acquire(blocking=False)
    assert restored.rlock.acquire(blocking=False)
    assert not restored.ready.is_set()
    assert restored.nested["a"]["b"]["c"] == 1
    # the lambda factory still makes fresh defaultdict(dict)s, not one shared object
    restored.nested["new"]["k"]["v"] = 2
    restored.nested["other"]["k"]["w"] = 3
    assert restored.nested["new"]["k"] == {"v": 2}
    assert restored.nested["other"]["k"] == {"w": 3}
    assert restored.plain["y"] == []
    assert type(restored.parameters) is _ParameterDict
    assert restored.parameters["/cdk-bootstrap/version"] == [21]
    assert restored.parameters.region_name == "eu-west-1"
    assert restored.parameters["new"] == []


def test_a_running_thread_in_the_state_is_refused() -> None:
    thread = threading.Thread(target=lambda: None)
    with pytest.raises(pickle.PicklingError, match="thread"):
        state.dumps({"worker": thread})


# -- the data directory ------------------------------------------------------------------
def test_a_state_in_another_format_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / state.FORMAT_FILE).write_text(json.dumps({"format": state.FORMAT_VERSION + 1}))
    data_dir = state.DataDir(tmp_path)
    with pytest.raises(state.StateError, match=r"format 2; this local cloud reads format 1"):
        data_dir.open()
    # refused without changing anything, and without keeping the lock
    assert json.loads((tmp_path / state.FORMAT_FILE).read_text())["format"] == 2
    state.DataDir(tmp_path / "other").open()


def test_a_folder_of_other_files_is_not_taken_for_a_state(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(state.StateError, match="not a local cloud state directory"):
        state.DataDir(tmp_path).open()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != state.LOCK_FILE) == ["notes.txt"]


def test_one_data_directory_serves_one_server(tmp_path: Path) -> None:
    first = state.DataDir(tmp_path)
    first.open()
    try:
        with pytest.raises(
            state.StateError, match=f"in use by a running local cloud .pid {os.getpid()}"
        ):
            state.DataDir(tmp_path).open()
        with pytest.raises(state.StateError, match="in use"):
            state.wipe(tmp_path)
    finally:
        first.close()
    state.DataDir(tmp_path).open()


def test_a_damaged_snapshot_is_refused_not_half_loaded(tmp_path: Path) -> None:
    data_dir = state.DataDir(tmp_path)
    data_dir.open()
    (tmp_path / state.SNAPSHOT_FILE).write_bytes(b"\x80\x05truncated")
    with pytest.raises(state.StateError, match="cannot be read"):
        data_dir.read_snapshot()


@pytest.mark.parametrize("name", ["", ".hidden", "../up", "a/b", "x" * 101, "sp ace"])
def test_snapshot_names_are_plain_file_names(name: str) -> None:
    with pytest.raises(state.StateError, match="snapshot name"):
        state.check_snapshot_name(name)


# -- round trips through a real server ---------------------------------------------------
def _wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    return wait_for(check, timeout)


def _counts(endpoint: str, table: str) -> dict[str, int]:
    items = client("dynamodb", endpoint).scan(TableName=table, ConsistentRead=True)["Items"]
    return {
        i["pk"]["S"].removeprefix("count#"): int(i["n"]["N"])
        for i in items
        if i["pk"]["S"].startswith("count#")
    }


def _put(endpoint: str, table: str, keys: list[str]) -> None:
    dynamodb = client("dynamodb", endpoint)
    for key in keys:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": key}, "v": {"N": "1"}})


class World:
    """What one persisting cloud holds: a streamed table with a counting function, an
    echo function, a queue with a message, a bucket with an object, a log group."""

    def __init__(self, endpoint: str) -> None:
        tag = uuid.uuid4().hex[:6]
        self.table = f"persist-{tag}"
        created = client("dynamodb", endpoint).create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            Tags=[{"Key": "team", "Value": "data"}],
        )["TableDescription"]
        self.table_arn = created["TableArn"]
        self.counter = f"counter-{tag}"
        create_function(endpoint, self.counter, COUNTER)
        self.mapping = client("lambda", endpoint).create_event_source_mapping(
            FunctionName=self.counter,
            EventSourceArn=created["LatestStreamArn"],
            StartingPosition="TRIM_HORIZON",
            BatchSize=5,
        )["UUID"]
        self.echo = f"echo-{tag}"
        create_function(endpoint, self.echo, ECHO)
        sqs = client("sqs", endpoint)
        self.queue = sqs.create_queue(QueueName=f"persist-{tag}")["QueueUrl"]
        sqs.send_message(QueueUrl=self.queue, MessageBody="kept")
        self.bucket = f"persist-{tag}"
        s3 = client("s3", endpoint)
        s3.create_bucket(Bucket=self.bucket)
        s3.put_object(Bucket=self.bucket, Key="hostile name; $(x) ü.txt", Body=b"payload")
        client("logs", endpoint).create_log_group(logGroupName=f"/persist/{tag}")
        self.log_group = f"/persist/{tag}"

    def set_mapping(self, endpoint: str, enabled: bool) -> None:
        client("lambda", endpoint).update_event_source_mapping(UUID=self.mapping, Enabled=enabled)

    def check(self, endpoint: str) -> None:
        """Everything created is there and works."""
        dynamodb = client("dynamodb", endpoint)
        assert self.table in dynamodb.list_tables()["TableNames"]
        tags = dynamodb.list_tags_of_resource(ResourceArn=self.table_arn)["Tags"]
        assert tags == [{"Key": "team", "Value": "data"}]
        answer = client("lambda", endpoint).invoke(FunctionName=self.echo, Payload=b'{"a": 1}')
        assert json.loads(answer["Payload"].read()) == {"echo": {"a": 1}}
        messages = client("sqs", endpoint).receive_message(QueueUrl=self.queue)["Messages"]
        assert [m["Body"] for m in messages] == ["kept"]
        body = client("s3", endpoint).get_object(
            Bucket=self.bucket, Key="hostile name; $(x) ü.txt"
        )["Body"]
        assert body.read() == b"payload"
        groups = client("logs", endpoint).describe_log_groups(logGroupNamePrefix="/persist/")
        assert self.log_group in [g["logGroupName"] for g in groups["logGroups"]]


@pytest.fixture
def persisting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], LocalCloud]]:
    """Start persisting clouds on one state directory and port; stop whatever is left."""
    monkeypatch.setenv("LOCALCLOUD_SNAPSHOT_INTERVAL_S", "0.3")
    started: list[LocalCloud] = []
    port = 0

    def start() -> LocalCloud:
        nonlocal port
        cloud = LocalCloud(tmp_path, persist=True)
        cloud.start(port or None)
        port = cloud.port
        started.append(cloud)
        return cloud

    yield start
    for cloud in started:
        cloud.stop()


@pytest.mark.integration
@pytest.mark.slow
def test_a_clean_restart_keeps_everything_and_redelivers_nothing(
    persisting: Callable[[], LocalCloud],
) -> None:
    cloud = persisting()
    world = World(cloud.endpoint)
    _put(cloud.endpoint, world.table, ["a", "b", "c"])
    _wait_for(lambda: _counts(cloud.endpoint, world.table) == {"a": 1, "b": 1, "c": 1})
    # records written while the mapping is off are pending at the stop
    world.set_mapping(cloud.endpoint, False)
    _put(cloud.endpoint, world.table, ["d", "e"])
    cloud.stop()

    cloud = persisting()
    assert cloud.health()["persistence"]["dir"] == str(cloud.data_dir)
    world.check(cloud.endpoint)
    time.sleep(1.5)  # a redelivery would show by now
    assert _counts(cloud.endpoint, world.table) == {"a": 1, "b": 1, "c": 1}
    world.set_mapping(cloud.endpoint, True)
    _wait_for(lambda: len(_counts(cloud.endpoint, world.table)) == 5)
    _put(cloud.endpoint, world.table, ["f"])
    _wait_for(lambda: "f" in _counts(cloud.endpoint, world.table))
    time.sleep(1.0)
    assert _counts(cloud.endpoint, world.table) == dict.fromkeys("abcdef", 1)


@pytest.mark.integration
@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_write_and_at_most_the_last_interval(
    persisting: Callable[[], LocalCloud],
) -> None:
    cloud = persisting()
    world = World(cloud.endpoint)
    _put(cloud.endpoint, world.table, ["a", "b"])
    _wait_for(lambda: _counts(cloud.endpoint, world.table) == {"a": 1, "b": 1})
    # a control-plane change, and the snapshot that follows it within the interval
    written = cloud.health()["persistence"]["snapshots_written"]
    late_queue = client("sqs", cloud.endpoint).create_queue(QueueName=f"{world.table}-late")
    _wait_for(lambda: cloud.health()["persistence"]["snapshots_written"] > written)
    # acknowledged DynamoDB writes right before the crash: the engine's own files keep them
    keys = [f"late-{i:03d}" for i in range(50)]
    world.set_mapping(cloud.endpoint, False)
    _put(cloud.endpoint, world.table, keys)
    pid = cloud.health()["pid"]
    os.killpg(pid, signal.SIGKILL)
    _wait_for(lambda: not launcher.port_open(cloud.port))

    cloud = persisting()
    world.check(cloud.endpoint)
    queues = client("sqs", cloud.endpoint).list_queues().get("QueueUrls", [])
    assert late_queue["QueueUrl"] in queues
    items = client("dynamodb", cloud.endpoint).scan(TableName=world.table, ConsistentRead=True)
    stored = {i["pk"]["S"] for i in items["Items"]}
    assert set(keys) <= stored
    world.set_mapping(cloud.endpoint, True)
    _wait_for(lambda: len(_counts(cloud.endpoint, world.table)) == 52)
    counts = _counts(cloud.endpoint, world.table)
    assert counts["a"] == counts["b"] == 1
    assert all(counts[key] == 1 for key in keys)


@pytest.mark.integration
@pytest.mark.slow
def test_named_snapshots_restore_and_reset(
    persisting: Callable[[], LocalCloud], tmp_path: Path
) -> None:
    cloud = persisting()
    world = World(cloud.endpoint)
    _put(cloud.endpoint, world.table, ["before"])
    port, state_dir = cloud.port, tmp_path

    saved = launcher.save_snapshot("before-change", port, state_dir)
    assert (saved / state.FORMAT_FILE).exists()
    assert launcher.list_snapshots(state_dir) == ["before-change"]
    with pytest.raises(launcher.LocalCloudError, match="already exists"):
        launcher.save_snapshot("before-change", port, state_dir)
    # the cloud runs again after the snapshot; change it
    dynamodb = client("dynamodb", cloud.endpoint)
    dynamodb.delete_item(TableName=world.table, Key={"pk": {"S": "before"}})
    dynamodb.create_table(
        TableName="after-snapshot",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    launcher.restore_snapshot("before-change", port, state_dir)
    tables = client("dynamodb", cloud.endpoint).list_tables()["TableNames"]
    assert "after-snapshot" not in tables
    item = client("dynamodb", cloud.endpoint).get_item(
        TableName=world.table, Key={"pk": {"S": "before"}}
    )
    assert "Item" in item
    world.check(cloud.endpoint)
    with pytest.raises(launcher.LocalCloudError, match="no snapshot 'missing'"):
        launcher.restore_snapshot("missing", port, state_dir)

    launcher.reset_state(port, state_dir)
    assert client("dynamodb", cloud.endpoint).list_tables()["TableNames"] == []
    assert launcher.list_snapshots(state_dir) == ["before-change"]


@pytest.mark.integration
@pytest.mark.slow
def test_a_snapshot_copied_to_another_checkout_starts_there(
    persisting: Callable[[], LocalCloud], tmp_path_factory: pytest.TempPathFactory
) -> None:
    cloud = persisting()
    world = World(cloud.endpoint)
    saved = launcher.save_snapshot("handover", cloud.port, cloud.state_dir)
    cloud.stop()

    teammate = tmp_path_factory.mktemp("teammate")
    (teammate / "snapshots").mkdir()
    shutil.copytree(saved, teammate / "snapshots" / "handover")
    other = LocalCloud(teammate, persist=True)
    launcher.restore_snapshot("handover", 0, teammate)
    other.start()
    try:
        world.check(other.endpoint)
    finally:
        other.stop()


@pytest.mark.integration
@pytest.mark.slow
def test_a_server_refuses_a_state_of_another_format(tmp_path: Path) -> None:
    data_dir = launcher.Paths(tmp_path, 0).data_dir
    data_dir.mkdir(parents=True)
    (data_dir / state.FORMAT_FILE).write_text(json.dumps({"format": 0}))
    with pytest.raises(launcher.LocalCloudError, match="state format 0"):
        LocalCloud(tmp_path, persist=True).start()
    assert json.loads((data_dir / state.FORMAT_FILE).read_text()) == {"format": 0}


@pytest.mark.integration
@pytest.mark.slow
def test_a_deployed_seeded_stack_survives_restarts_and_redeploys_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make deploy`, then `make down && make up` (and a crash): the stack works as before."""
    from scripts import deploy
    from stacks.config import stage_config
    from tests.localcloud.stack_checks import (
        message_reaches_the_stream_function,
        tutorial_invoke_session,
    )

    monkeypatch.setenv("LOCALCLOUD_PERSIST", "1")
    monkeypatch.setenv("LOCALCLOUD_SNAPSHOT_INTERVAL_S", "0.5")
    port = free_port()
    endpoint = launcher.endpoint_url(port)
    messages = stage_config("local").table("messages").table_name
    try:
        deploy.deploy_local(port, tmp_path, quiet=True, validate=False)
        before = client("dynamodb", endpoint).scan(TableName=messages, Select="COUNT")["Count"]
        mapping = client("lambda", endpoint).list_event_source_mappings()["EventSourceMappings"]
        assert len(mapping) == 1
        # records pending at the stop: written while the mapping is off
        client("lambda", endpoint).update_event_source_mapping(
            UUID=mapping[0]["UUID"], Enabled=False
        )
        for stop in ("clean", "kill -9"):
            group = f"restart-{stop.replace(' ', '')}"
            dynamodb = client("dynamodb", endpoint)
            dynamodb.put_item(
                TableName=messages,
                Item={"pk": {"S": f"MSG#{group}"}, "sk": {"S": "2031-01-01T00:00:00+00:00"}},
            )
            if stop == "clean":
                launcher.stop(port, tmp_path)
            else:
                time.sleep(1.5)  # past the snapshot interval
                pid = launcher.status(port)
                assert pid is not None and pid.pid is not None
                os.killpg(pid.pid, signal.SIGKILL)
                _wait_for(lambda: not launcher.port_open(port))
            launcher.start(port, tmp_path)
            tables = client("dynamodb", endpoint).list_tables()["TableNames"]
            assert messages in tables
            after = client("dynamodb", endpoint).scan(TableName=messages, Select="COUNT")
            assert after["Count"] >= before + 1
            tutorial_invoke_session(endpoint)
        client("lambda", endpoint).update_event_source_mapping(
            UUID=mapping[0]["UUID"], Enabled=True
        )
        message_reaches_the_stream_function(endpoint, "after-restarts")
        summary = deploy.deploy_local(port, tmp_path, quiet=True, seed=False, validate=False)
        assert summary.cloud == launcher.LOCALCLOUD
        tutorial_invoke_session(endpoint)
    finally:
        launcher.stop(port, tmp_path)


@pytest.mark.integration
@pytest.mark.slow
def test_a_state_machine_and_its_execution_survive_a_restart(tmp_path: Path) -> None:
    """Step Functions runs on moto's interpreter backend (`stepfunctions.py`); the recording
    backend it replaces must not be captured, or the next start cannot restore the state."""
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
            "Done": {"Type": "Pass", "End": True},
        },
    }
    with LocalCloud(tmp_path, persist=True) as cloud:
        role = client("iam", cloud.endpoint).create_role(
            RoleName="machine",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        sfn = client("stepfunctions", cloud.endpoint)
        machine = sfn.create_state_machine(
            name="waits", roleArn=role, definition=json.dumps(definition)
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        wait_for(lambda: sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED")
    with LocalCloud(tmp_path, persist=True) as cloud:
        sfn = client("stepfunctions", cloud.endpoint)
        assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["waits"]
        assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
