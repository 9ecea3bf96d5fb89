"""`list-tables`, `describe`, `create-tables` and `drop`, against moto and DynamoDB Local;
`drop` in prod needs confirmation (exercised on moto, which also serves STS for the account).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from scripts import cli
from scripts.cli import main
from scripts.errors import ConfirmationRequired, DeletionProtected, TableNotFound, UsageError
from scripts.tables import create_stage_tables, describe_table, drop_table, list_tables
from scripts.target import Target, resolve_target
from stacks.config import StageConfig, stage_config
from tests.support.backends import drop_all_tables, dynamodb_client


def test_list_tables_shows_every_table(
    stage_tables: StageConfig, ddb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--endpoint", ddb_endpoint, "list-tables", "--json"]) == 0
    assert sorted(json.loads(capsys.readouterr().out)) == ["Tasks", "Users", "cruddur-messages"]
    assert main(["--endpoint", ddb_endpoint, "list-tables"]) == 0
    out = capsys.readouterr().out
    assert "cruddur-messages" in out and "messages" in out


def test_describe_reports_keys_indexes_stream_count_and_billing(
    stage_tables: StageConfig, ddb_endpoint: str
) -> None:
    assert main(["--endpoint", ddb_endpoint, "seed", "messages", "--count", "8"]) == 0
    info = describe_table(resolve_target("local", ddb_endpoint), "messages")
    assert info.name == "cruddur-messages"
    assert [(k.name, k.type, k.role) for k in info.keys] == [
        ("pk", "S", "HASH"),
        ("sk", "S", "RANGE"),
    ]
    assert {(i.name, i.kind) for i in info.indexes} == {
        ("message-group-sk-index", "GSI"),
        ("created-at-index", "LSI"),
    }
    assert info.stream == "NEW_IMAGE"
    assert info.billing == "PROVISIONED"
    assert (info.read_capacity, info.write_capacity) == (5, 5)
    assert info.item_count == 8
    assert info.deletion_protection is False


def test_describe_json_and_exact_count(
    stage_tables: StageConfig, ddb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--endpoint", ddb_endpoint, "seed", "users", "--count", "4"]) == 0
    capsys.readouterr()
    assert main(["--endpoint", ddb_endpoint, "describe", "Users", "--exact-count", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["exact_item_count"] == 8  # 4 users and their EMAIL# uniqueness rows
    assert data["indexes"][0]["name"] == "EmailIndex"
    assert main(["--endpoint", ddb_endpoint, "describe", "users"]) == 0
    assert "EmailIndex" in capsys.readouterr().out


def test_describe_unknown_table_is_one_line(
    ddb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--endpoint", ddb_endpoint, "describe", "Nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: table Nope does not exist")
    assert len(err.strip().splitlines()) == 1


def test_create_tables_creates_only_the_missing_ones(ddb_endpoint: str) -> None:
    target = resolve_target("local", ddb_endpoint)
    assert create_stage_tables(target, ["tasks"]) == ["Tasks"]
    assert create_stage_tables(target) == ["Users", "cruddur-messages"]
    assert create_stage_tables(target) == []
    with pytest.raises(UsageError, match="unknown table"):
        create_stage_tables(target, ["nope"])


def test_drop_deletes_a_local_table(stage_tables: StageConfig, ddb_endpoint: str) -> None:
    assert main(["--endpoint", ddb_endpoint, "drop", "tasks"]) == 0
    assert sorted(list_tables(resolve_target("local", ddb_endpoint))) == [
        "Users",
        "cruddur-messages",
    ]
    with pytest.raises(TableNotFound):
        drop_table(resolve_target("local", ddb_endpoint), "tasks")


def test_drop_refuses_deletion_protected_tables(ddb_endpoint: str) -> None:
    client = dynamodb_client(ddb_endpoint)
    client.create_table(
        TableName="Guarded",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=True,
    )
    with pytest.raises(DeletionProtected, match="deletion protection"):
        drop_table(resolve_target("local", ddb_endpoint), "Guarded")
    assert "Guarded" in client.list_tables()["TableNames"]
    client.update_table(TableName="Guarded", DeletionProtectionEnabled=False)


def _prod_on(endpoint: str) -> Target:
    # The CLI never lets prod use an endpoint; tests point the prod stage at moto directly.
    return Target(stage_config("prod"), endpoint)


def _create_prod_tasks(endpoint: str) -> None:
    client = dynamodb_client(endpoint)
    client.create_table(
        TableName="Tasks-prod",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def prod_on_moto(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto, emptied, standing in for prod (the prod path needs STS, which moto serves)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    drop_all_tables(moto_endpoint)
    _create_prod_tasks(moto_endpoint)
    yield moto_endpoint
    drop_all_tables(moto_endpoint)


def test_prod_drop_announces_account_region_and_table_then_needs_the_typed_name(
    prod_on_moto: str,
) -> None:
    target = _prod_on(prod_on_moto)
    announced: list[tuple[str, str, str]] = []

    def announce(account: str, region: str, table: str) -> None:
        announced.append((account, region, table))

    with pytest.raises(ConfirmationRequired, match="did not match"):
        drop_table(target, "tasks", announce=announce, confirm=lambda _t: "Tasks")
    assert announced == [("123456789012", "us-east-1", "Tasks-prod")]
    assert "Tasks-prod" in list_tables(target)

    with pytest.raises(ConfirmationRequired, match="needs --yes"):
        drop_table(target, "tasks")
    assert "Tasks-prod" in list_tables(target)

    drop_table(target, "tasks", announce=announce, confirm=lambda _t: "Tasks-prod")
    assert "Tasks-prod" not in list_tables(target)


def test_prod_drop_from_the_cli(
    prod_on_moto: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "resolve_target", lambda stage, endpoint: _prod_on(prod_on_moto))
    # stdin is not a terminal under pytest: without --yes nothing can be confirmed.
    assert main(["--stage", "prod", "drop", "tasks"]) == 2
    err = capsys.readouterr().err
    assert "about to DELETE table Tasks-prod in account 123456789012, region us-east-1" in err
    assert "needs --yes" in err
    assert "Tasks-prod" in list_tables(_prod_on(prod_on_moto))

    assert main(["--stage", "prod", "drop", "tasks", "--yes"]) == 0
    assert "about to DELETE table Tasks-prod" in capsys.readouterr().err
    assert "Tasks-prod" not in list_tables(_prod_on(prod_on_moto))


def test_prod_refuses_an_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stage", "prod", "--endpoint", "http://127.0.0.1:9", "drop", "Tasks"]) == 2
    assert "--endpoint cannot be used with --stage prod" in capsys.readouterr().err
