"""S3 bucket notifications in the local cloud, against a fresh one: a CDK app's bucket
(`add_event_notification` through CDK's `Custom::S3BucketNotifications`) feeding a queue
consumed by a function writing to DynamoDB, a `LambdaDestination` with prefix and suffix
filters, an SNS destination for removals; S3's record shape for PutObject, CopyObject and
DeleteObject; a function whose resource policy does not allow S3 is not invoked."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.localcloud.conftest import client, create_function, module_cloud
from tests.support.fixture_apps import FixtureApp, outputs_of
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

T = TypeVar("T")


cloud = module_cloud("s3-notifications")


@pytest.fixture(scope="module")
def deployed(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    outputs = FixtureApp(Path("tests/fixture_apps/bucket_queue"), tmp_path_factory.mktemp("bq"))
    found = outputs.deploy(cloud)
    return {key: outputs_of(found, key) for key in ("BucketName", "TableName", "RemovalsTopicArn")}


def _deadline(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = probe()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {what}")


def _recorded(endpoint: str, table: str, item_id: str) -> dict[str, Any] | None:
    item = client("dynamodb", endpoint).get_item(TableName=table, Key={"id": {"S": item_id}})
    found = item.get("Item")
    return json.loads(found["record"]["S"]) if found else None


def _assert_s3_record(record: dict[str, Any], bucket: str, key: str, event_name: str) -> None:
    assert record["eventSource"] == "aws:s3"
    assert record["eventVersion"] == "2.1"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventName"] == event_name
    assert record["s3"]["bucket"]["name"] == bucket
    assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert record["s3"]["object"]["key"] == key
    assert "sequencer" in record["s3"]["object"]
    assert "principalId" in record["userIdentity"]


def test_bucket_notification_reaches_the_queue_and_its_function(
    cloud: LocalCloud, deployed: dict[str, str]
) -> None:
    endpoint, bucket, table = cloud.endpoint, deployed["BucketName"], deployed["TableName"]
    s3 = client("s3", endpoint)
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert config["QueueConfigurations"] and config["LambdaFunctionConfigurations"]
    put = s3.put_object(Bucket=bucket, Key="uploads/a.csv", Body=b"hello")
    record = _deadline(
        lambda: _recorded(endpoint, table, "queue#uploads/a.csv"), what="the queue's record"
    )
    _assert_s3_record(record, bucket, "uploads/a.csv", "ObjectCreated:Put")
    assert record["s3"]["object"]["size"] == 5
    assert record["s3"]["object"]["eTag"] == put["ETag"].strip('"')
    s3.copy_object(Bucket=bucket, Key="uploads/b.csv", CopySource=f"{bucket}/uploads/a.csv")
    copied = _deadline(
        lambda: _recorded(endpoint, table, "queue#uploads/b.csv"), what="the copy's record"
    )
    assert copied["eventName"] == "ObjectCreated:Copy"


def test_lambda_destination_honours_its_prefix_and_suffix(
    cloud: LocalCloud, deployed: dict[str, str]
) -> None:
    endpoint, bucket, table = cloud.endpoint, deployed["BucketName"], deployed["TableName"]
    s3 = client("s3", endpoint)
    s3.put_object(Bucket=bucket, Key="direct/skip.csv", Body=b"x")  # wrong suffix
    s3.put_object(Bucket=bucket, Key="other/skip.txt", Body=b"x")  # wrong prefix
    s3.put_object(Bucket=bucket, Key="direct/take.txt", Body=b"xyz")
    record = _deadline(
        lambda: _recorded(endpoint, table, "lambda#direct/take.txt"), what="the direct record"
    )
    _assert_s3_record(record, bucket, "direct/take.txt", "ObjectCreated:Put")
    # The queue got every object (no filter); the function only the one that matched.
    _deadline(lambda: _recorded(endpoint, table, "queue#other/skip.txt"), what="queue record")
    assert _recorded(endpoint, table, "lambda#direct/skip.csv") is None
    assert _recorded(endpoint, table, "lambda#other/skip.txt") is None


def test_removal_reaches_the_topic(cloud: LocalCloud, deployed: dict[str, str]) -> None:
    endpoint, bucket = cloud.endpoint, deployed["BucketName"]
    s3, sqs, sns = client("s3", endpoint), client("sqs", endpoint), client("sns", endpoint)
    url = sqs.create_queue(QueueName="removed-objects")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(
        TopicArn=deployed["RemovalsTopicArn"],
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    s3.put_object(Bucket=bucket, Key="gone.bin", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="gone.bin")

    def removed() -> list[Any]:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        records = [r for m in messages for r in json.loads(m["Body"]).get("Records", [])]
        return [r for r in records if r["s3"]["object"]["key"] == "gone.bin"]

    (record,) = _deadline(removed, what="the removal through SNS")
    assert "size" not in record["s3"]["object"] and "eTag" not in record["s3"]["object"]
    _assert_s3_record(record, bucket, "gone.bin", "ObjectRemoved:Delete")


RECORDER = """
import json, os
import boto3

def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE"], MessageBody=json.dumps(event))
"""


def test_function_without_an_s3_permission_is_not_invoked(cloud: LocalCloud) -> None:
    endpoint = cloud.endpoint
    s3, sqs, lambda_ = client("s3", endpoint), client("sqs", endpoint), client("lambda", endpoint)
    name = f"s3-target-{uuid.uuid4().hex[:6]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    fn = create_function(endpoint, name, RECORDER, env={"QUEUE": url})
    bucket = name
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": fn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    s3.put_object(Bucket=bucket, Key="first", Body=b"x")
    time.sleep(3)
    assert not sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages")
    lambda_.add_permission(
        FunctionName=fn,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{bucket}",
    )
    s3.put_object(Bucket=bucket, Key="second", Body=b"x")
    messages = _deadline(
        lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"),
        what="the invocation once allowed",
    )
    (record,) = json.loads(messages[0]["Body"])["Records"]
    _assert_s3_record(record, bucket, "second", "ObjectCreated:Put")
