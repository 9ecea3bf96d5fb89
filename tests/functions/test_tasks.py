"""tasks under moto: the tutorial's TaskDB actions, its validation and its 30-second cache."""

from __future__ import annotations

from typing import Any

import pytest
from common.dynamo import dynamodb_client
from tasks import clients
from tasks.cache import TtlCache
from tasks.handler import handle
from tasks.repository import TaskRepository
from tasks.service import TaskService

from stacks.config import StageConfig
from tests.functions.helpers import FakeClock, body, scan_all


class Ticker:
    """A settable monotonic clock for the cache."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table(local_stage: StageConfig) -> str:
    return local_stage.table("tasks").table_name


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def service(moto_client: Any, table: str, ticker: Ticker, clock: FakeClock) -> TaskService:
    return TaskService(TaskRepository(moto_client, table), cache=TtlCache(30, clock=ticker),
                       clock=clock)  # fmt: skip


def call(service: TaskService, event: Any) -> tuple[int, Any]:
    response = handle(event, service)
    assert set(response) == {"statusCode", "body"}
    return response["statusCode"], body(response)


def add(service: TaskService, task_id: str, name: str = "write tests") -> None:
    assert call(service, {"action": "add_task", "data": {"id": task_id, "name": name}})[0] == 201


def test_add_then_get(service: TaskService) -> None:
    status, payload = call(service, {"action": "add_task", "data": {"id": "t1", "name": "Buy"}})
    assert status == 201
    assert payload == {
        "message": "Task added",
        "task": {"id": "t1", "name": "Buy", "created_at": "2026-03-01T12:00:00.000+00:00"},
    }
    assert call(service, {"action": "get_task", "id": "t1"}) == (200, {"task": payload["task"]})


def test_add_existing_id_is_409_and_keeps_the_first(
    service: TaskService, moto_client: Any, table: str
) -> None:
    add(service, "t1", "first")
    before = scan_all(moto_client, table)
    status, payload = call(service, {"action": "add_task", "data": {"id": "t1", "name": "2nd"}})
    assert (status, payload["field"]) == (409, "data.id")
    assert scan_all(moto_client, table) == before


def test_get_missing_task_is_404(service: TaskService) -> None:
    assert call(service, {"action": "get_task", "id": "nope"}) == (
        404,
        {"error": "Task not found: nope", "field": "id"},
    )


def test_list_tasks_pages(service: TaskService) -> None:
    for n in range(5):
        add(service, f"t{n}")
    seen: list[str] = []
    cursor = None
    while True:
        event: dict[str, Any] = {"action": "list_tasks", "limit": 2}
        if cursor:
            event["cursor"] = cursor
        status, payload = call(service, event)
        assert status == 200 and payload["count"] == len(payload["tasks"]) <= 2
        seen += [task["id"] for task in payload["tasks"]]
        cursor = payload["cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"t{n}" for n in range(5)]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"action": "add_task"}, "data"),
        ({"action": "add_task", "data": {"name": "x"}}, "data.id"),
        ({"action": "add_task", "data": {"id": "x"}}, "data.name"),
        ({"action": "add_task", "data": {"id": 1, "name": "x"}}, "data.id"),
        ({"action": "add_task", "data": {"id": "x", "name": ["x"]}}, "data.name"),
        ({"action": "add_task", "data": {"id": "", "name": "x"}}, "data.id"),
        ({"action": "add_task", "data": {"id": "x" * 257, "name": "x"}}, "data.id"),
        ({"action": "add_task", "data": {"id": "x", "name": "x", "done": True}}, "data.done"),
        ({"action": "add_task", "data": "id=x"}, "data"),
        ({"action": "get_task"}, "id"),
        ({"action": "get_task", "id": 5}, "id"),
        ({"action": "list_tasks", "limit": 0}, "limit"),
        ({"action": "list_tasks", "cursor": "%%%"}, "cursor"),
        ({"action": "list_tasks", "cursor": "eyJ1c2VySWQiOiJ4In0"}, "cursor"),  # a Users key
        ({"action": "delete_task", "id": "x"}, "action"),
        ({"action": "get_task", "id": "x", "extra": 1}, "extra"),
        ({"id": "x"}, "action"),
        ("get_task", "event"),
    ],
)
def test_bad_events_are_400_and_change_nothing(
    service: TaskService, moto_client: Any, table: str, event: Any, field: str
) -> None:
    status, payload = call(service, event)
    assert (status, payload["field"]) == (400, field)
    assert scan_all(moto_client, table) == []


# -- the 30-second cache -------------------------------------------------------------------------


def write_behind_our_back(client: Any, table: str, task_id: str, name: str) -> None:
    """Another container (or a script) writes the table directly."""
    client.put_item(TableName=table, Item={"id": {"S": task_id}, "name": {"S": name}})


def test_reads_are_cached_for_30_seconds(
    service: TaskService, moto_client: Any, table: str, ticker: Ticker
) -> None:
    add(service, "t1", "original")
    assert call(service, {"action": "get_task", "id": "t1"})[1]["task"]["name"] == "original"
    listed = call(service, {"action": "list_tasks"})[1]
    write_behind_our_back(moto_client, table, "t1", "changed elsewhere")
    write_behind_our_back(moto_client, table, "t2", "new elsewhere")
    ticker.now += 29.9
    assert call(service, {"action": "get_task", "id": "t1"})[1]["task"]["name"] == "original"
    assert call(service, {"action": "list_tasks"})[1] == listed
    ticker.now += 0.1
    assert call(service, {"action": "get_task", "id": "t1"})[1]["task"]["name"] == (
        "changed elsewhere"
    )
    assert call(service, {"action": "list_tasks"})[1]["count"] == 2


def test_own_writes_invalidate_the_cache(service: TaskService) -> None:
    add(service, "t1")
    assert call(service, {"action": "list_tasks"})[1]["count"] == 1
    add(service, "t2")
    assert call(service, {"action": "list_tasks"})[1]["count"] == 2  # not the cached page


def test_a_missing_task_is_not_cached(service: TaskService, moto_client: Any, table: str) -> None:
    assert call(service, {"action": "get_task", "id": "t9"})[0] == 404
    write_behind_our_back(moto_client, table, "t9", "appeared")
    assert call(service, {"action": "get_task", "id": "t9"})[0] == 200


def test_cache_returns_copies_and_evicts_the_oldest() -> None:
    ticker = Ticker()
    cache = TtlCache(30, max_entries=2, clock=ticker)
    value: dict[str, Any] = {"id": "t1", "tags": ["a"]}
    cache.put("a", value)
    value["tags"].append("mutated")
    got = cache.get("a")
    assert got == {"id": "t1", "tags": ["a"]}
    got["tags"].append("mutated again")
    assert cache.get("a") == {"id": "t1", "tags": ["a"]}
    cache.put("b", 2)
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (None, 2, 3, 2)
    ticker.now += 30
    assert cache.get("b") is None and len(cache) == 1


# -- DAX or DynamoDB: the one function that chooses ----------------------------------------------


def test_without_dax_the_plain_dynamodb_client_serves(aws_env: None) -> None:
    dynamodb_client.cache_clear()
    client = clients.data_client(None)
    assert client is dynamodb_client()  # one client per container
    assert client.meta.service_model.service_name == "dynamodb"


def test_with_dax_the_dax_client_is_built_on_the_endpoint(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import amazondax

    built: list[dict[str, Any]] = []

    class RecordingDaxClient:
        def __init__(self, **kwargs: Any) -> None:
            built.append(kwargs)

    monkeypatch.setattr(amazondax, "AmazonDaxClient", RecordingDaxClient)
    endpoint = "daxs://tasks-cache.abc123.dax-clusters.us-east-1.amazonaws.com"
    client = clients.data_client(endpoint)
    assert isinstance(client, RecordingDaxClient)
    assert built[0]["endpoint_url"] == endpoint


def test_with_dax_a_real_dax_client_tries_the_cluster(aws_env: None) -> None:
    """No DAX here: the real client fails to discover the (closed) endpoint, as a ClientError."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as raised:
        clients.data_client("daxs://127.0.0.1:1")
    assert raised.value.response["Error"]["Code"] == "NoRouteException"


def test_with_dax_but_no_dax_client_in_the_bundle_the_error_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from common.env import EnvironmentConfigError

    monkeypatch.setitem(sys.modules, "amazondax", None)  # makes `import amazondax` fail
    with pytest.raises(EnvironmentConfigError, match="DAX client is not in the function's bundle"):
        clients.data_client("daxs://tasks-cache.abc123.dax-clusters.us-east-1.amazonaws.com")
