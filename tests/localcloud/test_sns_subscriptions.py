"""SNS subscriptions from CloudFormation, against a fresh local cloud: a CDK app's topic
(`add_subscription`) with an `SqsSubscription` (the SNS envelope), a raw one, and a
`LambdaSubscription` with a filter policy whose function records SNS's event in a table.
moto 5.2.5 skipped `AWS::SNS::Subscription`, so none of them received anything."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.localcloud.conftest import client, module_cloud
from tests.support.fixture_apps import FixtureApp, outputs_of
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APPS = Path(__file__).resolve().parents[1] / "fixture_apps"
OUTPUTS = ("TopicArn", "EnvelopedQueueUrl", "RawQueueUrl", "TableName", "RecorderArn")
T = TypeVar("T")


cloud = module_cloud("sns")


@pytest.fixture(scope="module")
def deployed(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    app = FixtureApp(APPS / "topic_fanout", tmp_path_factory.mktemp("topic-fanout"))
    found = app.deploy(cloud)
    return {key: outputs_of(found, key) for key in OUTPUTS}


def _deadline(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = probe()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {what}")


def _receive(endpoint: str, queue_url: str) -> dict[str, Any] | None:
    answer = client("sqs", endpoint).receive_message(
        QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=1
    )
    messages: list[dict[str, Any]] = answer.get("Messages") or []
    return messages[0] if messages else None


def _recorded(endpoint: str, table: str, message: str) -> dict[str, Any] | None:
    item = client("dynamodb", endpoint).get_item(TableName=table, Key={"id": {"S": message}})
    found = item.get("Item")
    return json.loads(found["event"]["S"]) if found else None


def test_the_stack_subscribes_each_endpoint(cloud: LocalCloud, deployed: dict[str, str]) -> None:
    sns = client("sns", cloud.endpoint)
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=deployed["TopicArn"])
    by_protocol = sorted(s["Protocol"] for s in subscriptions["Subscriptions"])
    assert by_protocol == ["lambda", "sqs", "sqs"]
    lambda_subscription = next(
        s for s in subscriptions["Subscriptions"] if s["Protocol"] == "lambda"
    )
    assert lambda_subscription["Endpoint"] == deployed["RecorderArn"]
    attributes = sns.get_subscription_attributes(
        SubscriptionArn=lambda_subscription["SubscriptionArn"]
    )["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"kind": ["order"]}


def test_a_message_reaches_both_queues_raw_and_enveloped(
    cloud: LocalCloud, deployed: dict[str, str]
) -> None:
    message = f"hello-{uuid.uuid4().hex[:8]}"
    published = client("sns", cloud.endpoint).publish(
        TopicArn=deployed["TopicArn"],
        Message=message,
        Subject="greeting",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "note"}},
    )
    enveloped = _deadline(
        lambda: _receive(cloud.endpoint, deployed["EnvelopedQueueUrl"]), what="enveloped"
    )
    envelope = json.loads(enveloped["Body"])
    assert envelope["Type"] == "Notification"
    assert envelope["Message"] == message
    assert envelope["MessageId"] == published["MessageId"]
    assert envelope["TopicArn"] == deployed["TopicArn"]
    assert envelope["Subject"] == "greeting"
    assert envelope["MessageAttributes"]["kind"] == {"Type": "String", "Value": "note"}
    raw = _deadline(lambda: _receive(cloud.endpoint, deployed["RawQueueUrl"]), what="raw")
    assert raw["Body"] == message
    assert raw["MessageAttributes"]["kind"]["StringValue"] == "note"


def test_the_function_gets_snss_event_when_the_filter_matches(
    cloud: LocalCloud, deployed: dict[str, str]
) -> None:
    sns = client("sns", cloud.endpoint)
    skipped = f"skipped-{uuid.uuid4().hex[:8]}"
    sns.publish(
        TopicArn=deployed["TopicArn"],
        Message=skipped,
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "note"}},
    )
    wanted = f"order-{uuid.uuid4().hex[:8]}"
    published = sns.publish(
        TopicArn=deployed["TopicArn"],
        Message=wanted,
        Subject="new order",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
    )
    event = _deadline(
        lambda: _recorded(cloud.endpoint, deployed["TableName"], wanted), what="lambda event"
    )
    [record] = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"].startswith(deployed["TopicArn"] + ":")
    body = record["Sns"]
    assert body["Type"] == "Notification"
    assert body["MessageId"] == published["MessageId"]
    assert body["TopicArn"] == deployed["TopicArn"]
    assert body["Subject"] == "new order"
    assert body["Message"] == wanted
    assert body["Timestamp"].endswith("Z")
    assert body["MessageAttributes"] == {"kind": {"Type": "String", "Value": "order"}}
    # The filtered-out message was never delivered (the wanted one came after it).
    assert _recorded(cloud.endpoint, deployed["TableName"], skipped) is None


def test_a_function_whose_policy_does_not_allow_sns_is_not_invoked(
    cloud: LocalCloud, deployed: dict[str, str]
) -> None:
    lambda_ = client("lambda", cloud.endpoint)
    policy = json.loads(lambda_.get_policy(FunctionName=deployed["RecorderArn"])["Policy"])
    [statement] = [
        s for s in policy["Statement"] if s["Principal"] == {"Service": "sns.amazonaws.com"}
    ]
    lambda_.remove_permission(FunctionName=deployed["RecorderArn"], StatementId=statement["Sid"])
    sns = client("sns", cloud.endpoint)
    refused = f"order-refused-{uuid.uuid4().hex[:8]}"
    sns.publish(
        TopicArn=deployed["TopicArn"],
        Message=refused,
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
    )
    # The enveloped queue receives the same publish: once it has, the function would have
    # been invoked too, had its policy allowed it.
    _deadline(lambda: _receive(cloud.endpoint, deployed["EnvelopedQueueUrl"]), what="queue")
    time.sleep(3)
    assert _recorded(cloud.endpoint, deployed["TableName"], refused) is None


def test_destroy_unsubscribes(
    cloud: LocalCloud, deployed: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    app = FixtureApp(APPS / "topic_fanout", tmp_path_factory.mktemp("topic-fanout-destroy"))
    app.deploy(cloud)
    assert client("sns", cloud.endpoint).list_subscriptions()["Subscriptions"]
    app.destroy(cloud)
    assert client("sns", cloud.endpoint).list_subscriptions()["Subscriptions"] == []
