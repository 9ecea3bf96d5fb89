"""The in-process Python Lambda runner, through the real Lambda API of a local cloud."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import lambda_runner
from localcloud.patches import without
from tests.localcloud.conftest import REGION, client, create_function, zip_code

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


def _log_messages(endpoint: str, name: str) -> list[str]:
    """Every log event of the function so far (none before its first invocation)."""
    logs = client("logs", endpoint)
    group = f"/aws/lambda/{name}"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        return []
    messages: list[str] = []
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])
        messages += [event["message"] for event in events["events"]]
    return messages


def _invocations(endpoint: str, name: str) -> int:
    return sum(m.startswith("START RequestId:") for m in _log_messages(endpoint, name))


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

    messages = _log_messages(cloud, "failing")
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


# -- Lambda's payload limits ------------------------------------------------------------------
SIZED = """
def handler(event, context):
    if "respond_bytes" in event:
        return "x" * (event["respond_bytes"] - 2)  # a JSON string: its quotes are the other 2
    return {"keys": sorted(event), "pad": len(event.get("pad", ""))}
"""


def _padded(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    payload = json.dumps({"pad": "x" * (size - len('{"pad": ""}'))}).encode()
    assert len(payload) == size
    return payload


def _retrying_lambda(endpoint: str) -> Any:
    """A Lambda client with the SDK's standard retries, to show a refusal is not retried."""
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 5}, read_timeout=60),
    )


def _refusal(error: ClientError, status: int) -> tuple[str, str]:
    """The code and message of a refused Invoke, after checking it is Lambda-shaped JSON
    that the SDK did not retry."""
    response: dict[str, Any] = error.response
    metadata = response["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == status
    assert metadata["RetryAttempts"] == 0
    assert metadata["HTTPHeaders"]["content-type"] == "application/json"
    code = response["Error"]["Code"]
    assert metadata["HTTPHeaders"]["x-amzn-errortype"] == code
    return code, response["Error"]["Message"]


def test_request_payload_up_to_6_mb_runs_and_a_byte_more_is_refused(cloud: str) -> None:
    create_function(cloud, "big-request", SIZED)
    lambda_client = _retrying_lambda(cloud)

    at_limit = lambda_client.invoke(FunctionName="big-request", Payload=_padded(6_291_456))
    assert json.loads(at_limit["Payload"].read())["pad"] == 6_291_456 - len('{"pad": ""}')

    with pytest.raises(ClientError) as refused:
        lambda_client.invoke(FunctionName="big-request", Payload=_padded(6_291_457))
    assert _refusal(refused.value, 413) == (
        "RequestEntityTooLargeException",
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    )
    assert _invocations(cloud, "big-request") == 1


def test_asynchronous_payload_limit_is_1_mb(cloud: str) -> None:
    create_function(cloud, "big-event", SIZED)
    lambda_client = _retrying_lambda(cloud)

    queued = lambda_client.invoke(
        FunctionName="big-event", InvocationType="Event", Payload=_padded(1_048_576)
    )
    assert queued["StatusCode"] == 202
    with pytest.raises(ClientError) as refused:
        lambda_client.invoke(
            FunctionName="big-event", InvocationType="Event", Payload=_padded(1_048_577)
        )
    assert _refusal(refused.value, 413) == (
        "RequestEntityTooLargeException",
        "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)",
    )


@pytest.mark.parametrize("payload", [b"not json", b'{"open": ', b"NaN", b"\xff\xfe"])
def test_payload_that_is_not_json_is_refused_before_the_function_runs(
    cloud: str, payload: bytes
) -> None:
    name = f"strict-{uuid.uuid4().hex[:8]}"
    create_function(cloud, name, SIZED)
    lambda_client = _retrying_lambda(cloud)

    with pytest.raises(lambda_client.exceptions.InvalidRequestContentException) as refused:
        lambda_client.invoke(FunctionName=name, Payload=payload)
    code, message = _refusal(refused.value, 400)
    assert code == "InvalidRequestContentException"
    assert message.startswith("Could not parse request body into json: Could not parse payload")
    assert refused.value.response["Type"] == "User"
    assert _invocations(cloud, name) == 0

    empty = lambda_client.invoke(FunctionName=name, Payload=b"")
    assert json.loads(empty["Payload"].read()) == {"keys": [], "pad": 0}  # the event is {}
    assert _invocations(cloud, name) == 1


def test_response_over_the_limit_is_an_unhandled_function_error(cloud: str) -> None:
    create_function(cloud, "big-response", SIZED, timeout=30)
    lambda_client = _retrying_lambda(cloud)

    def respond(size: int) -> tuple[dict[str, Any], bytes]:
        response = lambda_client.invoke(
            FunctionName="big-response", Payload=json.dumps({"respond_bytes": size})
        )
        return response, response["Payload"].read()

    at_limit, body = respond(6_291_556)
    assert "FunctionError" not in at_limit
    assert len(body) == 6_291_556

    over, body = respond(6_291_557)
    assert over["StatusCode"] == 200
    assert over["FunctionError"] == "Unhandled"
    assert json.loads(body) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def _moto_lambda() -> Any:
    """A Lambda client of in-process moto, with one function, `moto-alone`."""
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="moto-alone", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    lambda_client = boto3.client(
        "lambda", region_name=REGION, config=Config(retries={"max_attempts": 1})
    )
    lambda_client.create_function(
        FunctionName="moto-alone",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_code({"app.py": SIZED})},
    )
    return lambda_client


def test_moto_alone_crashes_on_a_payload_that_is_not_json(aws_env: None) -> None:
    """moto decodes the body as UTF-8 and parses it unchecked: the errors escape (an HTML
    500 from a server, retried by the SDK) instead of `InvalidRequestContentException`
    (a moto change fails this)."""
    with without(lambda_runner.PATCHES), mock_aws():
        lambda_client = _moto_lambda()
        with pytest.raises(json.JSONDecodeError):
            lambda_client.invoke(FunctionName="moto-alone", Payload=b"not json")
        with pytest.raises(UnicodeDecodeError):
            lambda_client.invoke(FunctionName="moto-alone", Payload=b"\xff")


def test_moto_alone_has_no_request_limits_and_cuts_responses_too_soon(aws_env: None) -> None:
    """moto takes a payload of any size, and replaces a response of 6,000,000 bytes (over its
    `sys.getsizeof` threshold), which Lambda returns (a moto change fails this)."""
    # moto's Docker-free backend answers each invocation with its payload.
    with without(lambda_runner.PATCHES), mock_aws(config={"lambda": {"use_docker": False}}):
        lambda_client = _moto_lambda()
        too_big = b"x" * 6_291_457
        for invocation_type, status in (("RequestResponse", 200), ("Event", 202)):
            response = lambda_client.invoke(
                FunctionName="moto-alone", InvocationType=invocation_type, Payload=too_big
            )
            assert response["StatusCode"] == status

        echoed = lambda_client.invoke(FunctionName="moto-alone", Payload=b"x" * 6_000_000)
        assert echoed["FunctionError"] == "Unhandled"
        assert json.loads(echoed["Payload"].read())["errorType"] == "Function.ResponseSizeTooLarge"
