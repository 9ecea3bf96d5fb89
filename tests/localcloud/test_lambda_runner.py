"""The in-process Python Lambda runner, through the real Lambda API of a local cloud."""

from __future__ import annotations

import base64
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.localcloud.conftest import client, create_function, zip_code

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HANDLER = """
import logging
import os
import time

import boto3

logging.getLogger().setLevel(logging.INFO)
LOADED_AT = time.time()


def handler(event, context):
    logging.info("event %s", event)
    print("printed line")
    action = event.get("action")
    if action == "fail":
        raise ValueError("the handler failed on purpose")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        os._exit(7)
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    return {
        "pid": os.getpid(),
        "loaded_at": LOADED_AT,
        "greeting": os.environ.get("GREETING"),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "tables": tables,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
"""


def _invoke(endpoint: str, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    response = client("lambda", endpoint).invoke(
        FunctionName=name, Payload=json.dumps(event), LogType="Tail"
    )
    payload = json.loads(response["Payload"].read())
    return response, payload


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_runs_the_handler_warm_with_env_and_endpoint(cloud: str) -> None:
    client("dynamodb", cloud).create_table(
        TableName="RunnerProbe",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    create_function(cloud, "warm", HANDLER, env={"GREETING": "hello"})

    first_response, first = _invoke(cloud, "warm", {})
    _, second = _invoke(cloud, "warm", {})

    assert "FunctionError" not in first_response
    assert first["greeting"] == "hello"
    assert first["endpoint"] == cloud
    assert "RunnerProbe" in first["tables"]  # the handler's boto3 reached this local cloud
    assert 0 < first["remaining_ms"] <= 5000
    # Warm: the same process served both, and the module was imported once.
    assert second["pid"] == first["pid"]
    assert second["loaded_at"] == first["loaded_at"]
    assert second["request_id"] != first["request_id"]
    tail = base64.b64decode(first_response["LogResult"]).decode()
    assert f"START RequestId: {first['request_id']}" in tail
    assert "printed line" in tail


def test_handler_error_is_lambda_shaped_and_logged(cloud: str) -> None:
    create_function(cloud, "failing", HANDLER)
    response, payload = _invoke(cloud, "failing", {"action": "fail"})

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "the handler failed on purpose"
    assert any("app.py" in frame for frame in payload["stackTrace"])

    logs = client("logs", cloud)
    messages: list[str] = []
    for stream in logs.describe_log_streams(logGroupName="/aws/lambda/failing")["logStreams"]:
        events = logs.get_log_events(
            logGroupName="/aws/lambda/failing", logStreamName=stream["logStreamName"]
        )["events"]
        messages += [event["message"] for event in events]
    assert "[ERROR] ValueError: the handler failed on purpose" in messages
    assert "printed line" in messages
    assert any(m.startswith("REPORT RequestId:") for m in messages)


def test_timeout_and_crash_replace_the_worker(cloud: str) -> None:
    create_function(cloud, "fragile", HANDLER, timeout=1)
    _, healthy = _invoke(cloud, "fragile", {})

    response, timed_out = _invoke(cloud, "fragile", {"action": "sleep", "seconds": 3})
    assert response["FunctionError"] == "Unhandled"
    assert timed_out["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out["errorMessage"]
    assert _wait_gone(healthy["pid"])

    _, replaced = _invoke(cloud, "fragile", {})
    assert replaced["pid"] != healthy["pid"]

    response, crashed = _invoke(cloud, "fragile", {"action": "exit"})
    assert response["FunctionError"] == "Unhandled"
    assert crashed["errorType"] == "Runtime.ExitError"
    assert "exit status 7" in crashed["errorMessage"]
    _, after_crash = _invoke(cloud, "fragile", {})
    assert after_crash["pid"] not in (replaced["pid"], healthy["pid"])


def test_new_code_or_environment_replaces_the_workers(cloud: str) -> None:
    lambda_client = client("lambda", cloud)
    create_function(cloud, "evolving", HANDLER, env={"GREETING": "v1"})
    _, before = _invoke(cloud, "evolving", {})

    lambda_client.update_function_configuration(
        FunctionName="evolving", Environment={"Variables": {"GREETING": "v2"}}
    )
    _, after_env = _invoke(cloud, "evolving", {})
    assert after_env["greeting"] == "v2"
    assert after_env["pid"] != before["pid"]
    assert _wait_gone(before["pid"])

    new_code = "def handler(event, context):\n    return {'version': 'code-2'}\n"
    lambda_client.update_function_code(
        FunctionName="evolving", ZipFile=zip_code({"app.py": new_code})
    )
    _, after_code = _invoke(cloud, "evolving", {})
    assert after_code == {"version": "code-2"}
    assert _wait_gone(after_env["pid"])


def test_concurrent_invocations_get_more_workers_up_to_the_reservation(cloud: str) -> None:
    create_function(cloud, "parallel", HANDLER, timeout=10)
    event = {"action": "sleep", "seconds": 1.0}

    def pids(count: int) -> set[int]:
        with ThreadPoolExecutor(count) as pool:
            results = list(pool.map(lambda _: _invoke(cloud, "parallel", event)[1], range(count)))
        return {result["pid"] for result in results}

    assert len(pids(3)) == 3

    client("lambda", cloud).put_function_concurrency(
        FunctionName="parallel", ReservedConcurrentExecutions=1
    )
    assert len(pids(2)) == 1  # serialized on the only allowed worker


def test_zero_reserved_concurrency_throttles(cloud: str) -> None:
    create_function(cloud, "throttled", HANDLER)
    lambda_client = client("lambda", cloud)
    lambda_client.put_function_concurrency(FunctionName="throttled", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as error:
        lambda_client.invoke(FunctionName="throttled", Payload=b"{}")
    assert error.value.response["Error"]["Code"] == "TooManyRequestsException"


def test_import_error_is_reported_per_invocation(cloud: str) -> None:
    create_function(cloud, "broken", "import not_a_module_anywhere\n")
    response, payload = _invoke(cloud, "broken", {})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "not_a_module_anywhere" in payload["errorMessage"]


def test_asynchronous_event_invocation_runs_later(cloud: str) -> None:
    code = """
import boto3

def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=event["queue"], MessageBody="ran")
"""
    queue = client("sqs", cloud).create_queue(QueueName="async-probe")["QueueUrl"]
    create_function(cloud, "later", code)
    response = client("lambda", cloud).invoke(
        FunctionName="later", InvocationType="Event", Payload=json.dumps({"queue": queue})
    )
    assert response["StatusCode"] == 202
    messages = client("sqs", cloud).receive_message(QueueUrl=queue, WaitTimeSeconds=5)
    assert [m["Body"] for m in messages.get("Messages", [])] == ["ran"]


def test_json_logging_config_formats_log_records_at_info(cloud: str) -> None:
    code = """
import logging

logger = logging.getLogger("app")


def handler(event, context):
    logger.info("structured %s", "hello")
    logger.debug("below the configured level")
    return "done"
"""
    create_function(cloud, "json-logs", code)
    lambda_client = client("lambda", cloud)
    plain = lambda_client.invoke(FunctionName="json-logs", Payload=b"{}", LogType="Tail")
    assert "structured hello" not in base64.b64decode(plain["LogResult"]).decode()  # WARNING

    lambda_client.update_function_configuration(
        FunctionName="json-logs", LoggingConfig={"LogFormat": "JSON"}
    )
    response = lambda_client.invoke(FunctionName="json-logs", Payload=b"{}", LogType="Tail")
    lines = base64.b64decode(response["LogResult"]).decode().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert [(r["level"], r["message"], r["logger"]) for r in records] == [
        ("INFO", "structured hello", "app")
    ]
    assert records[0]["requestId"] in lines[0]  # the START line names the same request
