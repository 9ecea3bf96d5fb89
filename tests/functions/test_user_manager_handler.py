"""user-manager under moto: every action, and every error path, through `handle()`."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from user_manager.handler import handle
from user_manager.repository import UserRepository
from user_manager.service import UserService

from datamodel.tables import EMAIL_INDEX
from stacks.config import StageConfig
from tests.functions.helpers import FakeClock, body, no_sleep, scan_all

ALICE = {"userId": "user-001", "email": "Alice@Example.com", "name": "Alice Johnson", "age": 28,
         "role": "developer"}  # fmt: skip


@pytest.fixture
def table(local_stage: StageConfig) -> str:
    return local_stage.table("users").table_name


@pytest.fixture
def service(moto_client: Any, table: str, clock: FakeClock) -> UserService:
    repository = UserRepository(moto_client, table=table, email_index=EMAIL_INDEX, sleep=no_sleep)
    return UserService(repository, clock=clock)


def call(service: UserService, event: Any) -> tuple[int, Any]:
    response = handle(event, service)
    assert set(response) == {"statusCode", "body"}
    return response["statusCode"], body(response)


def create(service: UserService, **overrides: Any) -> dict[str, Any]:
    status, payload = call(service, {"action": "CREATE", "data": {**ALICE, **overrides}})
    assert status == 201, payload
    return payload["user"]  # type: ignore[no-any-return]


# -- CREATE --------------------------------------------------------------------------------------


def test_create_returns_201_and_stores_user_and_uniqueness_row(
    service: UserService, moto_client: Any, table: str
) -> None:
    status, payload = call(service, {"action": "CREATE", "data": ALICE})
    assert status == 201
    assert payload["message"] == "User created"
    user = payload["user"]
    assert user["userId"] == "user-001"
    assert user["email"] == "alice@example.com"  # normalized
    assert (user["age"], user["role"], user["version"]) == (28, "developer", 1)
    assert user["createdAt"] == user["updatedAt"] == "2026-03-01T12:00:00.000+00:00"
    keys = sorted(item["userId"]["S"] for item in scan_all(moto_client, table))
    assert keys == ["EMAIL#alice@example.com", "user-001"]
    lock = moto_client.get_item(TableName=table, Key={"userId": {"S": "EMAIL#alice@example.com"}})
    assert lock["Item"]["ownerId"] == {"S": "user-001"}
    assert "email" not in lock["Item"]  # so the uniqueness row stays out of EmailIndex


def test_create_with_only_required_fields(service: UserService) -> None:
    status, payload = call(
        service, {"action": "CREATE", "data": {"userId": "u2", "email": "b@x.io", "name": "B"}}
    )
    assert status == 201
    assert "age" not in payload["user"] and "role" not in payload["user"]


def test_create_existing_user_id_is_409_and_changes_nothing(
    service: UserService, moto_client: Any, table: str
) -> None:
    create(service)
    before = scan_all(moto_client, table)
    status, payload = call(
        service, {"action": "CREATE", "data": {**ALICE, "email": "other@example.com"}}
    )
    assert status == 409
    assert payload == {"error": "user already exists: user-001", "field": "userId"}
    assert scan_all(moto_client, table) == before


def test_create_email_of_another_user_is_409_case_insensitively(
    service: UserService, moto_client: Any, table: str
) -> None:
    create(service)
    before = scan_all(moto_client, table)
    status, payload = call(
        service, {"action": "CREATE", "data": {**ALICE, "userId": "user-002",
                                                "email": "ALICE@example.COM"}}
    )  # fmt: skip
    assert status == 409
    assert payload["field"] == "email"
    assert "alice@example.com" in payload["error"]
    assert scan_all(moto_client, table) == before


def test_create_with_ttl_sets_expires_at_on_user_and_uniqueness_row(
    service: UserService, moto_client: Any, table: str, clock: FakeClock
) -> None:
    user = create(service, expiresInDays=7)
    expected = int(clock.now.timestamp()) + 7 * 86_400
    assert user["expiresAt"] == expected
    lock = moto_client.get_item(TableName=table, Key={"userId": {"S": "EMAIL#alice@example.com"}})
    assert lock["Item"]["expiresAt"] == {"N": str(expected)}


def test_expired_user_is_hidden_and_its_id_and_email_can_be_reused(
    service: UserService, clock: FakeClock
) -> None:
    create(service, expiresInDays=1)
    clock.advance(86_400 + 1)
    assert call(service, {"action": "READ", "userId": "user-001"})[0] == 404
    assert call(service, {"action": "FIND_BY_EMAIL", "email": "alice@example.com"})[0] == 404
    assert call(service, {"action": "LIST"})[1]["users"] == []
    again = create(service, name="Alice Again")
    assert again["name"] == "Alice Again" and "expiresAt" not in again
    assert call(service, {"action": "READ", "userId": "user-001"})[1]["name"] == "Alice Again"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({k: v for k, v in ALICE.items() if k != "userId"}, "data.userId"),
        ({k: v for k, v in ALICE.items() if k != "email"}, "data.email"),
        ({k: v for k, v in ALICE.items() if k != "name"}, "data.name"),
        ({**ALICE, "userId": ""}, "data.userId"),
        ({**ALICE, "userId": "EMAIL#x"}, "data.userId"),
        ({**ALICE, "userId": "a" * 129}, "data.userId"),
        ({**ALICE, "userId": 7}, "data.userId"),
        ({**ALICE, "email": "not-an-email"}, "data.email"),
        ({**ALICE, "email": "a@b"}, "data.email"),
        ({**ALICE, "email": "a b@example.com"}, "data.email"),
        ({**ALICE, "email": "x" * 250 + "@example.com"}, "data.email"),
        ({**ALICE, "name": "   "}, "data.name"),
        ({**ALICE, "name": "n" * 201}, "data.name"),
        ({**ALICE, "name": "bad\x00name"}, "data.name"),
        ({**ALICE, "name": "\ud800"}, "data.name"),
        ({**ALICE, "age": -1}, "data.age"),
        ({**ALICE, "age": 151}, "data.age"),
        ({**ALICE, "age": "28"}, "data.age"),
        ({**ALICE, "age": 28.5}, "data.age"),
        ({**ALICE, "age": True}, "data.age"),
        ({**ALICE, "role": ""}, "data.role"),
        ({**ALICE, "role": "r" * 65}, "data.role"),
        ({**ALICE, "expiresInDays": 0}, "data.expiresInDays"),
        ({**ALICE, "expiresInDays": 3651}, "data.expiresInDays"),
        ({**ALICE, "version": 3}, "data.version"),
        ({**ALICE, "isAdmin": True}, "data.isAdmin"),
    ],
)
def test_create_validation_is_400_naming_the_field(
    service: UserService, moto_client: Any, table: str, data: dict[str, Any], field: str
) -> None:
    status, payload = call(service, {"action": "CREATE", "data": data})
    assert status == 400
    assert payload["field"] == field
    assert field.split(".")[-1] in payload["error"]
    assert scan_all(moto_client, table) == []


def test_create_without_data_is_400(service: UserService) -> None:
    assert call(service, {"action": "CREATE"}) == (
        400,
        {"error": "data is required", "field": "data"},
    )
    status, payload = call(service, {"action": "CREATE", "data": ["userId"]})
    assert (status, payload["field"]) == (400, "data")


# -- READ / FIND_BY_EMAIL -------------------------------------------------------------------------


def test_read_returns_the_user(service: UserService) -> None:
    created = create(service)
    assert call(service, {"action": "READ", "userId": "user-001"}) == (200, created)


def test_read_missing_user_is_404(service: UserService) -> None:
    status, payload = call(service, {"action": "READ", "userId": "nobody"})
    assert status == 404
    assert payload == {"error": "User not found: nobody", "field": "userId"}


def test_read_cannot_reach_a_uniqueness_row(service: UserService) -> None:
    create(service)
    status, payload = call(service, {"action": "READ", "userId": "EMAIL#alice@example.com"})
    assert (status, payload["field"]) == (400, "userId")


def test_find_by_email_uses_the_index_and_ignores_case(service: UserService) -> None:
    created = create(service)
    create(service, userId="user-002", email="bob@example.com", name="Bob")
    assert call(service, {"action": "FIND_BY_EMAIL", "email": "ALICE@example.com"}) == (
        200,
        created,
    )


def test_find_by_unknown_email_is_404_and_bad_email_is_400(service: UserService) -> None:
    assert call(service, {"action": "FIND_BY_EMAIL", "email": "ghost@example.com"})[0] == 404
    status, payload = call(service, {"action": "FIND_BY_EMAIL", "email": "ghost"})
    assert (status, payload["field"]) == (400, "email")
    status, payload = call(service, {"action": "FIND_BY_EMAIL"})
    assert (status, payload["field"]) == (400, "email")


# -- UPDATE --------------------------------------------------------------------------------------


def test_update_sets_reserved_word_attributes_and_bumps_version(
    service: UserService, clock: FakeClock
) -> None:
    create(service)
    clock.advance(60)
    status, payload = call(
        service,
        {"action": "UPDATE", "userId": "user-001",
         "updates": {"age": 29, "role": "senior-developer", "name": "Alice J."}},
    )  # fmt: skip
    assert status == 200
    assert payload["message"] == "User updated"
    user = payload["user"]
    assert (user["age"], user["role"], user["name"], user["version"]) == (
        29,
        "senior-developer",
        "Alice J.",
        2,
    )
    assert user["updatedAt"] == "2026-03-01T12:01:00.000+00:00"
    assert user["createdAt"] == "2026-03-01T12:00:00.000+00:00"
    assert call(service, {"action": "READ", "userId": "user-001"})[1] == user


def test_update_with_matching_version_succeeds_and_stale_version_is_409(
    service: UserService, moto_client: Any, table: str
) -> None:
    create(service)
    ok = {"action": "UPDATE", "userId": "user-001", "updates": {"age": 30}, "version": 1}
    assert call(service, ok)[0] == 200
    before = scan_all(moto_client, table)
    status, payload = call(service, ok)  # still says version 1; the user is at 2 now
    assert status == 409
    assert payload["field"] == "version"
    assert "version 2" in payload["error"]
    assert scan_all(moto_client, table) == before


def test_update_email_moves_the_uniqueness_row(
    service: UserService, moto_client: Any, table: str
) -> None:
    create(service)
    status, payload = call(
        service,
        {"action": "UPDATE", "userId": "user-001", "updates": {"email": "New@Example.com"}},
    )
    assert status == 200
    assert payload["user"]["email"] == "new@example.com"
    assert payload["user"]["version"] == 2
    keys = sorted(item["userId"]["S"] for item in scan_all(moto_client, table))
    assert keys == ["EMAIL#new@example.com", "user-001"]
    # the old email is free again
    create(service, userId="user-002", email="alice@example.com")
    assert (
        call(service, {"action": "FIND_BY_EMAIL", "email": "new@example.com"})[1]["userId"]
        == "user-001"
    )


def test_update_email_to_a_taken_one_is_409_and_changes_nothing(
    service: UserService, moto_client: Any, table: str
) -> None:
    create(service)
    create(service, userId="user-002", email="bob@example.com", name="Bob")
    before = scan_all(moto_client, table)
    status, payload = call(
        service,
        {"action": "UPDATE", "userId": "user-002", "updates": {"email": "alice@example.com"}},
    )
    assert (status, payload["field"]) == (409, "email")
    assert scan_all(moto_client, table) == before


def test_update_email_to_the_same_address_keeps_one_uniqueness_row(
    service: UserService, moto_client: Any, table: str
) -> None:
    create(service)
    status, payload = call(
        service,
        {"action": "UPDATE", "userId": "user-001",
         "updates": {"email": "alice@EXAMPLE.com", "age": 40}, "version": 1},
    )  # fmt: skip
    assert status == 200 and payload["user"]["age"] == 40
    keys = sorted(item["userId"]["S"] for item in scan_all(moto_client, table))
    assert keys == ["EMAIL#alice@example.com", "user-001"]


def test_update_email_with_stale_version_is_409(service: UserService) -> None:
    create(service)
    status, payload = call(
        service,
        {"action": "UPDATE", "userId": "user-001", "updates": {"email": "z@example.com"},
         "version": 7},
    )  # fmt: skip
    assert (status, payload["field"]) == (409, "version")


@pytest.mark.parametrize("updates", [{"age": 1}, {"email": "z@example.com"}])
def test_update_missing_user_is_404(service: UserService, updates: dict[str, Any]) -> None:
    status, payload = call(service, {"action": "UPDATE", "userId": "ghost", "updates": updates})
    assert (status, payload["field"]) == (404, "userId")


@pytest.mark.parametrize(
    ("updates", "field"),
    [
        ({"userId": "other"}, "updates.userId"),
        ({"version": 9}, "updates.version"),
        ({"createdAt": "x"}, "updates.createdAt"),
        ({"expiresAt": 1}, "updates.expiresAt"),
        ({"favouriteColour": "blue"}, "updates.favouriteColour"),
        ({}, "updates"),
        ({"age": 200}, "updates.age"),
        ({"email": "nope"}, "updates.email"),
        ("age=3", "updates"),
    ],
)
def test_update_refuses_key_managed_and_unknown_fields(
    service: UserService, moto_client: Any, table: str, updates: Any, field: str
) -> None:
    create(service)
    before = scan_all(moto_client, table)
    status, payload = call(service, {"action": "UPDATE", "userId": "user-001", "updates": updates})
    assert (status, payload["field"]) == (400, field)
    assert scan_all(moto_client, table) == before


def test_update_with_bad_version_is_400(service: UserService) -> None:
    create(service)
    event = {"action": "UPDATE", "userId": "user-001", "updates": {"age": 3}, "version": "1"}
    assert call(service, event)[1]["field"] == "version"


# -- DELETE --------------------------------------------------------------------------------------


def test_delete_removes_user_and_uniqueness_row(
    service: UserService, moto_client: Any, table: str
) -> None:
    create(service)
    assert call(service, {"action": "DELETE", "userId": "user-001"}) == (
        200,
        {"message": "User deleted", "userId": "user-001"},
    )
    assert scan_all(moto_client, table) == []
    assert call(service, {"action": "DELETE", "userId": "user-001"})[0] == 404


def test_delete_with_stale_version_is_409_and_keeps_the_user(
    service: UserService, moto_client: Any, table: str
) -> None:
    create(service)
    before = scan_all(moto_client, table)
    status, payload = call(service, {"action": "DELETE", "userId": "user-001", "version": 5})
    assert (status, payload["field"]) == (409, "version")
    assert scan_all(moto_client, table) == before
    assert call(service, {"action": "DELETE", "userId": "user-001", "version": 1})[0] == 200


# -- LIST ----------------------------------------------------------------------------------------


def test_list_pages_through_users_only(service: UserService) -> None:
    ids = [f"user-{n:03d}" for n in range(7)]
    for user_id in ids:
        create(service, userId=user_id, email=f"{user_id}@example.com")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        event: dict[str, Any] = {"action": "LIST", "limit": 3}
        if cursor is not None:
            event["cursor"] = cursor
        status, payload = call(service, event)
        assert status == 200
        assert payload["count"] == len(payload["users"]) <= 3
        seen.extend(user["userId"] for user in payload["users"])
        pages += 1
        cursor = payload["cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ids  # every user once; no EMAIL# rows
    assert pages in (3, 4)


def test_list_default_returns_everything_on_a_small_table(service: UserService) -> None:
    create(service)
    status, payload = call(service, {"action": "LIST"})
    assert status == 200
    assert [user["userId"] for user in payload["users"]] == ["user-001"]
    assert payload["cursor"] is None


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "10"}, "limit"),
        ({"cursor": "!!!not base64!!!"}, "cursor"),
        ({"cursor": "eyJpZCI6IngifQ"}, "cursor"),  # {"id":"x"}: not a Users key
        ({"cursor": 12}, "cursor"),
    ],
)
def test_list_bad_paging_is_400(service: UserService, event: dict[str, Any], field: str) -> None:
    status, payload = call(service, {"action": "LIST", **event})
    assert (status, payload["field"]) == (400, field)


# -- BATCH_CREATE / BATCH_GET --------------------------------------------------------------------


def batch_users(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"userId": f"batch-{n:02d}", "email": f"batch-{n:02d}@example.com", "name": f"B {n}"}
        for n in range(start, start + count)
    ]


def test_batch_create_then_batch_get(service: UserService, moto_client: Any, table: str) -> None:
    status, payload = call(service, {"action": "BATCH_CREATE", "users": batch_users(25)})
    assert status == 201
    assert payload["count"] == 25
    assert len(scan_all(moto_client, table)) == 50  # 25 users + 25 uniqueness rows
    ids = ["batch-03", "ghost", "batch-24"]
    status, payload = call(service, {"action": "BATCH_GET", "userIds": ids})
    assert status == 200
    assert [user["userId"] for user in payload["users"]] == ["batch-03", "batch-24"]
    assert payload["missing"] == ["ghost"]
    # the batch's emails are taken like any other
    status, _ = call(
        service, {"action": "CREATE", "data": {**ALICE, "email": "batch-07@example.com"}}
    )
    assert status == 409


def test_batch_create_refuses_taken_ids_and_emails_and_writes_nothing(
    service: UserService, moto_client: Any, table: str
) -> None:
    create(service, userId="batch-01", email="first@example.com")
    create(service, userId="someone", email="batch-02@example.com")
    before = scan_all(moto_client, table)
    status, payload = call(service, {"action": "BATCH_CREATE", "users": batch_users(3)})
    assert (status, payload["field"]) == (409, "userId")
    assert "batch-01" in payload["error"]
    status, payload = call(service, {"action": "BATCH_CREATE", "users": batch_users(3, start=2)})
    assert (status, payload["field"]) == (409, "email")
    assert "batch-02@example.com" in payload["error"]
    assert scan_all(moto_client, table) == before


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"action": "BATCH_CREATE", "users": []}, "users"),
        ({"action": "BATCH_CREATE", "users": batch_users(26)}, "users"),
        ({"action": "BATCH_CREATE", "users": batch_users(2) + batch_users(1)}, "users[2].userId"),
        (
            {
                "action": "BATCH_CREATE",
                "users": [
                    *batch_users(1),
                    {**batch_users(1, 5)[0], "email": "BATCH-00@example.com"},
                ],
            },
            "users[1].email",
        ),  # fmt: skip
        ({"action": "BATCH_CREATE", "users": [{"userId": "x"}]}, "users[0].email"),
        ({"action": "BATCH_GET", "userIds": []}, "userIds"),
        ({"action": "BATCH_GET", "userIds": ["a", "a"]}, "userIds"),
        ({"action": "BATCH_GET", "userIds": [f"u{n}" for n in range(101)]}, "userIds"),
        ({"action": "BATCH_GET", "userIds": ["ok", 3]}, "userIds[1]"),
        ({"action": "BATCH_GET", "userIds": "a,b"}, "userIds"),
    ],
)
def test_batch_validation_is_400(
    service: UserService, moto_client: Any, table: str, event: dict[str, Any], field: str
) -> None:
    status, payload = call(service, event)
    assert (status, payload["field"]) == (400, field)
    assert scan_all(moto_client, table) == []


def _stubbed_service(table: str) -> tuple[Any, UserService]:
    """A service over a client with no endpoint behind it, for `Stubber`."""
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    repository = UserRepository(client, table=table, email_index=EMAIL_INDEX, sleep=no_sleep)
    return client, UserService(repository)


def test_batch_create_is_one_transaction_of_conditional_puts(
    service: UserService, moto_client: Any, table: str
) -> None:
    """No read-then-write window: every row is a conditional put of one transaction."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent.append((model.name, params))

    moto_client.meta.events.register("provide-client-params.dynamodb.*", record)
    status, _ = call(service, {"action": "BATCH_CREATE", "users": batch_users(3)})
    assert status == 201
    assert [operation for operation, _ in sent] == ["TransactWriteItems"]
    items = sent[0][1]["TransactItems"]
    assert len(items) == 6
    keys = [item["Put"]["Item"]["userId"]["S"] for item in items]
    assert keys == [f"batch-{n:02d}" for n in range(3)] + [
        f"EMAIL#batch-{n:02d}@example.com" for n in range(3)
    ]
    for item in items:
        assert item["Put"]["TableName"] == table
        assert item["Put"]["ConditionExpression"].startswith("attribute_not_exists(#pk)")


def test_batch_create_names_every_taken_email(
    service: UserService, moto_client: Any, table: str
) -> None:
    create(service, userId="one", email="batch-01@example.com")
    create(service, userId="two", email="batch-03@example.com")
    before = scan_all(moto_client, table)
    status, payload = call(service, {"action": "BATCH_CREATE", "users": batch_users(5)})
    assert (status, payload["field"]) == (409, "email")
    assert "batch-01@example.com, batch-03@example.com" in payload["error"]
    assert scan_all(moto_client, table) == before


def test_batch_get_gives_503_when_keys_stay_unprocessed(table: str) -> None:
    client, service = _stubbed_service(table)
    keys = {table: {"Keys": [{"userId": {"S": "a"}}], "ConsistentRead": True}}
    with Stubber(client) as stub:
        for _ in range(8):
            stub.add_response("batch_get_item", {"Responses": {}, "UnprocessedKeys": keys})
        status, payload = call(service, {"action": "BATCH_GET", "userIds": ["a"]})
    assert status == 503
    assert "unprocessed" in payload["error"]


# -- dispatch and failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [None, [], "CREATE", 42, {"action": "DROP_TABLE"}, {"action": None}, {}, {"action": ["READ"]}],
)
def test_unknown_action_or_non_object_event_is_400(service: UserService, event: Any) -> None:
    status, payload = call(service, event)
    assert status == 400
    assert payload["field"] in ("event", "action")


def test_unknown_top_level_field_is_400(service: UserService) -> None:
    status, payload = call(service, {"action": "READ", "userId": "u", "force": True})
    assert (status, payload["field"]) == (400, "force")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ProvisionedThroughputExceededException", 503),
        ("ThrottlingException", 503),
        ("InternalServerError", 500),
        ("ResourceNotFoundException", 500),
    ],
)
def test_dynamodb_failures_become_5xx_without_details(
    table: str, code: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    client, service = _stubbed_service(table)
    with Stubber(client) as stub:
        stub.add_client_error("get_item", service_error_code=code, service_message="secret detail")
        response = handle({"action": "READ", "userId": "u1"}, service)
    assert response["statusCode"] == status
    payload = body(response)
    assert set(payload) == {"error"}
    assert "secret detail" not in response["body"] and "Traceback" not in response["body"]
    assert "secret detail" in caplog.text  # the operator still sees it in the log


def _cancelled(stub: Stubber, *codes: str) -> None:
    stub.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        service_message="Transaction cancelled, please refer cancellation reasons for specific "
        f"reasons [{', '.join(codes)}]",
        modeled_fields={"CancellationReasons": [{"Code": code} for code in codes]},
    )


def test_unexpected_transaction_cancellation_reason_is_500(table: str) -> None:
    client, service = _stubbed_service(table)
    with Stubber(client) as stub:
        _cancelled(stub, "ValidationError", "None")
        status, payload = call(service, {"action": "CREATE", "data": ALICE})
    assert (status, payload) == (500, {"error": "internal error"})


def test_a_throttled_transaction_is_503(table: str) -> None:
    client, service = _stubbed_service(table)
    with Stubber(client) as stub:
        _cancelled(stub, "None", "ThrottlingError")
        status, payload = call(service, {"action": "CREATE", "data": ALICE})
    assert (status, payload) == (503, {"error": "the database is busy; retry later"})


def test_a_huge_unknown_field_name_is_not_echoed_back(service: UserService) -> None:
    status, payload = call(service, {"action": "LIST", "x" * 100_000: 1})
    assert status == 400
    assert len(payload["field"]) == 64 and payload["field"].endswith("...")


def test_transaction_conflicts_are_retried_then_409(table: str) -> None:
    client, service = _stubbed_service(table)
    with Stubber(client) as stub:
        for _ in range(5):  # the repository's max_attempts
            _cancelled(stub, "TransactionConflict", "None")
        status, payload = call(service, {"action": "CREATE", "data": ALICE})
        stub.assert_no_pending_responses()
    assert status == 409
    assert "concurrent" in payload["error"]


def test_a_conflict_that_resolves_on_retry_succeeds(table: str) -> None:
    client, service = _stubbed_service(table)
    with Stubber(client) as stub:
        _cancelled(stub, "None", "TransactionConflict")
        stub.add_response("transact_write_items", {})
        status, _ = call(service, {"action": "CREATE", "data": ALICE})
        stub.assert_no_pending_responses()
    assert status == 201
