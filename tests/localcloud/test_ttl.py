"""TTL expiry in the local cloud: what a pass deletes and keeps, how its REMOVE records are
told apart from a user's deletes (by a stream function, a filtered mapping and `GetRecords`),
the background interval and the `POST /_localcloud/ttl/expire` route."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench._cloud import health
from localcloud import ttl
from localcloud.engine import EngineClient, EngineError, free_port
from tests.localcloud.conftest import client, create_function, wait_for
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICE = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
# boto3's spelling of the same (the Streams API's `Identity` shape).
SERVICE_IN_GET_RECORDS = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
YEAR_S = 365 * 24 * 3600
# AWS's pattern for a mapping that is given TTL deletes only.
EXPIRIES_ONLY = {"userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]}}

# The stream function's test double: one row per record it was given, in its log table.
RECORDER = """
import json
import os

import boto3

ddb = boto3.client("dynamodb")


def handler(event, context):
    for record in event["Records"]:
        ddb.put_item(
            TableName=os.environ["LOG_TABLE"],
            Item={
                "eventID": {"S": record["eventID"]},
                "eventName": {"S": record["eventName"]},
                "pk": {"S": record["dynamodb"]["Keys"]["pk"]["S"]},
                "seq": {"S": record["dynamodb"]["SequenceNumber"]},
                "identity": {"S": json.dumps(record.get("userIdentity"))},
            },
        )
"""


@pytest.fixture(scope="module")
def manual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """A local cloud whose background pass never comes during these tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOCALCLOUD_TTL_INTERVAL_S", "3600")
        cloud = LocalCloud(tmp_path_factory.mktemp("ttl-cloud"))
        cloud.start()
    try:
        yield cloud
    finally:
        cloud.stop()


def _n(value: float) -> dict[str, str]:
    return {"N": str(value)}


def _table(endpoint: str, *, ttl_attribute: str | None = "expires", stream: bool = False) -> str:
    name = f"ttl-{uuid.uuid4().hex[:8]}"
    dynamodb = client("dynamodb", endpoint)
    extra: dict[str, Any] = (
        {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        if stream
        else {}
    )
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "group", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-group",
                "KeySchema": [{"AttributeName": "group", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    if ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
        )
    return name


def _log_table(endpoint: str) -> str:
    name = f"ttl-log-{uuid.uuid4().hex[:8]}"
    client("dynamodb", endpoint).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "eventID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "eventID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _keys(endpoint: str, table: str) -> set[str]:
    items = client("dynamodb", endpoint).scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["pk"]["S"] for item in items}


def _wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    return wait_for(check, timeout)


def test_a_pass_deletes_only_numbers_in_the_past_up_to_five_years(manual: LocalCloud) -> None:
    endpoint = manual.endpoint
    table = _table(endpoint)
    now = time.time()
    dynamodb = client("dynamodb", endpoint)
    items: dict[str, dict[str, Any]] = {
        "expired": {"expires": _n(int(now) - 60), "group": {"S": "g"}},
        "expired-fraction": {"expires": _n(round(now - 1.5, 3))},
        "four-years-ago": {"expires": _n(int(now - 4 * YEAR_S))},
        "future": {"expires": _n(int(now) + 3600), "group": {"S": "g"}},
        "six-years-ago": {"expires": _n(int(now - 6 * YEAR_S))},
        "a-string": {"expires": {"S": str(int(now) - 60)}},
        "a-number-set": {"expires": {"NS": [str(int(now) - 60)]}},
        "nested": {"meta": {"M": {"expires": _n(int(now) - 60)}}},
        "no-ttl": {},
    }
    for key, attributes in items.items():
        dynamodb.put_item(TableName=table, Item={"pk": {"S": key}, **attributes})
    untouched = _table(endpoint, ttl_attribute=None)
    dynamodb.put_item(TableName=untouched, Item={"pk": {"S": "k"}, "expires": _n(1)})
    disabled = _table(endpoint)
    dynamodb.update_time_to_live(
        TableName=disabled, TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"}
    )
    dynamodb.put_item(TableName=disabled, Item={"pk": {"S": "k"}, "expires": _n(1)})

    answer = ttl.expire_now(manual.port)

    assert answer["tables"][table]["expired"] == 3
    assert answer["tables"][table]["attribute"] == "expires"
    assert untouched not in answer["tables"]
    assert disabled not in answer["tables"]
    assert _keys(endpoint, table) == set(items) - {"expired", "expired-fraction", "four-years-ago"}
    assert _keys(endpoint, untouched) == _keys(endpoint, disabled) == {"k"}
    # The index follows the table.
    in_group = dynamodb.query(
        TableName=table,
        IndexName="by-group",
        KeyConditionExpression="#g = :g",
        ExpressionAttributeNames={"#g": "group"},
        ExpressionAttributeValues={":g": {"S": "g"}},
    )["Items"]
    assert [item["pk"]["S"] for item in in_group] == ["future"]


def test_a_pass_pages_through_the_whole_table(manual: LocalCloud) -> None:
    endpoint = manual.endpoint
    table = _table(endpoint)
    dynamodb = client("dynamodb", endpoint)
    expired = [f"old-{i:03d}" for i in range(250)]
    kept = [f"new-{i}" for i in range(5)]
    past, future = int(time.time()) - 60, int(time.time()) + 3600
    rows = [{"pk": {"S": k}, "expires": _n(past)} for k in expired]
    rows += [{"pk": {"S": k}, "expires": _n(future)} for k in kept]
    for start in range(0, len(rows), 25):
        dynamodb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": r}} for r in rows[start : start + 25]]}
        )

    swept = ttl.expire_now(manual.port)["tables"][table]

    assert swept["pages"] > 2
    assert swept["scanned"] == len(rows)
    assert swept["expired"] == len(expired)
    assert _keys(endpoint, table) == set(kept)


class _ExtendsBeforeDelete(EngineClient):
    """The engine, with a writer who extends one item's TTL just before its delete."""

    def __init__(self, port: int, table: str, pk: str) -> None:
        super().__init__(port)
        self.target = {"pk": {"S": pk}}
        self.table = table

    def call(self, operation: str, payload: dict[str, Any], *, streams: bool = False) -> Any:
        if operation == "DeleteItem" and payload.get("Key") == self.target:
            super().call(
                "UpdateItem",
                {
                    "TableName": self.table,
                    "Key": self.target,
                    "UpdateExpression": "SET expires = :later",
                    "ExpressionAttributeValues": {":later": _n(int(time.time()) + 3600)},
                },
            )
        return super().call(operation, payload, streams=streams)


def test_an_item_whose_ttl_is_extended_before_its_delete_is_kept(manual: LocalCloud) -> None:
    endpoint = manual.endpoint
    table = _table(endpoint)
    dynamodb = client("dynamodb", endpoint)
    for key in ("a", "b", "c"):
        dynamodb.put_item(
            TableName=table, Item={"pk": {"S": key}, "expires": _n(int(time.time()) - 60)}
        )
    engine_port = manual.health()["dynamodb"]["port"]
    sweeper = ttl.TtlSweeper(_ExtendsBeforeDelete(engine_port, table, "b"), interval_s=3600)

    swept = sweeper.run_pass().tables[table]

    assert (swept.expired, swept.changed_meanwhile) == (2, 1)
    assert _keys(endpoint, table) == {"b"}


def test_expiry_removes_carry_the_service_identity_and_a_users_delete_does_not(
    manual: LocalCloud,
) -> None:
    endpoint = manual.endpoint
    table = _table(endpoint, stream=True)
    stream_arn = client("dynamodb", endpoint).describe_table(TableName=table)["Table"][
        "LatestStreamArn"
    ]
    lambda_client = client("lambda", endpoint)
    every_log, expiry_log = _log_table(endpoint), _log_table(endpoint)
    create_function(endpoint, f"all-{table}", RECORDER, env={"LOG_TABLE": every_log})
    create_function(endpoint, f"expiry-{table}", RECORDER, env={"LOG_TABLE": expiry_log})
    lambda_client.create_event_source_mapping(
        FunctionName=f"all-{table}", EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON"
    )
    expiry_only = lambda_client.create_event_source_mapping(
        FunctionName=f"expiry-{table}",
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": json.dumps(EXPIRIES_ONLY)}]},
    )
    dynamodb = client("dynamodb", endpoint)
    past = _n(int(time.time()) - 60)
    for key in ("a", "b", "user"):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": key}, "expires": past})
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "user"}})
    assert ttl.expire_now(manual.port)["tables"][table]["expired"] == 2
    # Expired, put again and deleted by a user: that delete is the user's.
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "a"}})

    def logged(log_table: str, count: int) -> list[dict[str, Any]]:
        rows = client("dynamodb", endpoint).scan(TableName=log_table, ConsistentRead=True)
        items: list[dict[str, Any]] = rows["Items"]
        return sorted(items, key=lambda r: r["seq"]["S"]) if len(items) >= count else []

    seen = _wait_for(lambda: logged(every_log, 8))
    removes = [
        (r["pk"]["S"], json.loads(r["identity"]["S"]))
        for r in seen
        if r["eventName"]["S"] == "REMOVE"
    ]
    # The user's delete, the pass's two (in scan order), the user's delete of the new "a".
    assert len(removes) == 4
    assert (removes[0], removes[3]) == (("user", None), ("a", None))
    assert sorted(removes[1:3]) == [("a", SERVICE), ("b", SERVICE)]
    assert all(
        json.loads(r["identity"]["S"]) is None for r in seen if r["eventName"]["S"] != "REMOVE"
    )

    # A mapping filtered on the service identity is given the expiries only.
    _wait_for(lambda: health(endpoint)["stream_mappings"][expiry_only["UUID"]]["delivered"] >= 8)
    expiries = {r["eventID"]["S"] for r in logged(expiry_log, 0)}
    assert expiries == {r["eventID"]["S"] for r in seen if r["identity"]["S"] != "null"}

    # A reader of the stream through the local cloud sees the same identities.
    streams = client("dynamodbstreams", endpoint)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=100)["Records"]
    assert {r["eventID"]: r.get("userIdentity") for r in records} == {
        r["eventID"]["S"]: SERVICE_IN_GET_RECORDS if r["identity"]["S"] != "null" else None
        for r in seen
    }


def test_the_background_pass_expires_items_every_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALCLOUD_TTL_INTERVAL_S", "0.5")
    with LocalCloud(tmp_path) as cloud:
        table = _table(cloud.endpoint)
        dynamodb = client("dynamodb", cloud.endpoint)
        dynamodb.put_item(
            TableName=table, Item={"pk": {"S": "soon"}, "expires": _n(int(time.time()) + 1)}
        )
        dynamodb.put_item(
            TableName=table, Item={"pk": {"S": "later"}, "expires": _n(int(time.time()) + 3600)}
        )
        assert _keys(cloud.endpoint, table) == {"soon", "later"}

        _wait_for(lambda: _keys(cloud.endpoint, table) == {"later"}, timeout=15)


class _FailsOnce(EngineClient):
    """The engine, unreachable for the first call."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.failed = False

    def call(self, operation: str, payload: dict[str, Any], *, streams: bool = False) -> Any:
        if not self.failed:
            self.failed = True
            raise EngineError("DynamoDB Local on port 1: connection refused")
        return super().call(operation, payload, streams=streams)


def test_a_failed_pass_is_counted_and_the_next_interval_retries(manual: LocalCloud) -> None:
    table = _table(manual.endpoint)
    client("dynamodb", manual.endpoint).put_item(
        TableName=table, Item={"pk": {"S": "k"}, "expires": _n(int(time.time()) - 60)}
    )
    sweeper = ttl.TtlSweeper(_FailsOnce(manual.health()["dynamodb"]["port"]), interval_s=0.1)
    sweeper.start()
    try:
        _wait_for(lambda: sweeper.passes >= 1)
    finally:
        sweeper.stop()

    counters = sweeper.counters()
    assert counters["failed_passes"] == 1
    assert "connection refused" in counters["last_error"]
    assert counters["items_expired"] >= 1
    assert counters["last_pass_at"] is not None
    assert not sweeper.thread.is_alive()
    assert _keys(manual.endpoint, table) == set()


def test_the_route_takes_post_only(manual: LocalCloud) -> None:
    url = f"{manual.endpoint}{ttl.EXPIRE_PATH}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 405
    assert refused.value.headers["Allow"] == "POST"
    assert "POST" in json.loads(refused.value.read())["error"]


def test_asking_a_port_where_nothing_answers_says_so() -> None:
    with pytest.raises(ttl.ExpireRequestError, match="Connection refused"):
        ttl.expire_now(free_port(), timeout=5)


def _remove(event_id: str, pk: str) -> dict[str, Any]:
    return {"eventID": event_id, "eventName": "REMOVE", "dynamodb": {"Keys": {"pk": {"S": pk}}}}


def test_a_reader_waits_while_the_sweeper_resolves_a_key_it_deletes() -> None:
    registry = ttl.ExpiryRegistry()
    key = json.dumps({"pk": {"S": "k"}}, sort_keys=True)
    registry.begin("t", {key})
    records = [_remove("by-ttl", "k"), _remove("other", "j")]
    reader = threading.Thread(target=registry.annotate, args=("t", records, SERVICE))
    reader.start()
    time.sleep(0.2)
    assert reader.is_alive()  # waiting on "k"

    registry.end("t", {key}, ["by-ttl"])
    reader.join(timeout=5)

    assert records[0]["userIdentity"] == SERVICE
    assert "userIdentity" not in records[1]


def test_the_registry_forgets_the_oldest_expiries_first() -> None:
    registry = ttl.ExpiryRegistry(limit=2)
    registry.end("t", set(), ["first", "second", "third"])
    records = [_remove(event_id, "k") for event_id in ("first", "second", "third")]

    assert registry.annotate("t", records, SERVICE) == 2
    assert [("userIdentity" in r) for r in records] == [False, True, True]
