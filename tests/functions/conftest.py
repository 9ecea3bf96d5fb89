"""Fixtures for the Lambda function tests: moto tables, fake credentials, a clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from scripts.schema import create_table_request
from scripts.target import new_session
from stacks.config import StageConfig, stage_config
from tests.functions.helpers import REGION, FakeClock


@pytest.fixture
def local_stage() -> StageConfig:
    """The `local` stage: the physical table names and indexes the stacks deploy."""
    return stage_config("local")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; no endpoint override leaking in from the shell."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def moto_client(aws_env: None, local_stage: StageConfig) -> Iterator[Any]:
    """A DynamoDB client inside `mock_aws` with the local stage's tables created.

    Its session shares the process's model loader (`new_session`): `mock_aws` drops boto3's
    default session on every start, whose next client would parse botocore's models again.
    """
    with mock_aws():
        client = new_session().client("dynamodb", region_name=REGION)
        for spec in local_stage.tables:
            client.create_table(**create_table_request(spec))
        yield client


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at 2026-03-01T12:00:00Z."""
    return FakeClock()
