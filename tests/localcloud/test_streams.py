"""The asynchronous DynamoDB stream poller, through the real APIs of a local cloud."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from bench._cloud import health
from tests.localcloud.conftest import client, create_function, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Writes one row per delivered record into the table itself (a write-back that deadlocked
# under moto's synchronous delivery), remembering the batch it came in.
WRITE_BACK = """
import json
import boto3

ddb = boto3.client("dynamodb")


def handler(event, context):
    records = event["Records"]
    for record in records:
        pk = record["dynamodb"]["Keys"]["pk"]["S"]
        if pk.startswith("seen#"):
            continue
        ddb.put_item(
            TableName=record["eventSourceARN"].split("/")[1],
            Item={
                "pk": {"S": "seen#" + pk},
                "seq": {"S": record["dynamodb"]["SequenceNumber"]},
                "batch": {"N": str(len(records))},
                "request": {"S": context.aws_request_id},
            },
        )
"""

# Fails until a record has been attempted three times, counting attempts in the table.
FLAKY = """
import boto3

ddb = boto3.client("dynamodb")


def handler(event, context):
    table = event["Records"][0]["eventSourceARN"].split("/")[1]
    for record in event["Records"]:
        pk = record["dynamodb"]["Keys"]["pk"]["S"]
        if pk.startswith("attempts#"):
            continue
        counted = ddb.update_item(
            TableName=table,
            Key={"pk": {"S": "attempts#" + pk}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        if int(counted["Attributes"]["n"]["N"]) < 3:
            raise RuntimeError("not yet: " + pk)
"""

ALWAYS_FAILS = """
def handler(event, context):
    raise RuntimeError("this batch never succeeds")
"""


def _table(endpoint: str) -> tuple[str, str]:
    name = f"stream-{uuid.uuid4().hex[:8]}"
    created = client("dynamodb", endpoint).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return name, created["TableDescription"]["LatestStreamArn"]


def _wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    return wait_for(check, timeout)


def _rows(endpoint: str, table: str, prefix: str) -> dict[str, dict[str, Any]]:
    items = client("dynamodb", endpoint).scan(TableName=table, ConsistentRead=True)["Items"]
    return {i["pk"]["S"]: i for i in items if i["pk"]["S"].startswith(prefix)}


def test_writes_return_at_once_and_a_write_back_handler_sees_every_record(cloud: str) -> None:
    table, stream_arn = _table(cloud)
    name = f"writer-{table}"
    create_function(cloud, name, WRITE_BACK)
    client("lambda", cloud).create_event_source_mapping(
        FunctionName=name, EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON", BatchSize=3
    )
    dynamodb = client("dynamodb", cloud)
    keys = [f"k{i:02d}" for i in range(10)]
    for key in keys:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": key}})

    seen = _wait_for(lambda: (rows := _rows(cloud, table, "seen#")) and len(rows) >= 10 and rows)
    assert sorted(seen) == [f"seen#{key}" for key in keys]
    assert max(int(row["batch"]["N"]) for row in seen.values()) <= 3
    # In order per shard: batches (one request each) cover increasing sequence numbers.
    by_request: dict[str, list[int]] = {}
    for key in keys:
        row = seen[f"seen#{key}"]
        by_request.setdefault(row["request"]["S"], []).append(int(row["seq"]["S"]))
    batches = sorted(by_request.values(), key=min)
    assert [seq for batch in batches for seq in batch] == sorted(
        int(seen[f"seen#{k}"]["seq"]["S"]) for k in keys
    )

    # Delivered records stay in the stream, readable with the Streams API.
    streams = client("dynamodbstreams", cloud)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    written = [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]
    assert written[:10] == keys
    assert len(written) == 20  # the handler's own writes are stream records too


def test_handler_errors_are_retried_until_the_batch_succeeds(cloud: str) -> None:
    table, stream_arn = _table(cloud)
    name = f"flaky-{table}"
    create_function(cloud, name, FLAKY)
    client("lambda", cloud).create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        MaximumRetryAttempts=5,
    )
    client("dynamodb", cloud).put_item(TableName=table, Item={"pk": {"S": "order-1"}})
    attempts = _wait_for(
        lambda: (
            (rows := _rows(cloud, table, "attempts#order-1"))
            and int(rows["attempts#order-1"]["n"]["N"]) >= 3
            and rows
        )
    )
    time.sleep(0.5)  # a succeeded batch is not delivered again
    final = _rows(cloud, table, "attempts#order-1")
    assert final["attempts#order-1"]["n"] == attempts["attempts#order-1"]["n"] == {"N": "3"}


def test_exhausted_retries_go_to_the_on_failure_queue(cloud: str) -> None:
    table, stream_arn = _table(cloud)
    sqs = client("sqs", cloud)
    queue_url = sqs.create_queue(QueueName=f"dlq-{table}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    name = f"doomed-{table}"
    function_arn = create_function(cloud, name, ALWAYS_FAILS)
    client("lambda", cloud).create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    client("dynamodb", cloud).put_item(TableName=table, Item={"pk": {"S": "poison"}})

    messages = _wait_for(
        lambda: sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages")
    )
    body = json.loads(messages[0]["Body"])
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["requestContext"]["functionArn"] == function_arn
    assert body["requestContext"]["approximateInvokeCount"] == 2
    assert body["DDBStreamBatchInfo"]["batchSize"] == 1
    assert body["DDBStreamBatchInfo"]["streamArn"] == stream_arn


def test_latest_mapping_skips_records_written_before_it(cloud: str) -> None:
    table, stream_arn = _table(cloud)
    dynamodb = client("dynamodb", cloud)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "before"}})
    name = f"latest-{table}"
    create_function(cloud, name, WRITE_BACK)
    client("lambda", cloud).create_event_source_mapping(
        FunctionName=name, EventSourceArn=stream_arn, StartingPosition="LATEST"
    )
    # No wait: the mapping's LATEST position is taken before CreateEventSourceMapping answers.
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "after"}})
    seen = _wait_for(lambda: _rows(cloud, table, "seen#"))
    time.sleep(0.5)
    assert sorted(_rows(cloud, table, "seen#")) == ["seen#after"] == sorted(seen)


PARTIAL = """
import boto3

ddb = boto3.client("dynamodb")


def handler(event, context):
    failures = []
    for record in event["Records"]:
        pk = record["dynamodb"]["Keys"]["pk"]["S"]
        if pk.startswith("count#"):
            continue
        table = record["eventSourceARN"].split("/")[1]
        counted = ddb.update_item(
            TableName=table,
            Key={"pk": {"S": "count#" + pk}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        if pk == "k1" and int(counted["Attributes"]["n"]["N"]) < 2:
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    return {"batchItemFailures": failures}
"""


def test_report_batch_item_failures_resumes_from_the_failed_record(cloud: str) -> None:
    table, stream_arn = _table(cloud)
    dynamodb = client("dynamodb", cloud)
    for key in ("k0", "k1", "k2"):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": key}})
    name = f"partial-{table}"
    create_function(cloud, name, PARTIAL)
    client("lambda", cloud).create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=3,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    _wait_for(
        lambda: (
            len(_rows(cloud, table, "count#")) == 3
            and _rows(cloud, table, "count#k1")["count#k1"]["n"] == {"N": "2"}
        )
    )
    time.sleep(0.5)
    counts = {pk: row["n"]["N"] for pk, row in _rows(cloud, table, "count#").items()}
    # k0 succeeded in the first batch and was checkpointed; k1 (and k2 after it) came again.
    assert counts == {"count#k0": "1", "count#k1": "2", "count#k2": "2"}


def test_moto_alone_refuses_a_mapping_on_a_dynamodb_local_stream(cloud: str, aws_env: None) -> None:
    """moto looks streams up in its own tables, which no longer hold ours: without the
    override, a mapping on a DynamoDB Local stream is refused (a moto change fails this)."""
    import boto3
    from moto import mock_aws
    from moto.awslambda.models import lambda_backends
    from moto.core.exceptions import JsonRESTError
    from moto.core.models import DEFAULT_ACCOUNT_ID

    from localcloud import streams
    from tests.localcloud.conftest import REGION, zip_code

    _, stream_arn = _table(cloud)
    with mock_aws():
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="moto-alone", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        boto3.client("lambda", region_name=REGION).create_function(
            FunctionName="moto-alone",
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": zip_code({"app.py": ALWAYS_FAILS})},
        )
        backend = lambda_backends[DEFAULT_ACCOUNT_ID][REGION]
        with pytest.raises(JsonRESTError, match="Invalid EventSourceArn"):
            streams.PATCHES.patches[0].original(
                backend, {"EventSourceArn": stream_arn, "FunctionName": "moto-alone"}
            )


# Logs each batch (its keys in order, when it started and ended) into LOG_TABLE, slowly.
BATCH_LOG = """
import json
import os
import time
import boto3

ddb = boto3.client("dynamodb")


def handler(event, context):
    started = time.time()
    time.sleep(0.2)
    keys = [[r["dynamodb"]["Keys"]["pk"]["S"], r["dynamodb"]["Keys"]["sk"]["S"]]
            for r in event["Records"]]
    ddb.put_item(
        TableName=os.environ["LOG_TABLE"],
        Item={
            "pk": {"S": context.aws_request_id},
            "keys": {"S": json.dumps(keys)},
            "started": {"N": repr(started)},
            "ended": {"N": repr(time.time())},
        },
    )
"""


def _batches_with_factor(cloud: str, factor: int) -> list[tuple[float, float, list[list[str]]]]:
    """Stream 5 items under each of 12 partition keys to BATCH_LOG with `factor` lanes."""
    dynamodb = client("dynamodb", cloud)
    table = f"lanes-{uuid.uuid4().hex[:8]}"
    stream_arn = dynamodb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )["TableDescription"]["LatestStreamArn"]
    log_table, _ = _table(cloud)
    name = f"lanes-{table}"
    create_function(cloud, name, BATCH_LOG, env={"LOG_TABLE": log_table})
    for n in range(5):
        for key in range(12):
            dynamodb.put_item(TableName=table, Item={"pk": {"S": f"k{key}"}, "sk": {"S": f"{n}"}})
    client("lambda", cloud).create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        ParallelizationFactor=factor,
    )

    def logged() -> list[dict[str, Any]]:
        rows = list(_rows(cloud, log_table, "").values())
        return rows if sum(len(json.loads(r["keys"]["S"])) for r in rows) >= 60 else []

    rows = _wait_for(logged, timeout=60)
    batches = [
        (float(r["started"]["N"]), float(r["ended"]["N"]), json.loads(r["keys"]["S"])) for r in rows
    ]
    return sorted(batches)


def _overlaps(batches: list[tuple[float, float, list[list[str]]]]) -> int:
    return sum(1 for a, b in zip(batches, batches[1:], strict=False) if b[0] < a[1])


@pytest.mark.parametrize("factor", [1, 4])
def test_parallelization_factor_runs_batches_at_once_keeping_each_key_in_order(
    cloud: str, factor: int
) -> None:
    batches = _batches_with_factor(cloud, factor)
    delivered = [tuple(key) for _, _, keys in batches for key in keys]
    # every record once
    assert sorted(delivered) == sorted((f"k{k}", f"{n}") for k in range(12) for n in range(5))
    # each partition key's records in stream order, however the batches interleave
    for key in range(12):
        assert [sk for pk, sk in delivered if pk == f"k{key}"] == [f"{n}" for n in range(5)]
    if factor == 1:
        assert _overlaps(batches) == 0
    else:
        assert _overlaps(batches) > 0


def test_filter_criteria_drop_records_before_the_function_sees_them(cloud: str) -> None:
    table, stream_arn = _table(cloud)
    name = f"filtered-{table}"
    create_function(cloud, name, WRITE_BACK)
    lambda_client = client("lambda", cloud)
    keep_inserts = {
        "eventName": ["INSERT"],
        "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "keep#"}]}}},
    }
    mapping = lambda_client.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        FilterCriteria={"Filters": [{"Pattern": json.dumps(keep_inserts)}]},
    )
    dynamodb = client("dynamodb", cloud)
    for key in ("keep#1", "drop#1", "keep#2", "drop#2"):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": key}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "keep#1"}, "v": {"S": "modified"}})
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "keep#2"}})

    def settled() -> dict[str, int]:
        counters = health(cloud)["stream_mappings"].get(mapping["UUID"], {})
        # 6 writes, plus the two seen# rows the function writes (filtered out too)
        return counters if counters.get("delivered", 0) >= 8 else {}

    counters = _wait_for(settled)
    # only the two INSERTs of keep# keys reached the function
    assert sorted(_rows(cloud, table, "seen#")) == ["seen#keep#1", "seen#keep#2"]
    assert counters["filtered"] == 6


def test_filter_criteria_lambda_would_refuse_are_refused_at_create_and_update(
    cloud: str,
) -> None:
    table, stream_arn = _table(cloud)
    name = f"badfilter-{table}"
    create_function(cloud, name, WRITE_BACK)
    lambda_client = client("lambda", cloud)
    bad = {"Filters": [{"Pattern": json.dumps({"eventName": [{"startswith": "INS"}]})}]}
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.create_event_source_mapping(
            FunctionName=name,
            EventSourceArn=stream_arn,
            StartingPosition="TRIM_HORIZON",
            FilterCriteria=bad,
        )
    mapping = lambda_client.create_event_source_mapping(
        FunctionName=name, EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON"
    )
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.update_event_source_mapping(UUID=mapping["UUID"], FilterCriteria=bad)
    kept = lambda_client.get_event_source_mapping(UUID=mapping["UUID"])
    assert not kept.get("FilterCriteria", {}).get("Filters")


def test_moto_alone_keeps_any_filter_criteria_on_update(aws_env: None) -> None:
    """moto stores an update's FilterCriteria unchecked (a moto change fails this)."""
    import boto3
    from moto import mock_aws

    from tests.localcloud.conftest import REGION, zip_code

    with mock_aws():
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="moto-alone", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        lambda_client = boto3.client("lambda", region_name=REGION)
        lambda_client.create_function(
            FunctionName="moto-alone",
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": zip_code({"app.py": ALWAYS_FAILS})},
        )
        queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="moto-alone")
        arn = boto3.client("sqs", region_name=REGION).get_queue_attributes(
            QueueUrl=queue["QueueUrl"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        mapping = lambda_client.create_event_source_mapping(
            FunctionName="moto-alone", EventSourceArn=arn
        )
        bad = {"Filters": [{"Pattern": "{not json"}]}
        updated = lambda_client.update_event_source_mapping(
            UUID=mapping["UUID"], FilterCriteria=bad
        )
        assert updated["FilterCriteria"] == bad
