"""The deployed, suffixed local stage does what the tutorials say, on AWS or the local cloud.

Run against a real account with `make test-aws` (`DYNAMO_BACKEND_AWS_TESTS=1`); otherwise
against a local cloud of the module's own, through the same code (see `tests/aws/cloud.py`).
Every name comes from the suffixed stage config, so nothing here can touch another copy.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datamodel.tables import MESSAGE_GROUP_INDEX
from scripts.sample_data import sample_items
from scripts.scan import ScanRequest, scan_items
from scripts.seed import plan_sample, seed_plan
from scripts.tables import count_items, describe_table
from tests.aws.cloud import Deployment, poll

pytestmark = [pytest.mark.aws, pytest.mark.integration, pytest.mark.slow]


def _invoke(deployed: Deployment, name: str, event: dict[str, Any]) -> tuple[int, Any]:
    """Invoke a function synchronously: its status code and decoded body."""
    response = deployed.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    payload = response["Payload"].read()
    assert "FunctionError" not in response, payload
    result = json.loads(payload)
    return result["statusCode"], json.loads(result["body"])


def _timeout(deployed: Deployment, local: float, aws: float) -> float:
    return aws if deployed.cloud.is_aws else local


def _read_eventually(
    deployed: Deployment,
    name: str,
    event: dict[str, Any],
    expect: Callable[[Any], bool] = lambda body: True,
) -> Any:
    """The body of the first 200 answer to `event` that `expect` accepts. For reads through
    an eventually consistent path (a GSI, a Scan, a plain GetItem): on AWS they may lag the
    write just made by a moment."""

    def answer() -> Any:
        status, body = _invoke(deployed, name, event)
        return body if status == 200 and expect(body) else None

    return poll(answer, _timeout(deployed, 5, 30), f"{name} answering {event} as expected")


def _index_names(table: dict[str, Any], kind: str) -> set[str]:
    return {index["IndexName"] for index in table.get(kind, [])}


def test_the_deploy_made_the_suffixed_stacks_tables_and_functions(deployed: Deployment) -> None:
    config = deployed.config
    cloudformation = deployed.client("cloudformation")
    for stack in deployed.stacks:
        (found,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
        assert found["StackStatus"] == "CREATE_COMPLETE", (stack, found["StackStatus"])

    dynamodb = deployed.client("dynamodb")
    for spec in config.tables:
        assert spec.table_name.endswith(f"-{deployed.suffix}")
        table = dynamodb.describe_table(TableName=spec.table_name)["Table"]
        assert table["TableStatus"] == "ACTIVE"
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        assert (keys.get("HASH"), keys.get("RANGE")) == (spec.partition_key, spec.sort_key)
        assert _index_names(table, "GlobalSecondaryIndexes") == {
            i.name for i in spec.global_indexes
        }
        assert _index_names(table, "LocalSecondaryIndexes") == {i.name for i in spec.local_indexes}
        stream = table.get("StreamSpecification", {})
        assert stream.get("StreamViewType") == (spec.stream.value if spec.stream else None)
        # What makes the stage cheap and destroyable on AWS: 5/5 provisioned, no protection.
        assert spec.capacity is not None
        throughput = table["ProvisionedThroughput"]
        assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (
            spec.capacity.read,
            spec.capacity.write,
        )
        assert not table.get("DeletionProtectionEnabled")

    lambda_client = deployed.client("lambda")
    table_names = {spec.table_name for spec in config.tables}
    functions = config.functions
    for name in (functions.user_manager, functions.message_stream, functions.tasks):
        configuration = lambda_client.get_function(FunctionName=name)["Configuration"]
        assert configuration.get("State", "Active") == "Active", (name, configuration["State"])
        variables = set(configuration["Environment"]["Variables"].values())
        assert variables & table_names, f"{name} names none of {sorted(table_names)}"
    (mapping,) = lambda_client.list_event_source_mappings(FunctionName=functions.message_stream)[
        "EventSourceMappings"
    ]
    messages = dynamodb.describe_table(TableName=config.table("messages").table_name)["Table"]
    assert mapping["EventSourceArn"] == messages["LatestStreamArn"]


def test_user_manager_tutorial_session_and_email_uniqueness(deployed: Deployment) -> None:
    name = deployed.config.functions.user_manager
    user_id = f"aws-test-{uuid.uuid4().hex[:8]}"
    email = f"{user_id}@example.com"
    data = {"userId": user_id, "email": email, "name": "Test User", "age": 25}

    status, created = _invoke(deployed, name, {"action": "CREATE", "data": data})
    assert (status, created["message"]) == (201, "User created")
    status, user = _invoke(deployed, name, {"action": "READ", "userId": user_id})
    assert status == 200
    assert {key: user[key] for key in data} == data

    other = {"userId": f"{user_id}-2", "email": email.upper(), "name": "Same Email"}
    status, refused = _invoke(deployed, name, {"action": "CREATE", "data": other})
    assert (status, refused["field"]) == (409, "email"), refused

    status, updated = _invoke(
        deployed, name, {"action": "UPDATE", "userId": user_id, "updates": {"age": 26}}
    )
    assert (status, updated["user"]["age"]) == (200, 26)
    found = _read_eventually(
        deployed, name, {"action": "FIND_BY_EMAIL", "email": email}, lambda user: user["age"] == 26
    )
    assert found["userId"] == user_id
    status, deleted = _invoke(deployed, name, {"action": "DELETE", "userId": user_id})
    assert (status, deleted) == (200, {"message": "User deleted", "userId": user_id})
    assert _invoke(deployed, name, {"action": "READ", "userId": user_id})[0] == 404

    # The delete released the email: the other user may have it now.
    assert _invoke(deployed, name, {"action": "CREATE", "data": other})[0] == 201
    assert _invoke(deployed, name, {"action": "DELETE", "userId": other["userId"]})[0] == 200


def test_tasks_tutorial_session(deployed: Deployment) -> None:
    name = deployed.config.functions.tasks
    task_id = f"aws-test-{uuid.uuid4().hex[:8]}"
    task = {"id": task_id, "name": "Deploy the stack with a suffix"}

    status, added = _invoke(deployed, name, {"action": "add_task", "data": task})
    assert (status, added["message"], added["task"]["id"]) == (201, "Task added", task_id)
    assert _invoke(deployed, name, {"action": "add_task", "data": task})[0] == 409
    read = _read_eventually(deployed, name, {"action": "get_task", "id": task_id})
    assert read["task"]["name"] == task["name"]
    _read_eventually(
        deployed,
        name,
        {"action": "list_tasks", "limit": 100},
        lambda page: task_id in {item["id"] for item in page["tasks"]},
    )
    assert _invoke(deployed, name, {"action": "get_task", "id": f"{task_id}-missing"})[0] == 404


def test_a_new_message_moves_its_group_rows_through_the_stream_function(
    deployed: Deployment,
) -> None:
    dynamodb = deployed.client("dynamodb")
    table = deployed.config.table("messages").table_name
    group = f"aws-test-{uuid.uuid4().hex[:8]}"

    def group_rows() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = dynamodb.query(
            TableName=table,
            IndexName=MESSAGE_GROUP_INDEX,
            KeyConditionExpression="message_group_uuid = :g",
            ExpressionAttributeValues={":g": {"S": group}},
        )["Items"]
        return items

    for user in ("alice", "bob"):
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"GRP#{user}-{group}"},
                "sk": {"S": "2020-01-01T00:00:00+00:00"},
                "message_group_uuid": {"S": group},
                "message": {"S": "old"},
            },
        )
    # The function finds the rows through the (eventually consistent) index: wait for them
    # there first, so that a slow index cannot pass for a broken stream.
    poll(
        lambda: len(group_rows()) == 2,
        _timeout(deployed, 10, 60),
        "both group rows in the group index",
    )

    sent_at = "2030-06-01T12:00:00+00:00"
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": f"MSG#{group}"},
            "sk": {"S": sent_at},
            "message": {"S": "hello from the aws tests"},
        },
    )

    def moved_rows() -> list[dict[str, Any]]:
        rows = group_rows()
        return rows if rows and all(row["sk"]["S"] == sent_at for row in rows) else []

    rows = poll(
        moved_rows,
        _timeout(deployed, 30, 180),
        "the stream function moving both group rows to the new message",
    )
    assert sorted(row["pk"]["S"] for row in rows) == [f"GRP#alice-{group}", f"GRP#bob-{group}"]
    assert {row["message"]["S"] for row in rows} == {"hello from the aws tests"}


def test_data_tooling_seeds_scans_and_counts_the_suffixed_table(deployed: Deployment) -> None:
    target = deployed.tooling_target()
    info = describe_table(target, "tasks")
    assert info.name == deployed.config.table("tasks").table_name

    (plan,) = plan_sample(target, ["tasks"], count=10)
    result = seed_plan(target, plan)
    assert (result.table, result.items) == (info.name, 10)
    seeded = {item["id"]["S"] for item in sample_items(deployed.config, "tasks", 10)}

    scanned = list(scan_items(target, ScanRequest(table=info.name, consistent=True)))
    assert seeded <= {item["id"]["S"] for item in scanned}
    # The COUNT scan is eventually consistent on AWS: it may lag the write by a moment.
    poll(
        lambda: count_items(target, "tasks") == len(scanned),
        _timeout(deployed, 5, 30),
        f"count_items reaching the {len(scanned)} items the consistent scan read",
    )
    # And the deployed function reads what the tooling wrote.
    some_id = sorted(seeded)[0]
    read = _read_eventually(
        deployed, deployed.config.functions.tasks, {"action": "get_task", "id": some_id}
    )
    assert read["task"]["id"] == some_id


def test_destroy_still_removes_everything_when_the_cli_fails(
    deployed: Deployment, tmp_path: Path
) -> None:
    """The last test: the guaranteed destroy's fallback, CloudFormation directly, as after a
    deploy whose app no longer synthesizes. The fixture's own destroy then finds nothing."""
    broken = Deployment(
        dataclasses.replace(deployed.cloud, cli=Path("/bin/false")), tmp_path, deployed.suffix
    )
    functions = deployed.config.functions
    names = (functions.user_manager, functions.message_stream, functions.tasks)
    assert sorted(broken.leftovers()) == sorted(
        [
            *(f"stack {stack} (CREATE_COMPLETE)" for stack in deployed.stacks),
            *(f"table {spec.table_name}" for spec in deployed.config.tables),
            *(f"function {name}" for name in names),
            *(f"log group /aws/lambda/{name}" for name in names),
        ]
    )
    with pytest.warns(UserWarning, match="false destroy .* failed"):
        assert broken.destroy() == []
