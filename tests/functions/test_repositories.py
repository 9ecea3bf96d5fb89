"""The repositories against both moto's server and AWS's DynamoDB Local.

Conditions and transactions are where an emulator most easily differs from DynamoDB, so
every write path with a condition runs on both; DynamoDB Local is the reference.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tasks.errors import TaskExists
from tasks.repository import TaskRepository
from user_manager.errors import EmailInUse, UserAlreadyExists, UserNotFound, VersionMismatch
from user_manager.handler import handle
from user_manager.repository import LIST_BUDGET, UserRepository
from user_manager.service import UserService

from datamodel.tables import EMAIL_INDEX
from scripts.seed import write_items
from stacks.config import StageConfig
from tests.functions.helpers import FakeClock, body, no_sleep, scan_all
from tests.support.backends import dynamodb_client

NOW = 1_800_000_000


def user(user_id: str, email: str, **extra: Any) -> dict[str, Any]:
    return {"userId": user_id, "email": email, "name": user_id.title(), "version": 1, **extra}


@pytest.fixture
def client(ddb_endpoint: str, stage_tables: StageConfig) -> Any:
    return dynamodb_client(ddb_endpoint)


@pytest.fixture
def users(client: Any, stage_tables: StageConfig) -> UserRepository:
    table = stage_tables.table("users")
    return UserRepository(
        client,
        table=table.table_name,
        email_index=EMAIL_INDEX,
        ttl_attribute=table.ttl_attribute or "expiresAt",
        sleep=no_sleep,
    )


def keys(client: Any, table: str) -> list[str]:
    return sorted(item["userId"]["S"] for item in scan_all(client, table))


# -- users -----------------------------------------------------------------------------------------


def test_create_writes_user_and_uniqueness_row(users: UserRepository, client: Any) -> None:
    users.create(user("u1", "a@x.io", age=3), now=NOW)
    assert keys(client, users.table) == ["EMAIL#a@x.io", "u1"]
    assert users.get("u1", now=NOW) == user("u1", "a@x.io", age=3)
    assert users.find_by_email("a@x.io", now=NOW) == user("u1", "a@x.io", age=3)


def test_create_conflicts_write_nothing(users: UserRepository, client: Any) -> None:
    users.create(user("u1", "a@x.io"), now=NOW)
    before = scan_all(client, users.table)
    with pytest.raises(UserAlreadyExists):
        users.create(user("u1", "b@x.io"), now=NOW)
    with pytest.raises(EmailInUse):
        users.create(user("u2", "a@x.io"), now=NOW)
    assert scan_all(client, users.table) == before


def test_expired_rows_can_be_taken_over(users: UserRepository, client: Any) -> None:
    users.create(user("u1", "a@x.io", expiresAt=NOW + 10), now=NOW)
    with pytest.raises(EmailInUse):
        users.create(user("u2", "a@x.io"), now=NOW + 10)  # still live at its expiry second
    users.create(user("u2", "a@x.io"), now=NOW + 11)
    users.create(user("u1", "c@x.io"), now=NOW + 11)
    assert users.get("u1", now=NOW + 11) == user("u1", "c@x.io")
    lock = client.get_item(TableName=users.table, Key={"userId": {"S": "EMAIL#a@x.io"}})["Item"]
    assert lock["ownerId"] == {"S": "u2"}


def test_update_in_place_with_and_without_version(users: UserRepository) -> None:
    users.create(user("u1", "a@x.io"), now=NOW)
    updated = users.update("u1", {"role": "admin", "name": "N"}, expected_version=1, now=NOW)
    assert (updated["role"], updated["name"], updated["version"]) == ("admin", "N", 2)
    with pytest.raises(VersionMismatch):
        users.update("u1", {"role": "x"}, expected_version=1, now=NOW)
    assert users.update("u1", {"age": 9}, expected_version=None, now=NOW)["version"] == 3
    with pytest.raises(UserNotFound):
        users.update("ghost", {"age": 9}, expected_version=None, now=NOW)
    with pytest.raises(UserNotFound):
        users.update("ghost", {"age": 9}, expected_version=4, now=NOW)


def test_update_of_a_row_without_version(users: UserRepository, client: Any) -> None:
    """Rows written by other tools (seed scripts) have no version: they are at version 0."""
    client.put_item(
        TableName=users.table, Item={"userId": {"S": "legacy"}, "email": {"S": "l@x.io"}}
    )
    with pytest.raises(VersionMismatch):
        users.update("legacy", {"age": 1}, expected_version=1, now=NOW)
    assert users.update("legacy", {"age": 1}, expected_version=0, now=NOW)["version"] == 1
    # no uniqueness row existed for it: moving its email still works and creates one
    moved = users.update("legacy", {"email": "m@x.io"}, expected_version=None, now=NOW)
    assert moved["version"] == 2
    assert keys(client, users.table) == ["EMAIL#m@x.io", "legacy"]


def test_update_email_moves_the_row_and_refuses_a_taken_one(
    users: UserRepository, client: Any
) -> None:
    users.create(user("u1", "a@x.io"), now=NOW)
    users.create(user("u2", "b@x.io"), now=NOW)
    moved = users.update("u1", {"email": "c@x.io"}, expected_version=1, now=NOW)
    assert (moved["email"], moved["version"]) == ("c@x.io", 2)
    assert keys(client, users.table) == ["EMAIL#b@x.io", "EMAIL#c@x.io", "u1", "u2"]
    before = scan_all(client, users.table)
    with pytest.raises(EmailInUse):
        users.update("u1", {"email": "b@x.io"}, expected_version=None, now=NOW)
    with pytest.raises(VersionMismatch):
        users.update("u1", {"email": "d@x.io"}, expected_version=1, now=NOW)
    assert scan_all(client, users.table) == before


def test_delete_frees_the_email(users: UserRepository, client: Any) -> None:
    users.create(user("u1", "a@x.io"), now=NOW)
    with pytest.raises(VersionMismatch):
        users.delete("u1", expected_version=2, now=NOW)
    users.delete("u1", expected_version=1, now=NOW)
    assert scan_all(client, users.table) == []
    with pytest.raises(UserNotFound):
        users.delete("u1", expected_version=None, now=NOW)
    users.create(user("u2", "a@x.io"), now=NOW)


def test_list_pages_skip_uniqueness_and_expired_rows(users: UserRepository) -> None:
    for n in range(9):
        extra = {"expiresAt": NOW - 1} if n % 3 == 0 else {}
        users.create(user(f"u{n}", f"{n}@x.io", **extra), now=NOW - 100)
    live = sorted(f"u{n}" for n in range(9) if n % 3 != 0)
    seen: list[str] = []
    start = None
    for _ in range(10):
        page, start = users.list_page(limit=2, start_key=start, now=NOW)
        assert len(page) <= 2
        seen += [str(item["userId"]) for item in page]
        if start is None:
            break
        assert not start.startswith("EMAIL#")  # a full page continues after its last user
    assert sorted(seen) == live


class ScanCounter:
    """A real client that adds up the `ScannedCount` of its Scans (the rows evaluated)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.scanned = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def scan(self, **request: Any) -> Any:
        response = self._client.scan(**request)
        self.scanned += int(response["ScannedCount"])
        return response


def test_list_stops_at_its_budget_and_pages_through_every_user_once(
    client: Any, users: UserRepository
) -> None:
    """Issue 16: 30,000 uniqueness rows ran LIST into the function's timeout."""
    expired = [
        {
            "userId": {"S": f"EMAIL#old{n:04d}@x.io"},
            "ownerId": {"S": f"old{n:04d}"},
            "expiresAt": {"N": str(NOW - 1)},
        }
        for n in range(2500)
    ]
    ids = sorted(f"u{n:02d}" for n in range(40))
    for user_id in ids:
        users.create(user(user_id, f"{user_id}@x.io"), now=NOW)
    write_items(client, users.table, expired)
    counter = ScanCounter(client)
    service = UserService(
        UserRepository(counter, table=users.table, email_index=EMAIL_INDEX, sleep=no_sleep),
        clock=FakeClock(datetime.fromtimestamp(NOW, UTC)),
    )
    seen: list[str] = []
    pages: list[tuple[int, bool]] = []
    cursor = None
    while len(pages) < 50:
        counter.scanned = 0
        event: dict[str, Any] = {"action": "LIST", "limit": 25}
        if cursor is not None:
            event["cursor"] = cursor
        response = handle(event, service)
        assert response["statusCode"] == 200
        payload = body(response)
        assert counter.scanned <= LIST_BUDGET
        seen += [item["userId"] for item in payload["users"]]
        cursor = payload["cursor"]
        pages.append((payload["count"], cursor is not None))
        if cursor is None:
            break
    assert sorted(seen) == ids  # every user exactly once, across pages
    assert len(pages) >= 3  # 2,580 rows cannot be evaluated in fewer budgets of 1,000
    assert any(count < 25 and more for count, more in pages)  # cut short, with a cursor


def test_batch_create_and_batch_get(users: UserRepository, client: Any) -> None:
    batch = [user(f"b{n:02d}", f"b{n}@x.io") for n in range(25)]
    users.batch_create(batch, now=NOW)
    assert len(scan_all(client, users.table)) == 50
    found = users.batch_get([f"b{n:02d}" for n in range(30)], now=NOW)
    assert sorted(str(item["userId"]) for item in found) == [f"b{n:02d}" for n in range(25)]
    before = scan_all(client, users.table)
    with pytest.raises(EmailInUse):
        users.batch_create([user("new", "b3@x.io")], now=NOW)
    with pytest.raises(UserAlreadyExists):
        users.batch_create([user("b04", "new@x.io")], now=NOW)
    assert scan_all(client, users.table) == before


# -- tasks -----------------------------------------------------------------------------------------


@pytest.fixture
def tasks(client: Any, stage_tables: StageConfig) -> TaskRepository:
    return TaskRepository(client, stage_tables.table("tasks").table_name)


def test_tasks_add_get_and_refuse_duplicates(tasks: TaskRepository, client: Any) -> None:
    tasks.add({"id": "t1", "name": "one"})
    assert tasks.get("t1") == {"id": "t1", "name": "one"}
    assert tasks.get("t2") is None
    with pytest.raises(TaskExists):
        tasks.add({"id": "t1", "name": "other"})
    assert tasks.get("t1") == {"id": "t1", "name": "one"}


def test_tasks_list_pages(tasks: TaskRepository) -> None:
    for n in range(7):
        tasks.add({"id": f"t{n}", "name": str(n)})
    seen: list[str] = []
    start = None
    while True:
        page, start = tasks.list_page(limit=3, start_id=start)
        seen += [str(item["id"]) for item in page]
        if start is None:
            break
    assert sorted(seen) == [f"t{n}" for n in range(7)]
