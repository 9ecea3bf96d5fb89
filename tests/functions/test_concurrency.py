"""Races on email uniqueness, on DynamoDB Local and on the local cloud (which serves it).

Each thread goes through the whole function (`handle` -> service -> repository) with a
client big enough for all threads at once, released together by a barrier.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from user_manager.handler import handle
from user_manager.repository import UserRepository
from user_manager.service import UserService

from datamodel.tables import EMAIL_INDEX
from stacks.config import StageConfig
from tests.functions.helpers import body, scan_all
from tests.support.backends import dynamodb_client

THREADS = 50


# Not on moto: moto 5.2.5 does not isolate transactions (no lock; a cancelled one restores a
# copy of the table, erasing concurrent writes), so races there end with two owners of one
# email. That is why the local cloud serves DynamoDB from DynamoDB Local; the assertions
# below are strict on both engines here.
pytestmark = pytest.mark.parametrize(
    "ddb_endpoint", ("dynamodb_local", "local_cloud"), indirect=True
)


@pytest.fixture
def service(ddb_endpoint: str, stage_tables: StageConfig) -> UserService:
    client = dynamodb_client(ddb_endpoint, max_pool=THREADS + 8)
    table = stage_tables.table("users").table_name
    return UserService(UserRepository(client, table=table, email_index=EMAIL_INDEX))


def race(
    count: int, event_for: Callable[[int], dict[str, Any]], service: UserService
) -> list[tuple[int, Any]]:
    barrier = threading.Barrier(count)

    def one(n: int) -> tuple[int, Any]:
        event = event_for(n)
        barrier.wait()
        response = handle(event, service)
        return response["statusCode"], body(response)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_fifty_creates_of_one_email_make_exactly_one_user(service: UserService) -> None:
    results = race(
        THREADS,
        lambda n: {"action": "CREATE",
                   "data": {"userId": f"racer-{n:02d}", "email": "same@example.com",
                            "name": f"Racer {n}"}},
        service,
    )  # fmt: skip
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: THREADS - 1}, [p for s, p in results if s != 201][:3]
    assert all(payload["field"] in ("email", "userId") for s, payload in results if s == 409)
    repository = service.repository
    rows = scan_all(repository.client, repository.table)
    winner = next(payload["user"]["userId"] for status, payload in results if status == 201)
    assert sorted(row["userId"]["S"] for row in rows) == ["EMAIL#same@example.com", winner]


def test_concurrent_email_moves_to_one_address_leave_one_owner(service: UserService) -> None:
    count = 20
    for n in range(count):
        data = {"userId": f"mover-{n:02d}", "email": f"m{n}@example.com", "name": "M"}
        event = {"action": "CREATE", "data": data}
        assert handle(event, service)["statusCode"] == 201
    results = race(
        count,
        lambda n: {"action": "UPDATE", "userId": f"mover-{n:02d}",
                   "updates": {"email": "wanted@example.com"}},
        service,
    )  # fmt: skip
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 409: count - 1}
    repository = service.repository
    rows = scan_all(repository.client, repository.table)
    users = [row for row in rows if not row["userId"]["S"].startswith("EMAIL#")]
    locks = {row["userId"]["S"]: row["ownerId"]["S"] for row in rows if "ownerId" in row}
    # every user owns exactly the uniqueness row of its own email, and nothing else
    assert len(users) == count and len(locks) == count
    for row in users:
        assert locks[f"EMAIL#{row['email']['S']}"] == row["userId"]["S"]


def test_batch_creates_racing_creates_never_share_an_email(service: UserService) -> None:
    # Half the threads create one user, half a batch of five; all want the same five emails.
    emails = [f"shared-{n}@example.com" for n in range(5)]

    def event(n: int) -> dict[str, Any]:
        if n % 2:
            data = {"userId": f"single-{n:02d}", "email": emails[n % 5], "name": "S"}
            return {"action": "CREATE", "data": data}
        users = [
            {"userId": f"batch-{n:02d}-{k}", "email": email, "name": "B"}
            for k, email in enumerate(emails)
        ]
        return {"action": "BATCH_CREATE", "users": users}

    results = race(20, event, service)
    assert {status for status, _ in results} <= {201, 409}
    repository = service.repository
    rows = scan_all(repository.client, repository.table)
    users = [row for row in rows if "ownerId" not in row]
    locks = {row["userId"]["S"]: row["ownerId"]["S"] for row in rows if "ownerId" in row}
    # Each email is held once, by the user whose row names it; no row lacks its partner.
    assert sorted(locks) == sorted(f"EMAIL#{email}" for email in emails)
    assert len(users) == len(locks)
    for row in users:
        assert locks[f"EMAIL#{row['email']['S']}"] == row["userId"]["S"]
    # A batch is all or nothing: its users are either all there or none.
    by_batch = Counter(
        row["userId"]["S"].rsplit("-", 1)[0] for row in users if "batch" in row["userId"]["S"]
    )
    assert set(by_batch.values()) <= {5}
