"""Record S3 event records in TABLE_NAME: from the queue (`from_queue`: each SQS message's
body is an S3 event) and straight from S3 (`from_s3`)."""

import json
import os
from typing import Any

import boto3

ddb = boto3.client("dynamodb")


def _save(source: str, record: dict[str, Any]) -> None:
    s3 = record["s3"]
    ddb.put_item(
        TableName=os.environ["TABLE_NAME"],
        Item={
            "id": {"S": f"{source}#{s3['object']['key']}"},
            "record": {"S": json.dumps(record)},
        },
    )


def from_queue(event: dict[str, Any], context: Any) -> None:
    for message in event["Records"]:
        for record in json.loads(message["body"]).get("Records", []):
            _save("queue", record)


def from_s3(event: dict[str, Any], context: Any) -> None:
    for record in event["Records"]:
        _save("lambda", record)
