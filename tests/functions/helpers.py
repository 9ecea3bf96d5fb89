"""Helpers shared by the function tests (importing this puts `lambda_src/` on the path,
through `tests.support.lambda_src`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.lambda_src import LAMBDA_SRC as LAMBDA_SRC

REGION = "us-east-1"


class FakeClock:
    """A settable clock for services that take `clock=`; starts at a fixed instant."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def no_sleep(_seconds: float) -> None:
    """A `sleep` that returns at once, for retry loops under test."""


def scan_all(client: Any, table: str) -> list[dict[str, Any]]:
    """Every raw item of `table`, sorted, to compare a table before and after."""
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(page["Items"])
    return sorted(items, key=repr)


def body(response: dict[str, Any]) -> Any:
    """The decoded JSON body of a handler response (which must be a string)."""
    assert isinstance(response["body"], str)
    return json.loads(response["body"])


class StreamTap:
    """Reads a table's DynamoDB stream the way Lambda's event source mapping does.

    Opened at the stream's end (earlier records are drained), `event()` returns the records
    written since the last call, shaped as the Lambda event (`eventSourceARN` added, the
    creation time as epoch seconds).
    """

    def __init__(self, endpoint: str, stream_arn: str) -> None:
        import boto3

        self.client = boto3.client(
            "dynamodbstreams",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.stream_arn = stream_arn
        self._iterators: dict[str, str | None] = {}
        self.event()  # drain what is already there

    def _shards(self) -> list[str]:
        description = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description["Shards"]]

    def records(self) -> list[dict[str, Any]]:
        """The records written since the previous call, in stream order."""
        for shard in self._shards():
            if shard not in self._iterators:
                self._iterators[shard] = self.client.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        out: list[dict[str, Any]] = []
        for shard, iterator in list(self._iterators.items()):
            while iterator is not None:
                response = self.client.get_records(ShardIterator=iterator)
                batch = response.get("Records", [])
                out.extend(batch)
                iterator = response.get("NextShardIterator")
                if not batch:
                    break
            self._iterators[shard] = iterator
        for record in out:
            change = record["dynamodb"]
            created = change.get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                change["ApproximateCreationDateTime"] = created.timestamp()
            record["eventSourceARN"] = self.stream_arn
        return out

    def event(self) -> dict[str, Any]:
        """The records written since the previous call, as a Lambda event."""
        return {"Records": self.records()}


def stream_arn(client: Any, table: str) -> str:
    """The latest stream ARN of `table`."""
    arn: str = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    return arn
