"""What a deployed local stage must do on any local cloud: the tutorials' invoke session and a
message reaching the stream function. Shared by the deploy tests of our cloud and its peers."""

from __future__ import annotations

import json
import time
from typing import Any

from stacks.config import stage_config
from tests.localcloud.conftest import client

CONFIG = stage_config("local")


def invoke_json(endpoint: str, name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke a function synchronously; its JSON result (a function error fails the test)."""
    response = client("lambda", endpoint).invoke(FunctionName=name, Payload=json.dumps(event))
    assert "FunctionError" not in response, response["Payload"].read()
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def tutorial_invoke_session(endpoint: str) -> None:
    """Seed 003's `aws lambda invoke` payloads, in order, through the Lambda Invoke API."""
    name = CONFIG.functions.user_manager

    def invoke(payload: dict[str, Any]) -> tuple[int, Any]:
        response = invoke_json(endpoint, name, payload)
        return response["statusCode"], json.loads(response["body"])

    data = {"userId": "user-101", "email": "test@example.com", "name": "Test User", "age": 25}
    status, created = invoke({"action": "CREATE", "data": {**data, "role": "tester"}})
    assert (status, created["message"]) == (201, "User created")
    status, user = invoke({"action": "READ", "userId": "user-101"})
    assert status == 200
    assert {key: user[key] for key in (*data, "role")} == {**data, "role": "tester"}
    status, updated = invoke(
        {"action": "UPDATE", "userId": "user-101", "updates": {"age": 26, "role": "senior-tester"}}
    )
    assert (status, updated["user"]["age"], updated["user"]["role"]) == (200, 26, "senior-tester")
    status, found = invoke({"action": "FIND_BY_EMAIL", "email": "test@example.com"})
    assert (status, found["userId"], found["age"]) == (200, "user-101", 26)
    status, listed = invoke({"action": "LIST"})
    assert status == 200 and listed["users"]
    assert all(not item["userId"].startswith("EMAIL#") for item in listed["users"])
    status, deleted = invoke({"action": "DELETE", "userId": "user-101"})
    assert (status, deleted) == (200, {"message": "User deleted", "userId": "user-101"})
    assert invoke({"action": "READ", "userId": "user-101"})[0] == 404


def message_reaches_the_stream_function(endpoint: str, group: str) -> None:
    """A new message moves both users' group rows to it (the deployed stream mapping)."""
    dynamodb = client("dynamodb", endpoint)
    table = CONFIG.table("messages").table_name
    for user in ("alice", "bob"):
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"GRP#{user}"},
                "sk": {"S": "2020-01-01T00:00:00+00:00"},
                "message_group_uuid": {"S": group},
                "message": {"S": "old"},
            },
        )
    sent_at = "2030-06-01T12:00:00+00:00"
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": f"MSG#{group}"},
            "sk": {"S": sent_at},
            "message": {"S": "hello from the stream test"},
        },
    )
    deadline = time.monotonic() + 30
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = dynamodb.query(
            TableName=table,
            IndexName="message-group-sk-index",
            KeyConditionExpression="message_group_uuid = :g",
            ExpressionAttributeValues={":g": {"S": group}},
        )["Items"]
        if rows and all(row["sk"]["S"] == sent_at for row in rows):
            break
        time.sleep(0.2)
    assert sorted(row["pk"]["S"] for row in rows) == ["GRP#alice", "GRP#bob"]
    assert {row["sk"]["S"] for row in rows} == {sent_at}
    assert {row["message"]["S"] for row in rows} == {"hello from the stream test"}
