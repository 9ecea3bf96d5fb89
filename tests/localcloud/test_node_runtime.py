"""Node.js functions in warm workers on the pinned Node.js, through the real Lambda API of a
fresh local cloud; and a fixture CDK app whose inline Node.js function reads a DynamoDB
stream."""

from __future__ import annotations

import base64
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud import lambda_runtimes
from tests.localcloud.conftest import client, create_role, module_cloud, wait_for, zip_code
from tests.support.fixture_apps import FixtureApp, outputs_of
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIXTURE_APP = Path(__file__).resolve().parents[1] / "fixture_apps" / "node_stream"

COMMONJS = """
const loadedAt = Date.now();
console.log('init', 'phase');

exports.handler = async (event, context) => {
  console.log('event %j', event);
  console.error('an error line');
  if (event.action === 'throw') {
    throw new TypeError('the handler failed on purpose');
  }
  if (event.action === 'reject') {
    Promise.reject(new Error('nobody awaited this'));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (event.action === 'sleep') {
    await new Promise((resolve) => setTimeout(resolve, event.ms));
  }
  return {
    pid: process.pid,
    loadedAt,
    nodeVersion: process.version,
    env: {
      region: process.env.AWS_REGION,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      endpoint: process.env.AWS_ENDPOINT_URL,
      accessKey: process.env.AWS_ACCESS_KEY_ID,
      sessionToken: process.env.AWS_SESSION_TOKEN,
      executionEnv: process.env.AWS_EXECUTION_ENV,
      greeting: process.env.GREETING,
    },
    context: {
      functionName: context.functionName,
      awsRequestId: context.awsRequestId,
      invokedFunctionArn: context.invokedFunctionArn,
      memoryLimitInMB: context.memoryLimitInMB,
      remaining: context.getRemainingTimeInMillis(),
      waits: context.callbackWaitsForEmptyEventLoop,
    },
  };
};
"""

ES_MODULE = """
import { createHash } from 'node:crypto';

export const handler = async (event) => ({
  digest: createHash('sha256').update(event.text).digest('hex').slice(0, 8),
  esm: typeof require === 'undefined',
});
"""

CALLBACKS = """
exports.waits = (event, context, callback) => {
  setTimeout(() => console.log('timer after the callback'), 300);
  callback(null, { style: 'callback' });
};

exports.returnsAtOnce = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log('timer of the first call'), 300);
  callback(null, { style: 'no wait' });
};

exports.fails = (event, context, callback) => callback(new Error('callback error'));
"""


cloud = module_cloud("node")


def _create(
    endpoint: str,
    files: dict[str, str],
    *,
    handler: str = "index.handler",
    runtime: str = "nodejs22.x",
    timeout: int = 5,
    env: dict[str, str] | None = None,
) -> str:
    name = f"node-{uuid.uuid4().hex[:8]}"
    client("lambda", endpoint).create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=create_role(endpoint, name),
        Handler=handler,
        Code={"ZipFile": zip_code(files)},
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )
    return name


def _invoke(endpoint: str, name: str, event: dict[str, Any] | None = None) -> tuple[Any, Any]:
    response = client("lambda", endpoint).invoke(
        FunctionName=name, Payload=json.dumps(event or {}), LogType="Tail"
    )
    payload = json.loads(response["Payload"].read())
    return response, payload


def _tail(response: Any) -> str:
    return base64.b64decode(response["LogResult"]).decode()


def test_commonjs_handler_runs_warm_on_the_pinned_node_with_env_and_context(
    cloud: LocalCloud,
) -> None:
    name = _create(cloud.endpoint, {"index.js": COMMONJS}, env={"GREETING": "hello"})

    first_response, first = _invoke(cloud.endpoint, name, {"n": 1})
    _, second = _invoke(cloud.endpoint, name, {"n": 2})

    assert "FunctionError" not in first_response
    assert first["nodeVersion"].startswith("v24.")  # the venv's Node 24, never a system one
    env = first["env"]
    assert env["region"] == "us-east-1"
    assert env["functionName"] == name
    assert env["endpoint"] == cloud.endpoint
    assert env["accessKey"].startswith("ASIA")  # the function's own role session
    assert env["sessionToken"]
    assert env["executionEnv"] == "AWS_Lambda_nodejs22.x"
    assert env["greeting"] == "hello"
    context = first["context"]
    assert context["functionName"] == name
    assert context["invokedFunctionArn"].endswith(f":function:{name}")
    assert context["memoryLimitInMB"] == "128"
    assert 0 < context["remaining"] <= 5000
    assert context["waits"] is True
    # Warm: one process, the module loaded once; a new request id per call.
    assert second["pid"] == first["pid"]
    assert second["loadedAt"] == first["loadedAt"]
    assert second["context"]["awsRequestId"] != context["awsRequestId"]

    tail = _tail(first_response)
    request_id = context["awsRequestId"]
    assert f"START RequestId: {request_id}" in tail
    assert f"END RequestId: {request_id}" in tail
    assert f"REPORT RequestId: {request_id}" in tail
    assert "\tundefined\tINFO\tinit phase" in tail  # init logs carry no request id
    assert f'\t{request_id}\tINFO\tevent {{"n":1}}' in tail
    assert f"\t{request_id}\tERROR\tan error line" in tail


def test_es_modules_load_as_mjs_and_as_type_module(cloud: LocalCloud) -> None:
    mjs = _create(cloud.endpoint, {"index.mjs": ES_MODULE})
    typed = _create(
        cloud.endpoint,
        {"index.js": ES_MODULE, "package.json": json.dumps({"type": "module"})},
        runtime="nodejs24.x",
    )

    for name in (mjs, typed):
        response, payload = _invoke(cloud.endpoint, name, {"text": "abc"})
        assert "FunctionError" not in response, payload
        assert payload == {"digest": "ba7816bf", "esm": True}


def test_thrown_error_is_lambda_shaped_and_logged(cloud: LocalCloud) -> None:
    name = _create(cloud.endpoint, {"index.js": COMMONJS})

    response, payload = _invoke(cloud.endpoint, name, {"action": "throw"})

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "TypeError"
    assert payload["errorMessage"] == "the handler failed on purpose"
    assert payload["trace"][0] == "TypeError: the handler failed on purpose"
    assert any("index.js" in frame for frame in payload["trace"])
    tail = _tail(response)
    assert "\tERROR\tInvoke Error \t" in tail
    assert '"errorMessage":"the handler failed on purpose"' in tail


def test_unhandled_rejection_fails_the_invocation_and_replaces_the_worker(
    cloud: LocalCloud,
) -> None:
    name = _create(cloud.endpoint, {"index.js": COMMONJS})
    _, before = _invoke(cloud.endpoint, name)

    response, payload = _invoke(cloud.endpoint, name, {"action": "reject"})
    _, after = _invoke(cloud.endpoint, name)

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.UnhandledPromiseRejection"
    assert payload["errorMessage"] == "Error: nobody awaited this"
    assert "Unhandled Promise Rejection" in _tail(response)
    assert after["pid"] != before["pid"]  # the runtime exited; a new worker served the next


def test_callback_handlers_wait_for_the_event_loop_unless_told_not_to(cloud: LocalCloud) -> None:
    waits = _create(
        cloud.endpoint, {"index.js": CALLBACKS}, handler="index.waits", runtime="nodejs20.x"
    )
    at_once = _create(cloud.endpoint, {"index.js": CALLBACKS}, handler="index.returnsAtOnce")
    fails = _create(cloud.endpoint, {"index.js": CALLBACKS}, handler="index.fails")

    response, payload = _invoke(cloud.endpoint, waits)
    assert payload == {"style": "callback"}
    assert "timer after the callback" in _tail(response)  # ran before the response

    response, payload = _invoke(cloud.endpoint, at_once)
    assert payload == {"style": "no wait"}
    assert "timer of the first call" not in _tail(response)

    response, payload = _invoke(cloud.endpoint, fails)
    assert response["FunctionError"] == "Unhandled"
    assert (payload["errorType"], payload["errorMessage"]) == ("Error", "callback error")


def test_nodejs24_refuses_a_callback_handler_as_lambda_does(cloud: LocalCloud) -> None:
    name = _create(
        cloud.endpoint, {"index.js": CALLBACKS}, handler="index.waits", runtime="nodejs24.x"
    )
    response, payload = _invoke(cloud.endpoint, name)

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.CallbackHandlerDeprecated"
    assert "removed support for callback-based function handlers" in payload["errorMessage"]


def test_missing_module_and_missing_package_are_import_errors(cloud: LocalCloud) -> None:
    no_module = _create(cloud.endpoint, {"index.js": COMMONJS}, handler="missing.handler")
    # The AWS SDK is part of Lambda's Node.js runtime, not of the local cloud's.
    no_sdk = _create(
        cloud.endpoint,
        {
            "index.mjs": "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\n"
            "export const handler = async () => new DynamoDBClient({}).config.region;\n"
        },
    )

    response, payload = _invoke(cloud.endpoint, no_module)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert payload["errorMessage"].startswith("Error: Cannot find module 'missing'")

    response, payload = _invoke(cloud.endpoint, no_sdk)
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "'@aws-sdk/client-dynamodb'" in payload["errorMessage"]


def test_handler_not_exported_is_handler_not_found(cloud: LocalCloud) -> None:
    name = _create(cloud.endpoint, {"index.js": COMMONJS}, handler="index.nothing")

    response, payload = _invoke(cloud.endpoint, name)

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.HandlerNotFound"
    assert payload["errorMessage"] == "index.nothing is undefined or not exported"


def test_timeout_kills_the_worker_and_the_next_call_gets_a_new_one(cloud: LocalCloud) -> None:
    name = _create(cloud.endpoint, {"index.js": COMMONJS}, timeout=1)
    _, before = _invoke(cloud.endpoint, name)

    started = time.monotonic()
    response, payload = _invoke(cloud.endpoint, name, {"action": "sleep", "ms": 5000})
    elapsed = time.monotonic() - started
    _, after = _invoke(cloud.endpoint, name)

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    assert elapsed < 4
    assert after["pid"] != before["pid"]


def test_concurrent_invocations_run_in_two_workers(cloud: LocalCloud) -> None:
    name = _create(cloud.endpoint, {"index.js": COMMONJS})
    _invoke(cloud.endpoint, name)  # one warm worker already

    started = time.monotonic()
    sleep = {"action": "sleep", "ms": 1500}
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: _invoke(cloud.endpoint, name, sleep), [1, 2]))
    elapsed = time.monotonic() - started

    assert len({payload["pid"] for _, payload in results}) == 2
    assert elapsed < 2.9  # side by side, not one after the other


@pytest.mark.parametrize(
    "runtime", ["java21", "dotnet8", "ruby3.3", "provided.al2", "nodejs16.x", "nodejs26.x"]
)
def test_a_runtime_that_cannot_run_is_refused_at_create(cloud: LocalCloud, runtime: str) -> None:
    lambda_ = client("lambda", cloud.endpoint)
    name = f"refused-{uuid.uuid4().hex[:8]}"

    with pytest.raises(ClientError) as refused:
        lambda_.create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=create_role(cloud.endpoint, name),
            Handler="index.handler",
            Code={"ZipFile": zip_code({"index.js": COMMONJS})},
        )

    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert f"cannot run runtime {runtime}" in error["Message"]
    names = [fn["FunctionName"] for fn in lambda_.list_functions()["Functions"]]
    assert name not in names


def test_changing_to_a_runtime_that_cannot_run_is_refused(cloud: LocalCloud) -> None:
    name = _create(cloud.endpoint, {"index.js": COMMONJS})
    lambda_ = client("lambda", cloud.endpoint)

    with pytest.raises(ClientError) as refused:
        lambda_.update_function_configuration(FunctionName=name, Runtime="java21")

    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert lambda_.get_function(FunctionName=name)["Configuration"]["Runtime"] == "nodejs22.x"


def test_changing_only_the_runtime_restarts_the_workers_in_the_new_language(
    cloud: LocalCloud,
) -> None:
    files = {
        "index.py": "def handler(event, context):\n    return 'python'\n",
        "index.js": "exports.handler = async () => 'node';\n",
    }
    name = _create(cloud.endpoint, files, runtime="python3.12")
    lambda_ = client("lambda", cloud.endpoint)
    assert _invoke(cloud.endpoint, name)[1] == "python"

    lambda_.update_function_configuration(FunctionName=name, Runtime="nodejs22.x")

    assert _invoke(cloud.endpoint, name)[1] == "node"


def _fake_node(folder: Path, version: str) -> Path:
    node = folder / f"node-{version}"
    node.write_text(f"#!/bin/sh\necho {version}\n")
    node.chmod(0o755)
    return node


def test_configured_node_must_exist_and_be_as_new_as_the_runtime(tmp_path: Path) -> None:
    with pytest.raises(lambda_runtimes.RuntimeUnavailable, match="is not an executable node"):
        lambda_runtimes.resolve("nodejs22.x", tmp_path / "missing-node")
    with pytest.raises(lambda_runtimes.RuntimeUnavailable, match="is version 20"):
        lambda_runtimes.resolve("nodejs22.x", _fake_node(tmp_path, "v20.20.2"))

    newer = _fake_node(tmp_path, "v24.1.0")
    assert lambda_runtimes.resolve("nodejs22.x", newer) == lambda_runtimes.Runtime("node", newer)
    # Python never needs a node.
    assert lambda_runtimes.resolve("python3.12", tmp_path / "missing-node").language == "python"


def test_fixture_app_inline_node_function_reads_the_table_stream(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    outputs = FixtureApp(FIXTURE_APP, tmp_path).deploy(cloud)
    table = outputs_of(outputs, "TableName")
    function = outputs_of(outputs, "FunctionName")
    marker = uuid.uuid4().hex

    client("dynamodb", cloud.endpoint).put_item(
        TableName=table, Item={"pk": {"S": marker}, "note": {"S": "from the test"}}
    )

    logs = client("logs", cloud.endpoint)

    def received() -> list[str]:
        try:
            found = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [e["message"] for e in found if "RECORD" in e["message"] and marker in e["message"]]

    messages = wait_for(received, timeout=60)
    record = json.loads(messages[0].split("RECORD ", 1)[1])
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["NewImage"]["pk"] == {"S": marker}
    assert record["dynamodb"]["NewImage"]["note"] == {"S": "from the test"}


HTTPS_CALLS = r"""
const https = require('https');

// Settles with the HTTP answer, or with the error the request failed with.
function call(start) {
  return new Promise((resolve) => {
    let request;
    const answered = (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body }));
    };
    try {
      request = start(answered);
    } catch (error) {
      resolve({ error: String(error.code || error) });
      return;
    }
    request.on('error', (error) => resolve({ error: String(error.code || error) }));
    request.setTimeout(4000, () => request.destroy(new Error('timeout')));
  });
}

exports.handler = async (event) => {
  const path = '/_localcloud/cfn-response/nobody-waits';
  const put = (options) => (answered) => {
    const request = https.request({ path, method: 'PUT', ...options }, answered);
    request.end('{}');
    return request;
  };
  return {
    // What CDK's custom-resource handlers send: the response URL's hostname and path only.
    localhost: await call(put({ hostname: 'localhost' })),
    loopback: await call((answered) => https.get(`https://127.0.0.1${path}`, answered)),
    // Not the local cloud's host, or an explicit port: left to https (TLS), as ever.
    elsewhere: await call(put({ hostname: 'nowhere.invalid' })),
    explicitPort: await call(put({ hostname: 'localhost', port: Number(event.port) })),
  };
};
"""


def test_https_to_the_local_clouds_host_goes_over_http_and_nothing_else_does(
    cloud: LocalCloud,
) -> None:
    name = _create(cloud.endpoint, {"index.js": HTTPS_CALLS}, timeout=20)
    response, answers = _invoke(cloud.endpoint, name, {"port": cloud.port})
    assert "FunctionError" not in response, answers
    # The local cloud answered (no custom resource waits for this token).
    assert answers["localhost"]["status"] == 404, answers
    assert "no custom resource request waits" in answers["localhost"]["body"]
    assert isinstance(answers["loopback"].get("status"), int), answers
    # Another host: a DNS failure, not the local cloud's answer.
    assert "status" not in answers["elsewhere"], answers
    assert answers["elsewhere"]["error"] in {"ENOTFOUND", "EAI_AGAIN"}, answers
    # An explicit port: TLS to the plain-HTTP local cloud fails, as it would without us.
    assert "status" not in answers["explicitPort"], answers


SDK_CALLS = """
const { DynamoDBClient, ListTablesCommand } = require('@aws-sdk/client-dynamodb');
const { SSMClient, PutParameterCommand } = require('@aws-sdk/client-ssm');

exports.handler = async (event) => {
  const tables = await new DynamoDBClient({}).send(new ListTablesCommand({}));
  const put = await new SSMClient({}).send(
    new PutParameterCommand({ Name: event.name, Value: 'from-node', Type: 'String' }),
  );
  const clients = ['dynamodb', 'lambda', 's3', 'sfn', 'sns', 'sqs', 'ssm'].map((service) => {
    require(`@aws-sdk/client-${service}`);
    return service;
  });
  let cli;
  try {
    require('aws-cdk/package.json');
    cli = 'reachable';
  } catch (error) {
    cli = error.code;
  }
  return { tables: tables.TableNames, version: put.Version, clients, cli };
};
"""


def test_sdk_v3_clients_are_provided_and_reach_the_local_cloud(cloud: LocalCloud) -> None:
    client("dynamodb", cloud.endpoint).create_table(
        TableName="node-sdk-table",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    name = _create(cloud.endpoint, {"index.js": SDK_CALLS}, timeout=20)
    response, result = _invoke(cloud.endpoint, name, {"name": f"/node/{name}"})
    assert "FunctionError" not in response, result
    assert "node-sdk-table" in result["tables"]  # AWS_ENDPOINT_URL and the role's credentials
    assert result["version"] == 1
    parameter = client("ssm", cloud.endpoint).get_parameter(Name=f"/node/{name}")
    assert parameter["Parameter"]["Value"] == "from-node"
    assert result["clients"] == ["dynamodb", "lambda", "s3", "sfn", "sns", "sqs", "ssm"]
    assert result["cli"] == "MODULE_NOT_FOUND"  # only @aws-sdk, not the repo's node_modules
