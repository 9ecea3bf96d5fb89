"""The Lambda entry points as deployed: environment checked at cold start, one service each."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import message_stream.handler as message_stream_handler
import pytest
import tasks.handler as tasks_handler
import user_manager.handler as user_manager_handler
from common.dynamo import dynamodb_client, serialize
from common.env import EnvironmentConfigError
from message_stream.settings import Settings as MessageStreamSettings
from tasks.settings import Settings as TasksSettings
from user_manager.settings import Settings as UserSettings

from datamodel.tables import EMAIL_INDEX, MESSAGE_GROUP_INDEX
from datamodel.uniqueness import DEFAULT_TTL_ATTRIBUTE
from stacks.config import StageConfig
from tests.functions.helpers import LAMBDA_SRC, body


def function_env(config: StageConfig) -> dict[str, str]:
    """What the stacks set on the three functions for `config`'s stage."""
    return {
        "STAGE": config.name,
        "USERS_TABLE": config.table("users").table_name,
        "EMAIL_INDEX": EMAIL_INDEX,
        "MESSAGES_TABLE": config.table("messages").table_name,
        "MESSAGE_GROUP_INDEX": MESSAGE_GROUP_INDEX,
        "TASKS_TABLE": config.table("tasks").table_name,
    }


@pytest.fixture
def cold_start() -> Iterator[None]:
    """Each test starts a fresh container: no cached client or service."""
    caches = (
        dynamodb_client,
        user_manager_handler.service,
        message_stream_handler.service,
        tasks_handler.service,
    )
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


@pytest.fixture
def deployed(
    moto_client: Any, local_stage: StageConfig, monkeypatch: pytest.MonkeyPatch, cold_start: None
) -> Any:
    for name, value in function_env(local_stage).items():
        monkeypatch.setenv(name, value)
    return moto_client


@pytest.mark.parametrize(
    ("settings", "variables"),
    [
        (UserSettings, ("USERS_TABLE", "EMAIL_INDEX", "STAGE")),
        (MessageStreamSettings, ("MESSAGES_TABLE", "MESSAGE_GROUP_INDEX", "STAGE")),
        (TasksSettings, ("TASKS_TABLE", "STAGE")),
    ],
)
def test_each_missing_variable_is_named(
    settings: Any, variables: tuple[str, ...], local_stage: StageConfig
) -> None:
    full = function_env(local_stage)
    settings.from_environ(full)  # complete: no error
    for missing in variables:
        for broken in ({k: v for k, v in full.items() if k != missing}, {**full, missing: " "}):
            with pytest.raises(EnvironmentConfigError, match=missing):
                settings.from_environ(broken)


@pytest.mark.parametrize(
    ("name", "value"),
    [("USERS_TABLE", "x"), ("EMAIL_INDEX", "bad name!"), ("STAGE", "Prod!")],
)
def test_malformed_variables_are_refused(name: str, value: str, local_stage: StageConfig) -> None:
    with pytest.raises(EnvironmentConfigError, match=name):
        UserSettings.from_environ({**function_env(local_stage), name: value})


def test_dax_endpoint_must_be_a_tls_discovery_endpoint(local_stage: StageConfig) -> None:
    env = function_env(local_stage)
    assert TasksSettings.from_environ(env).dax_endpoint is None
    good = "daxs://tasks-cache.x1y2z3.dax-clusters.us-east-1.amazonaws.com"
    assert TasksSettings.from_environ({**env, "DAX_ENDPOINT": good}).dax_endpoint == good
    for bad in ("dax://tasks-cache.x1y2z3.dax-clusters.us-east-1.amazonaws.com", "https://x"):
        with pytest.raises(EnvironmentConfigError, match="DAX_ENDPOINT"):
            TasksSettings.from_environ({**env, "DAX_ENDPOINT": bad})


def test_default_ttl_attribute_is_the_users_tables(local_stage: StageConfig) -> None:
    """The stacks do not pass the TTL attribute; the default must match the table's."""
    assert local_stage.table("users").ttl_attribute == DEFAULT_TTL_ATTRIBUTE


def test_a_cold_start_without_its_table_fails_naming_it(
    aws_env: None, cold_start: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("USERS_TABLE", raising=False)
    with pytest.raises(EnvironmentConfigError, match="USERS_TABLE"):
        user_manager_handler.lambda_handler({"action": "LIST"}, None)


def test_user_manager_entry_point(deployed: Any) -> None:
    event = {"action": "CREATE", "data": {"userId": "user-101", "email": "test@example.com",
             "name": "Test User", "age": 25, "role": "tester"}}  # fmt: skip
    assert user_manager_handler.lambda_handler(event, None)["statusCode"] == 201
    response = user_manager_handler.lambda_handler({"action": "READ", "userId": "user-101"}, None)
    assert body(response)["email"] == "test@example.com"
    # one service (one client) per container
    assert user_manager_handler.service() is user_manager_handler.service()


def test_tasks_entry_point(deployed: Any) -> None:
    event = {"action": "add_task", "data": {"id": "t1", "name": "Write the tests"}}
    assert tasks_handler.lambda_handler(event, None)["statusCode"] == 201
    response = tasks_handler.lambda_handler({"action": "get_task", "id": "t1"}, None)
    assert body(response)["task"]["name"] == "Write the tests"


def test_tasks_with_an_unreachable_dax_cluster_answers_5xx(
    deployed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAX_ENDPOINT", "daxs://127.0.0.1:1")
    response = tasks_handler.lambda_handler({"action": "get_task", "id": "t1"}, None)
    assert response["statusCode"] == 503
    assert body(response) == {"error": "the database could not be reached; retry later"}


def test_message_stream_entry_point(deployed: Any, local_stage: StageConfig) -> None:
    table = local_stage.table("messages").table_name
    row = {"pk": "GRP#u1", "sk": "2026-01-01", "message_group_uuid": "g1", "message": "old"}
    deployed.put_item(TableName=table, Item=serialize(row))
    record = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"pk": {"S": "MSG#g1"}, "sk": {"S": "2026-02-01"}},
            "NewImage": serialize({"pk": "MSG#g1", "sk": "2026-02-01", "message": "new"}),
            "SequenceNumber": "100",
            "StreamViewType": "NEW_IMAGE",
        },
    }
    result = message_stream_handler.lambda_handler({"Records": [record]}, None)
    assert result == {"batchItemFailures": []}
    items = deployed.scan(TableName=table)["Items"]
    assert [(i["sk"]["S"], i["message"]["S"]) for i in items] == [("2026-02-01", "new")]


def test_the_asset_imports_on_its_own() -> None:
    """`lambda_src/` is the whole asset: the handlers import without the repo around them."""
    code = (
        "import sys, user_manager.handler, message_stream.handler, tasks.handler\n"
        "leaked = sorted({m.split('.')[0] for m in sys.modules} & {'stacks', 'tests', 'scripts'})\n"
        "assert not leaked, leaked\n"
        "assert 'amazondax' not in sys.modules  # only imported when DAX is configured\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=LAMBDA_SRC,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_tutorials_invoke_session(deployed: Any) -> None:
    """Seed 003's `aws lambda invoke` payloads, in order, through the entry point."""

    def invoke(payload: dict[str, Any]) -> tuple[int, Any]:
        response = user_manager_handler.lambda_handler(payload, None)
        return response["statusCode"], body(response)

    status, created = invoke({"action": "CREATE", "data": {"userId": "user-101",
                              "email": "test@example.com", "name": "Test User", "age": 25,
                              "role": "tester"}})  # fmt: skip
    assert (status, created["message"]) == (201, "User created")
    status, user = invoke({"action": "READ", "userId": "user-101"})
    assert status == 200
    assert {k: user[k] for k in ("userId", "email", "name", "age", "role")} == {
        "userId": "user-101", "email": "test@example.com", "name": "Test User", "age": 25,
        "role": "tester",
    }  # fmt: skip
    status, updated = invoke({"action": "UPDATE", "userId": "user-101",
                              "updates": {"age": 26, "role": "senior-tester"}})  # fmt: skip
    assert (status, updated["user"]["age"], updated["user"]["role"]) == (200, 26, "senior-tester")
    status, found = invoke({"action": "FIND_BY_EMAIL", "email": "test@example.com"})
    assert (status, found["userId"], found["age"]) == (200, "user-101", 26)
    status, listed = invoke({"action": "LIST"})
    assert (status, listed["count"], listed["users"][0]["userId"]) == (200, 1, "user-101")
    assert invoke({"action": "DELETE", "userId": "user-101"}) == (
        200,
        {"message": "User deleted", "userId": "user-101"},
    )
    assert invoke({"action": "READ", "userId": "user-101"})[0] == 404
