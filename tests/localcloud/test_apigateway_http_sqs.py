"""HTTP API SQS integrations against a fresh local cloud: CDK's `HttpSqsIntegration`
(`SQS-SendMessage` with `$request.body.MessageBody`, and a custom parameter mapping of
selection expressions) called over HTTP; the message is read back from the queue. Before,
an `AWS_PROXY` integration with a subtype answered 500."""

from __future__ import annotations

import hashlib
import http.client
import json
from pathlib import Path

import pytest

from tests.localcloud.conftest import client, module_cloud
from tests.support.fixture_apps import FixtureApp, outputs_of
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APPS = Path(__file__).resolve().parents[1] / "fixture_apps"


cloud = module_cloud("http-sqs")


@pytest.fixture(scope="module")
def deployed(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    app = FixtureApp(APPS / "api_http_sqs", tmp_path_factory.mktemp("api-http-sqs"))
    found = app.deploy(cloud)
    return {key: outputs_of(found, key) for key in ("ApiId", "QueueUrl")}


def _post(
    port: int, api_id: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("localhost", port, timeout=60)
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Host": f"{api_id}.execute-api.localhost:{port}", **headers},
        )
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def _bodies(endpoint: str, queue_url: str) -> list[str]:
    answer = client("sqs", endpoint).receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
    )
    return [m["Body"] for m in answer.get("Messages") or []]


def test_send_message_route_queues_the_body(cloud: LocalCloud, deployed: dict[str, str]) -> None:
    status, payload = _post(
        cloud.port,
        deployed["ApiId"],
        "/messages",
        json.dumps({"MessageBody": "hello from the api"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200, payload
    result = json.loads(payload)["SendMessageResponse"]["SendMessageResult"]
    assert result["MessageId"]
    assert result["MD5OfMessageBody"] == hashlib.md5(b"hello from the api").hexdigest()
    assert result["SequenceNumber"] is None
    assert _bodies(cloud.endpoint, deployed["QueueUrl"]) == ["hello from the api"]


def test_selection_expressions_build_the_message(
    cloud: LocalCloud, deployed: dict[str, str]
) -> None:
    status, payload = _post(
        cloud.port,
        deployed["ApiId"],
        "/tagged",
        json.dumps({"name": "ada"}).encode(),
        {"Content-Type": "application/json", "X-Tag": "vip"},
    )
    assert status == 200, payload
    assert _bodies(cloud.endpoint, deployed["QueueUrl"]) == ["vip:ada"]
