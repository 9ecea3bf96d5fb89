"""Fuzzing every handler with malformed events (hypothesis, 1,000 examples each).

Each event is malformed by construction: junk that is not an event, an unknown action, an
unknown field, or one field of a valid event made invalid (wrong type, out of range, too
long, missing). For every one: no exception escapes, the response is a well-formed error,
and the table is exactly as before.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import message_stream.handler as message_stream_handler
import pytest
import tasks.handler as tasks_handler
import user_manager.handler as user_manager_handler
from common.dynamo import serialize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from message_stream.repository import MessageRepository
from message_stream.service import MessageStreamService
from tasks.repository import TaskRepository
from tasks.service import TaskService
from user_manager.repository import UserRepository
from user_manager.service import UserService

from datamodel.tables import EMAIL_INDEX, MESSAGE_GROUP_INDEX
from stacks.config import StageConfig
from tests.functions.helpers import no_sleep, scan_all

# `make test-fast` runs a tenth of the corpus (FUZZ_EXAMPLES=100); `make test` all of it.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES") or 1000),
    deadline=None,
    database=None,
    derandomize=True,  # the same corpus on every run and in CI
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
not_none = json_values.filter(lambda value: value is not None)
not_string = not_none.filter(lambda value: not isinstance(value, str))
not_int = not_none.filter(lambda value: isinstance(value, bool) or not isinstance(value, int))
not_object = not_none.filter(lambda value: not isinstance(value, dict))
not_list = not_none.filter(lambda value: not isinstance(value, list))
broken_text = st.sampled_from(["", "   ", "a\x00b", "tab\tinside", "\ud800", "x\udfff"])


def corrupt_field(
    draw: st.DrawFn,
    document: dict[str, Any],
    path: tuple[str, ...],
    required: bool,
    bad: st.SearchStrategy[Any],
) -> None:
    """Break the field at `path`: drop it (when required, sometimes) or give it a bad value."""
    target = document
    for step in path[:-1]:
        target = target[step]
    if required and draw(st.booleans()):
        del target[path[-1]]
    else:
        target[path[-1]] = draw(bad)


def too_long(limit: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="abc", min_size=limit + 1, max_size=limit + 40)


bad_user_id = not_string | broken_text | too_long(128) | st.sampled_from(["EMAIL#x", "a b", "#"])
bad_email = (
    not_string
    | broken_text
    | st.text(max_size=30).filter(lambda text: "@" not in text)
    | st.sampled_from(["a@b", "@x.io", "a@@x.io", "a b@x.io"])
)
bad_name = not_string | broken_text | too_long(200)
bad_age = not_int | st.integers(max_value=-1) | st.integers(min_value=151)
bad_role = not_string | broken_text | too_long(64) | st.sampled_from(["1dev", "-x", "dev!"])
bad_days = not_int | st.integers(max_value=0) | st.integers(min_value=3651)
bad_version = not_int | st.integers(max_value=-1) | st.integers(min_value=2**53 + 1)
bad_limit = not_int | st.integers(max_value=0) | st.integers(min_value=101)
bad_cursor = not_string | st.text(max_size=40)
bad_updates = (
    not_object
    | st.just({})
    | st.sampled_from([{"userId": "x"}, {"version": 2}, {"createdAt": "x"}, {"colour": 1}])
)
bad_users: st.SearchStrategy[Any] = (
    not_list | st.just([]) | st.lists(not_object, min_size=1, max_size=3)
)
bad_ids: st.SearchStrategy[Any] = (
    not_list | st.just([]) | st.lists(not_string, min_size=1, max_size=3) | st.just(["a", "a"])
)


def _fuzz_events(
    templates: dict[str, dict[str, Any]],
    fields: dict[str, list[tuple[tuple[Any, ...], bool, st.SearchStrategy[Any]]]],
) -> st.SearchStrategy[Any]:
    """Malformed events derived from one valid template per action."""

    def is_action(value: object) -> bool:
        return isinstance(value, str) and value in templates

    @st.composite
    def events(draw: st.DrawFn) -> Any:
        kind = draw(st.sampled_from(["junk", "action", "unknown", "field", "field", "field"]))
        if kind == "junk":
            return draw(
                json_values.filter(
                    lambda value: not isinstance(value, dict) or not is_action(value.get("action"))
                )
            )
        action = draw(st.sampled_from(sorted(templates)))
        event = copy.deepcopy(templates[action])
        if kind == "action":
            event["action"] = draw(json_values.filter(lambda value: not is_action(value)))
            return event
        if kind == "unknown":
            key = draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in event))
            event[key] = draw(json_values)
            return event
        corrupt_field(draw, event, *draw(st.sampled_from(fields[action])))
        return event

    return events()


def assert_error(response: Any) -> None:
    assert isinstance(response, dict) and set(response) == {"statusCode", "body"}
    assert response["statusCode"] == 400, response
    payload = json.loads(response["body"])
    assert isinstance(payload["error"], str) and payload["error"]
    assert set(payload) <= {"error", "field"}
    assert isinstance(payload.get("field", ""), str)


# -- user-manager ----------------------------------------------------------------------------------

NEW_USER = {"userId": "fuzz-1", "email": "fuzz@example.com", "name": "F", "age": 30, "role": "dev"}
USER_TEMPLATES: dict[str, dict[str, Any]] = {
    "CREATE": {"action": "CREATE", "data": dict(NEW_USER, expiresInDays=3)},
    "READ": {"action": "READ", "userId": "seed-0"},
    "UPDATE": {"action": "UPDATE", "userId": "seed-0", "updates": {"age": 31}, "version": 1},
    "DELETE": {"action": "DELETE", "userId": "seed-0", "version": 1},
    "LIST": {"action": "LIST", "limit": 5, "cursor": None},
    "FIND_BY_EMAIL": {"action": "FIND_BY_EMAIL", "email": "seed-0@example.com"},
    "BATCH_CREATE": {"action": "BATCH_CREATE", "users": [NEW_USER]},
    "BATCH_GET": {"action": "BATCH_GET", "userIds": ["seed-0", "seed-1"]},
}
USER_FIELDS: dict[str, list[tuple[tuple[Any, ...], bool, st.SearchStrategy[Any]]]] = {
    "CREATE": [
        (("data",), True, not_object),
        (("data", "userId"), True, bad_user_id),
        (("data", "email"), True, bad_email),
        (("data", "name"), True, bad_name),
        (("data", "age"), False, bad_age),
        (("data", "role"), False, bad_role),
        (("data", "expiresInDays"), False, bad_days),
    ],
    "READ": [(("userId",), True, bad_user_id)],
    "UPDATE": [
        (("userId",), True, bad_user_id),
        (("updates",), True, bad_updates),
        (("updates", "age"), False, bad_age),
        (("version",), False, bad_version),
    ],
    "DELETE": [(("userId",), True, bad_user_id), (("version",), False, bad_version)],
    "LIST": [(("limit",), False, bad_limit), (("cursor",), False, bad_cursor)],
    "FIND_BY_EMAIL": [(("email",), True, bad_email)],
    "BATCH_CREATE": [
        (("users",), True, bad_users),
        (("users", 0, "userId"), True, bad_user_id),
        (("users", 0, "email"), True, bad_email),
        (("users", 0, "age"), False, bad_age),
    ],
    "BATCH_GET": [(("userIds",), True, bad_ids), (("userIds", 1), False, bad_user_id)],
}


@pytest.fixture
def user_service(moto_client: Any, local_stage: StageConfig) -> UserService:
    table = local_stage.table("users").table_name
    service = UserService(
        UserRepository(moto_client, table=table, email_index=EMAIL_INDEX, sleep=no_sleep)
    )
    for n in range(3):
        event = {"action": "CREATE", "data": {"userId": f"seed-{n}",
                 "email": f"seed-{n}@example.com", "name": f"Seed {n}"}}  # fmt: skip
        assert user_manager_handler.handle(event, service)["statusCode"] == 201
    return service


def test_templates_are_valid_events(user_service: UserService) -> None:
    """Guard: unmutated, each template is accepted, so each mutation is what breaks it."""
    for action in ("READ", "LIST", "FIND_BY_EMAIL", "BATCH_GET", "UPDATE"):
        response = user_manager_handler.handle(copy.deepcopy(USER_TEMPLATES[action]), user_service)
        assert response["statusCode"] == 200, (action, response)


@FUZZ
@given(event=_fuzz_events(USER_TEMPLATES, USER_FIELDS))
def test_user_manager_survives_malformed_events(user_service: UserService, event: Any) -> None:
    repository = user_service.repository
    before = scan_all(repository.client, repository.table)
    assert_error(user_manager_handler.handle(event, user_service))
    assert scan_all(repository.client, repository.table) == before


# -- tasks -----------------------------------------------------------------------------------------

TASK_TEMPLATES: dict[str, dict[str, Any]] = {
    "add_task": {"action": "add_task", "data": {"id": "fuzz", "name": "Fuzz"}},
    "get_task": {"action": "get_task", "id": "seed"},
    "list_tasks": {"action": "list_tasks", "limit": 5, "cursor": None},
}
TASK_FIELDS: dict[str, list[tuple[tuple[Any, ...], bool, st.SearchStrategy[Any]]]] = {
    "add_task": [
        (("data",), True, not_object),
        (("data", "id"), True, not_string | broken_text | too_long(256)),
        (("data", "name"), True, not_string | broken_text | too_long(1024)),
    ],
    "get_task": [(("id",), True, not_string | broken_text | too_long(256))],
    "list_tasks": [(("limit",), False, bad_limit), (("cursor",), False, bad_cursor)],
}


@pytest.fixture
def task_service(moto_client: Any, local_stage: StageConfig) -> TaskService:
    service = TaskService(TaskRepository(moto_client, local_stage.table("tasks").table_name))
    event = {"action": "add_task", "data": {"id": "seed", "name": "Seed"}}
    assert tasks_handler.handle(event, service)["statusCode"] == 201
    return service


@FUZZ
@given(event=_fuzz_events(TASK_TEMPLATES, TASK_FIELDS))
def test_tasks_survives_malformed_events(task_service: TaskService, event: Any) -> None:
    repository = task_service.repository
    before = scan_all(repository.client, repository.table)
    assert_error(tasks_handler.handle(event, task_service))
    assert scan_all(repository.client, repository.table) == before


# -- message-stream --------------------------------------------------------------------------------

GOOD_RECORD: dict[str, Any] = {
    "eventID": "e1",
    "eventName": "INSERT",
    "eventVersion": "1.1",
    "eventSource": "aws:dynamodb",
    "awsRegion": "us-east-1",
    "dynamodb": {
        "Keys": {"pk": {"S": "MSG#g1"}, "sk": {"S": "2026-03-01T12:00:00+00:00"}},
        "NewImage": {
            "pk": {"S": "MSG#g1"},
            "sk": {"S": "2026-03-01T12:00:00+00:00"},
            "message": {"S": "hello"},
        },  # fmt: skip
        "SequenceNumber": "111",
        "StreamViewType": "NEW_IMAGE",
    },
}
not_string_attribute = not_none.filter(
    lambda value: (
        not (isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str))
    )
)
RECORD_FIELDS: list[tuple[tuple[Any, ...], bool, st.SearchStrategy[Any]]] = [
    (("eventName",), True, json_values.filter(lambda value: value != "INSERT")),
    (("dynamodb",), True, not_object),
    (("dynamodb", "Keys"), True, not_object),
    (("dynamodb", "Keys", "pk"), True, not_string_attribute),
    (("dynamodb", "Keys", "pk", "S"), True, st.text(max_size=10).filter(lambda t: t[:4] != "MSG#")),
    (("dynamodb", "Keys", "sk"), True, not_string_attribute),
    (("dynamodb", "NewImage"), True, not_object),
    (("dynamodb", "NewImage", "message"), True, not_string_attribute),
    (("dynamodb", "SequenceNumber"), True, not_string | st.just("")),
]


@st.composite
def stream_events(draw: st.DrawFn) -> Any:
    """Junk, or a batch of records each made unusable by one mutation."""
    if draw(st.integers(0, 4)) == 0:
        return draw(
            json_values.filter(lambda value: not (isinstance(value, dict) and "Records" in value))
        )
    records: list[Any] = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 5)) == 0:
            records.append(draw(not_object))
            continue
        record = copy.deepcopy(GOOD_RECORD)
        corrupt_field(draw, record, *draw(st.sampled_from(RECORD_FIELDS)))
        records.append(record)
    return {"Records": records}


@pytest.fixture
def stream_service(moto_client: Any, local_stage: StageConfig) -> MessageStreamService:
    table = local_stage.table("messages").table_name
    row = {"pk": "GRP#u1", "sk": "2026-01-01", "message_group_uuid": "g1", "message": "old"}
    moto_client.put_item(TableName=table, Item=serialize(row))
    repository = MessageRepository(
        moto_client, table=table, group_index=MESSAGE_GROUP_INDEX, sleep=no_sleep
    )
    return MessageStreamService(repository)


def test_the_good_record_would_move_the_group(stream_service: MessageStreamService) -> None:
    """Guard: unmutated, the base record does change the table."""
    repository = stream_service.repository
    before = scan_all(repository.client, repository.table)
    result = message_stream_handler.handle(
        {"Records": [copy.deepcopy(GOOD_RECORD)]}, stream_service
    )
    assert result == {"batchItemFailures": []}
    assert scan_all(repository.client, repository.table) != before


@FUZZ
@given(event=stream_events())
def test_message_stream_survives_malformed_events(
    stream_service: MessageStreamService, event: Any
) -> None:
    repository = stream_service.repository
    before = scan_all(repository.client, repository.table)
    assert message_stream_handler.handle(event, stream_service) == {"batchItemFailures": []}
    assert scan_all(repository.client, repository.table) == before
