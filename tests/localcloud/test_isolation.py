"""The local cloud's transactions are isolated, as DynamoDB's are.

moto 5.2.5 alone is not: its `TransactWriteItems` takes no lock and a cancelled one restores
a copy of the table, so two claims of one email could both win and concurrent puts
vanished. The local cloud serves DynamoDB from DynamoDB Local, and these races hold there.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.localcloud.conftest import client

pytestmark = [pytest.mark.integration, pytest.mark.slow]

THREADS = 24
# Filler rows give the table real data, so a transaction that copied it (as moto's does)
# would take long enough for concurrent requests to land inside it.
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
    # A rollback that restored a copy of the table taken when the transaction began (moto's)
    # would erase the puts committed meanwhile; they must survive.
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
