"""DynamoDB test backends: moto's server, AWS's DynamoDB Local and our local cloud.

Register with `pytest_plugins = ["tests.support.backends"]` (the root `tests/conftest.py`
already does). Each server starts once per session (per xdist worker) on a free port and
only when a test asks for it. Use them like this::

    from tests.support.backends import dynamodb_client

    def test_put_then_get(stage_tables, ddb_endpoint):        # runs twice: moto, DynamoDB Local
        client = dynamodb_client(ddb_endpoint)
        table = stage_tables.table("tasks").table_name        # physical names from stacks.config
        client.put_item(TableName=table, Item={"id": {"S": "1"}})
        ...

- `ddb_endpoint` (params `moto`, `dynamodb_local`): an endpoint URL with **no tables**;
  every table is dropped before and after the test. Fake credentials and region are set in
  the environment (`AWS_ACCESS_KEY_ID`, `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL` is
  removed, so code under test gets the endpoint only from you.
- `ddb_backend`: `"moto"`, `"dynamodb_local"` or `"local_cloud"` for the current
  parametrization, to record a difference between them (DynamoDB Local is the reference).
- `local_cloud`: a third backend, our local cloud (`tests/support/local_cloud.py`; its
  DynamoDB is its own DynamoDB Local behind the front door), with the same empty-tables
  contract. It is not in the default params (the suite runs twice, not three times): a
  test opts in with `@pytest.mark.parametrize("ddb_endpoint", ALL_BACKENDS, indirect=True)`
  (`@with_local_cloud` is that decorator), as the `test_difference_*` tests do.
- `stage_tables`: the `local` stage's tables (Tasks, Users, cruddur-messages with their
  indexes and stream) created on `ddb_endpoint`; yields the `StageConfig`.
- `create_stage_tables(endpoint, ...)`, `drop_all_tables(endpoint)`, `dynamodb_client(...)`,
  `dynamodb_resource(...)`: the same, as plain functions (for threads, subprocesses, benches).

A client shared by a many-thread test (the 50-thread concurrency test) should be given a
`max_pool_connections` at least the thread count: `dynamodb_client(url, max_pool=64)`.
Tests that use `ddb_endpoint` are marked `integration` automatically.
If DynamoDB Local cannot be installed or started, its tests **error** with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from localcloud.engine import REPO_ROOT, Engine
from scripts.schema import create_table_request
from stacks.config import StageConfig, stage_config

REGION = "us-east-1"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
BACKENDS = ("moto", "dynamodb_local")
ALL_BACKENDS = (*BACKENDS, "local_cloud")


def dynamodb_client(endpoint: str, *, max_pool: int = 10, region: str = REGION) -> Any:
    """A low-level DynamoDB client on `endpoint` with fake credentials."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        config=Config(max_pool_connections=max_pool, retries={"max_attempts": 3}),
        **FAKE_CREDENTIALS,
    )


def dynamodb_resource(endpoint: str, *, max_pool: int = 10, region: str = REGION) -> Any:
    """A DynamoDB service resource on `endpoint` with fake credentials."""
    return boto3.resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        config=Config(max_pool_connections=max_pool, retries={"max_attempts": 3}),
        **FAKE_CREDENTIALS,
    )


def _wait_active(client: Any, name: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
            return
        time.sleep(0.05)
    raise TimeoutError(f"table {name} is not ACTIVE after {timeout_s} s")


def create_stage_tables(
    endpoint: str, stage: str = "local", keys: Iterable[str] | None = None
) -> StageConfig:
    """Create the tables of `stage` (or only those with logical `keys`) on `endpoint`."""
    config = stage_config(stage)
    wanted = set(keys) if keys is not None else {spec.key for spec in config.tables}
    client = dynamodb_client(endpoint, region=config.region)
    for spec in config.tables:
        if spec.key in wanted:
            client.create_table(**create_table_request(spec))
            _wait_active(client, spec.table_name)
    return config


def drop_all_tables(endpoint: str) -> None:
    """Delete every table on `endpoint` (all pages of `ListTables`)."""
    client = dynamodb_client(endpoint)
    names: list[str] = []
    for page in client.get_paginator("list_tables").paginate():
        names.extend(page["TableNames"])
    for name in names:
        client.delete_table(TableName=name)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server in a thread on a free port, for the whole session (moto as it is:
    the local cloud serves DynamoDB from DynamoDB Local, not from moto)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dynamodb_local_endpoint() -> Iterator[str]:
    """AWS's DynamoDB Local (in memory) on a free port, for the whole session."""
    log_dir = REPO_ROOT / ".cache" / "dynamodb-local"
    log_dir.mkdir(parents=True, exist_ok=True)
    with Engine(log_path=log_dir / "server.log") as engine:
        yield engine.endpoint


@pytest.fixture(scope="session")
def local_cloud_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Our local cloud (moto + the front door to its own DynamoDB Local) on a free port, for
    the whole session, in a scratch state directory."""
    from tests.support.local_cloud import LocalCloud

    with LocalCloud(tmp_path_factory.mktemp("local-cloud-backend")) as cloud:
        yield cloud.endpoint


# `ddb_endpoint` on all three backends: moto, DynamoDB Local and the local cloud.
with_local_cloud = pytest.mark.parametrize("ddb_endpoint", ALL_BACKENDS, indirect=True)


@pytest.fixture(params=BACKENDS)
def ddb_endpoint(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An endpoint URL of an empty DynamoDB: moto, then DynamoDB Local (then the local cloud
    under `@with_local_cloud`)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    endpoint: str = request.getfixturevalue(f"{request.param}_endpoint")
    drop_all_tables(endpoint)
    yield endpoint
    drop_all_tables(endpoint)


@pytest.fixture
def ddb_backend(request: pytest.FixtureRequest, ddb_endpoint: str) -> str:
    """Which backend `ddb_endpoint` is in this test: `moto`, `dynamodb_local` or
    `local_cloud`."""
    backend: str = request.node.callspec.params["ddb_endpoint"]
    return backend


@pytest.fixture
def stage_tables(ddb_endpoint: str) -> StageConfig:
    """The `local` stage's tables on `ddb_endpoint`; dropped by `ddb_endpoint` afterwards."""
    return create_stage_tables(ddb_endpoint)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a DynamoDB backend as `integration`."""
    for item in items:
        if "ddb_endpoint" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
