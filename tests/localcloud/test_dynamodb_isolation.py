"""The local cloud isolates DynamoDB transactions, as DynamoDB does (moto alone does not)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import dynamodb
from tests.localcloud.conftest import REGION, client

THREADS = 24
# moto copies the whole table when a transaction starts; filler rows make that copy slow
# enough for concurrent requests to land inside it, as they do on a table with real data.
FILLER_ROWS = 600


def make_table(ddb: Any, filler_rows: int = 0) -> str:
    name = f"isolation-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    rows = [
        {
            "pk": {"S": f"FILLER#{n}"},
            **{f"attribute_{a}": {"S": f"value {a} of row {n}"} for a in range(8)},
        }
        for n in range(filler_rows)
    ]
    for start in range(0, len(rows), 25):
        batch = [{"PutRequest": {"Item": row}} for row in rows[start : start + 25]]
        ddb.batch_write_item(RequestItems={name: batch})
    return name


def scan(ddb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(page["Items"])
    return items


def claim(ddb: Any, table: str, email: str, user: int) -> bool:
    """One user's transaction: the user row and the claim on `email`, both only if new."""
    try:
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": f"USER#{email}#{user}"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": f"EMAIL#{email}"}, "owner": {"N": str(user)}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    except ClientError as error:
        assert error.response["Error"]["Code"] == "TransactionCanceledException"
        return False
    return True


def race(function: Any, count: int) -> list[Any]:
    barrier = threading.Barrier(count)

    def one(n: int) -> Any:
        barrier.wait()
        return function(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_concurrent_claims_of_one_email_leave_exactly_one_owner(cloud: str) -> None:
    ddb = client("dynamodb", cloud)
    table = make_table(ddb, FILLER_ROWS)
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        won = race(lambda user, email=email: claim(ddb, table, email, user), THREADS)
        winners = [user for user, success in enumerate(won) if success]
        assert len(winners) == 1, winners
        rows = {item["pk"]["S"]: item for item in scan(ddb, table)}
        assert rows[f"EMAIL#{email}"]["owner"]["N"] == str(winners[0])
        users = [pk for pk in rows if pk.startswith(f"USER#{email}#")]
        assert users == [f"USER#{email}#{winners[0]}"]


def test_a_cancelled_transaction_does_not_undo_other_writes(cloud: str) -> None:
    # moto's rollback restores a copy of the table taken when the transaction began; puts
    # committed meanwhile must survive it.
    ddb = client("dynamodb", cloud)
    table = make_table(ddb, FILLER_ROWS)
    claim(ddb, table, "taken@example.com", 0)

    def work(n: int) -> None:
        if n % 2:
            for i in range(10):
                ddb.put_item(TableName=table, Item={"pk": {"S": f"PLAIN#{n}#{i}"}})
        else:
            for _ in range(4):
                assert not claim(ddb, table, "taken@example.com", n)

    race(work, THREADS)
    plain = {item["pk"]["S"] for item in scan(ddb, table) if item["pk"]["S"].startswith("PLAIN#")}
    expected = {f"PLAIN#{n}#{i}" for n in range(1, THREADS, 2) for i in range(10)}
    assert plain == expected


@pytest.fixture
def in_process_dynamodb(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


def test_every_backend_write_waits_for_the_write_lock(in_process_dynamodb: Any) -> None:
    ddb = in_process_dynamodb
    table = make_table(ddb)
    was_installed = dynamodb.PATCHES.installed  # the session's moto server may use it too
    dynamodb.PATCHES.install()
    try:
        done = threading.Event()

        def put() -> None:
            ddb.put_item(TableName=table, Item={"pk": {"S": "blocked"}})
            done.set()

        with dynamodb.WRITE_LOCK:
            writer = threading.Thread(target=put)
            writer.start()
            assert not done.wait(0.5), "put_item ran while another write held the lock"
        writer.join(10)
        assert done.is_set()
        assert ddb.get_item(TableName=table, Key={"pk": {"S": "blocked"}})["Item"]
    finally:
        if not was_installed:
            dynamodb.PATCHES.uninstall()


def test_the_lock_covers_every_write_of_the_backend() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    # A moto upgrade that adds an item-writing method must not slip past the lock.
    writes = {
        name
        for name in vars(DynamoDBBackend)
        if ("item" in name and not name.startswith(("get_", "batch_get_", "transact_get_")))
        or "execute" in name
    }
    assert writes <= set(dynamodb.SERIALIZED_WRITES), writes - set(dynamodb.SERIALIZED_WRITES)
