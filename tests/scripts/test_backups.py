"""`restore` and `export`: point-in-time recovery into a new table or to S3.

The AWS code path runs against moto, which serves DescribeContinuousBackups,
RestoreTableToPointInTime (it copies the source's items and ignores the time),
ExportTableToPointInTime and DescribeExport (it writes one gzipped DynamoDB JSON file into
its own S3); exact request shapes are checked with botocore's `Stubber`. The local cloud
and DynamoDB Local answer `UnknownOperationException` to both operations: the commands
refuse there with one line naming the local alternative.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import typer
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from scripts import cli
from scripts.backups import (
    ExportFailed,
    NotSupportedHere,
    PointInTimeRecoveryOff,
    S3Location,
    TableExists,
    WaitTimedOut,
    export_table,
    parse_s3_url,
    parse_time,
    recovery_window,
    restore_table,
    wait_for_export,
    wait_until_active,
)
from scripts.cli import main
from scripts.errors import ConfirmationRequired, UsageError
from scripts.tables import list_tables
from scripts.target import Target, resolve_target
from stacks.config import StageConfig, stage_config
from tests.support.backends import FAKE_CREDENTIALS, REGION, drop_all_tables, dynamodb_client

UNREACHABLE = "http://127.0.0.1:9"  # nothing listens: a request would fail with exit code 3
TASK_IDS = ["t1", "t2", "t3"]


@pytest.fixture
def moto(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server, emptied, with fake credentials and no endpoint from the environment."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_CREDENTIALS["aws_secret_access_key"])
    drop_all_tables(moto_endpoint)
    yield moto_endpoint
    drop_all_tables(moto_endpoint)


def _table(endpoint: str, name: str, *, pitr: bool = True) -> None:
    """Table `name` holding TASK_IDS, with point-in-time recovery on or off."""
    client = dynamodb_client(endpoint)
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for task_id in TASK_IDS:
        client.put_item(TableName=name, Item={"id": {"S": task_id}, "title": {"S": task_id}})
    if pitr:
        client.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


def _ids(endpoint: str, name: str) -> list[str]:
    items = dynamodb_client(endpoint).scan(TableName=name)["Items"]
    return sorted(item["id"]["S"] for item in items)


def _tables(endpoint: str) -> list[str]:
    return sorted(dynamodb_client(endpoint).list_tables()["TableNames"])


def _earliest(endpoint: str, name: str) -> datetime:
    return recovery_window(resolve_target("local", endpoint), name).earliest


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ---------------------------------------------------------------- times and URLs


def test_times_need_a_zone_and_latest_is_only_for_restore() -> None:
    assert parse_time("2026-01-01T09:00:00+02:00", "--to") == datetime(2026, 1, 1, 7, tzinfo=UTC)
    assert parse_time("2026-01-01T09:00:00Z", "--to") == datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert parse_time(" Latest ", "--to", allow_latest=True) is None
    with pytest.raises(UsageError, match="has no time zone"):
        parse_time("2026-01-01T09:00:00", "--to", allow_latest=True)
    with pytest.raises(UsageError, match="has no time zone"):
        parse_time("2026-01-01", "--to")
    with pytest.raises(UsageError, match="not an ISO 8601 time"):
        parse_time("yesterday", "--to", allow_latest=True)
    with pytest.raises(UsageError, match="not an ISO 8601 time"):
        parse_time("latest", "--at")


def test_s3_urls_give_bucket_and_prefix() -> None:
    assert parse_s3_url("s3://my-backups/exports/tasks/") == S3Location(
        "my-backups", "exports/tasks"
    )
    assert parse_s3_url("s3://my.backups-1") == S3Location("my.backups-1", "")
    assert parse_s3_url("s3://my.backups-1").url == "s3://my.backups-1"
    assert parse_s3_url("s3://b12/x/y").url == "s3://b12/x/y"


@pytest.mark.parametrize(
    "url",
    [
        "my-backups/exports",  # no scheme
        "https://my-backups/exports",
        "s3://",
        "s3:///exports",
        "s3://My_Backups/exports",  # upper case and '_'
        "s3://ab/exports",  # two characters
        "s3://my..backups/exports",
        "s3://my-backups/exports?versionId=1",
        "s3://my-backups/exports#part",
        "s3://my-backups/a//b",
        "s3://user@my-backups/exports",
        "s3://my-backups:443/exports",
        "s3://my-backups/" + "p" * 1025,
    ],
)
def test_malformed_s3_urls_are_refused(url: str) -> None:
    with pytest.raises(UsageError, match="--to"):
        parse_s3_url(url)


@pytest.mark.parametrize(
    "args",
    [
        ["restore", "tasks", "--to", "yesterday", "--as", "Tasks-restored"],
        ["restore", "tasks", "--to", "2026-01-01T09:00:00", "--as", "Tasks-restored"],
        ["restore", "tasks", "--to", "latest", "--as", "x"],
        ["export", "tasks", "--to", "bucket/prefix"],
        ["export", "tasks", "--to", "s3://bucket/prefix", "--at", "soon"],
        ["export", "tasks", "--to", "s3://bucket/prefix", "--at", "2026-01-01T09:00:00"],
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Against an endpoint where nothing listens: any request would end in exit code 3.
    assert main(["--endpoint", UNREACHABLE, *args]) == 2
    assert _one_line(capsys.readouterr().err).startswith("error: ")


# ---------------------------------------------------------------- restore on moto


def test_restore_latest_creates_a_new_table_with_the_items(
    moto: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _table(moto, "Tasks")
    argv = ["--endpoint", moto, "restore", "tasks", "--to", "latest", "--as", "Tasks-restored"]
    assert main([*argv, "--wait"]) == 0
    assert _ids(moto, "Tasks-restored") == TASK_IDS
    out = capsys.readouterr().out
    assert "restoring Tasks as of " in out and "into Tasks-restored" in out
    not_restored = next(line for line in out.splitlines() if line.startswith("NOT restored:"))
    for missing in ("stream", "TTL", "auto scaling", "tags", "alarms", "point-in-time recovery"):
        assert missing in not_restored
    assert "outside the CDK stacks" in not_restored
    assert "Tasks-restored is ACTIVE" in out


def test_restore_to_a_time_inside_the_window(moto: str) -> None:
    _table(moto, "Tasks")
    earliest = _earliest(moto, "Tasks")
    started = restore_table(resolve_target("local", moto), "tasks", "Tasks-then", earliest)
    assert (started.source, started.table) == ("Tasks", "Tasks-then")
    info = wait_until_active(resolve_target("local", moto), "Tasks-then", timeout_s=10)
    assert info.key_names == ("id",)
    assert _ids(moto, "Tasks-then") == TASK_IDS


def test_restore_from_the_cli_at_an_explicit_time(
    moto: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _table(moto, "Tasks")
    at = _earliest(moto, "Tasks").isoformat()
    assert main(["--endpoint", moto, "restore", "Tasks", "--to", at, "--as", "Tasks-then"]) == 0
    assert _ids(moto, "Tasks-then") == TASK_IDS
    assert "describe Tasks-then` shows when it is ACTIVE" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("to", "new", "code", "message"),
    [
        ("latest", "Users", 1, "table Users already exists at http"),
        ("latest", "Tasks", 1, "table Tasks already exists"),
        ("+1h", "Tasks-restored", 2, "is in the future"),
        ("-1h", "Tasks-restored", 2, "is before the earliest restorable time of Tasks"),
    ],
)
def test_restore_refusals_change_nothing(
    moto: str, to: str, new: str, code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _table(moto, "Tasks")
    _table(moto, "Users")
    if to != "latest":
        now = datetime.now(UTC) if to == "+1h" else _earliest(moto, "Tasks")
        to = (now + timedelta(hours=1 if to == "+1h" else -1)).isoformat()
    before = _tables(moto)
    assert main(["--endpoint", moto, "restore", "tasks", "--to", to, "--as", new]) == code
    assert message in _one_line(capsys.readouterr().err)
    assert _tables(moto) == before
    assert _ids(moto, "Users") == TASK_IDS  # an existing target is left as it was


def test_restore_without_pitr_says_how_to_turn_it_on(
    moto: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _table(moto, "Tasks", pitr=False)
    argv = ["--endpoint", moto, "restore", "tasks", "--to", "latest", "--as", "Tasks-restored"]
    assert main(argv) == 1
    line = _one_line(capsys.readouterr().err)
    assert "point-in-time recovery is off for table Tasks" in line
    assert "point_in_time_recovery" in line
    assert _tables(moto) == ["Tasks"]
    with pytest.raises(PointInTimeRecoveryOff):
        restore_table(resolve_target("local", moto), "tasks", "Tasks-restored", None)


def test_restore_of_a_missing_table_is_one_line(
    moto: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--endpoint", moto, "restore", "Nope", "--to", "latest", "--as", "Nope-restored"]
    assert main(argv) == 1
    assert _one_line(capsys.readouterr().err).startswith("error: table Nope does not exist")
    assert _tables(moto) == []


# ---------------------------------------------------------------- restore in prod


def _prod_on(endpoint: str) -> Target:
    # The CLI never lets prod use an endpoint; tests point the prod stage at moto directly.
    return Target(stage_config("prod"), endpoint)


@pytest.fixture
def prod_on_moto(moto: str) -> str:
    """moto standing in for prod, with Tasks-prod (PITR on); STS names the account."""
    _table(moto, "Tasks-prod")
    return moto


def test_prod_restore_announces_and_needs_the_new_tables_name(prod_on_moto: str) -> None:
    target = _prod_on(prod_on_moto)
    announced: list[tuple[str, str, str, str]] = []

    def announce(account: str, region: str, source: str, new: str) -> None:
        announced.append((account, region, source, new))

    with pytest.raises(ConfirmationRequired, match="did not match 'Tasks-back'; nothing"):
        restore_table(
            target, "tasks", "Tasks-back", None, announce=announce, confirm=lambda _t: "Tasks"
        )
    assert announced == [("123456789012", "us-east-1", "Tasks-prod", "Tasks-back")]
    assert list_tables(target) == ["Tasks-prod"]

    with pytest.raises(ConfirmationRequired, match="needs --yes"):
        restore_table(target, "tasks", "Tasks-back", None)
    assert list_tables(target) == ["Tasks-prod"]

    restore_table(target, "tasks", "Tasks-back", None, confirm=lambda _t: " Tasks-back\n")
    assert _ids(prod_on_moto, "Tasks-back") == TASK_IDS


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_prod_restore_from_the_cli(
    prod_on_moto: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "resolve_target", lambda stage, endpoint: _prod_on(prod_on_moto))
    argv = ["--stage", "prod", "restore", "tasks", "--to", "latest", "--as", "Tasks-back"]
    # stdin is not a terminal under pytest: without --yes nothing can be confirmed.
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (
        "about to RESTORE table Tasks-prod as of the latest restorable time into new table "
        "Tasks-back in account 123456789012, region us-east-1 (prod)"
    ) in err
    assert "restoring in prod needs --yes" in err
    assert _tables(prod_on_moto) == ["Tasks-prod"]

    # At a terminal, a wrong name restores nothing.
    monkeypatch.setattr("sys.stdin", _Terminal())
    monkeypatch.setattr(typer, "prompt", lambda text: "Tasks-prod")
    assert main(argv) == 1
    assert "confirmation did not match 'Tasks-back'" in capsys.readouterr().err
    assert _tables(prod_on_moto) == ["Tasks-prod"]

    # A refused restore asks nothing: the checks come before the announcement.
    assert main([*argv[:-1], "Tasks-prod", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "about to RESTORE" not in err

    assert main([*argv, "--yes"]) == 0
    assert "about to RESTORE table Tasks-prod" in capsys.readouterr().err
    assert _ids(prod_on_moto, "Tasks-back") == TASK_IDS


# ---------------------------------------------------------------- export on moto


def _s3(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **FAKE_CREDENTIALS)


@pytest.fixture
def bucket(moto: str) -> Iterator[str]:
    """An empty bucket in moto's S3 (moto's exports write there)."""
    s3 = _s3(moto)
    s3.create_bucket(Bucket="table-exports")
    yield "table-exports"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="table-exports"):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket="table-exports", Key=obj["Key"])
    s3.delete_bucket(Bucket="table-exports")


def test_export_writes_the_items_to_s3_and_waits_for_completion(
    moto: str, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _table(moto, "Tasks")
    url = f"s3://{bucket}/exports/tasks/"
    assert main(["--endpoint", moto, "export", "tasks", "--to", url, "--wait"]) == 0
    out = capsys.readouterr().out
    assert "exporting Tasks to s3://table-exports/exports/tasks (DYNAMODB_JSON" in out
    arn = next(line for line in out.splitlines() if line.startswith("export ARN: "))
    assert arn.startswith("export ARN: arn:aws:dynamodb:us-east-1:123456789012:")
    assert "export COMPLETED: 3 items" in out
    assert "manifest: not reported by the endpoint" in out  # moto writes no manifest

    s3 = _s3(moto)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("exports/tasks/AWSDynamoDB/")
    body = gzip.decompress(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    items = [json.loads(line)["Item"] for line in body.decode().splitlines()]
    assert sorted(item["id"]["S"] for item in items) == TASK_IDS


def test_export_to_a_missing_bucket_fails_with_the_reason(
    moto: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _table(moto, "Tasks")
    argv = ["--endpoint", moto, "export", "tasks", "--to", "s3://no-such-bucket/x", "--wait"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "export ARN: arn:aws:dynamodb:" in captured.out
    line = _one_line(captured.err)
    assert line.startswith("error: export arn:aws:dynamodb:")
    assert "FAILED: S3NoSuchBucket: The specified bucket does not exist" in line
    target = resolve_target("local", moto)
    started = export_table(target, "tasks", parse_s3_url("s3://no-such-bucket/x"))
    with pytest.raises(ExportFailed):
        wait_for_export(target, started.arn, timeout_s=10)


def test_export_refusals_write_nothing(
    moto: str, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _table(moto, "Tasks", pitr=False)
    _table(moto, "Users")
    client = dynamodb_client(moto)
    arns = [client.describe_table(TableName=t)["Table"]["TableArn"] for t in ("Tasks", "Users")]
    # moto keeps the exports of earlier tests' (deleted) tables of the same ARN.
    exports_before = [len(client.list_exports(TableArn=arn)["ExportSummaries"]) for arn in arns]
    url = f"s3://{bucket}/exports"
    assert main(["--endpoint", moto, "export", "tasks", "--to", url]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "point-in-time recovery is off for table Tasks" in line
    assert "point_in_time_recovery" in line

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert main(["--endpoint", moto, "export", "users", "--to", url, "--at", future]) == 2
    assert "is in the future" in _one_line(capsys.readouterr().err)

    before = (_earliest(moto, "Users") - timedelta(hours=1)).isoformat()
    assert main(["--endpoint", moto, "export", "users", "--to", url, "--at", before]) == 2
    assert "before the earliest restorable time of Users" in _one_line(capsys.readouterr().err)

    assert "Contents" not in _s3(moto).list_objects_v2(Bucket=bucket)
    exports_after = [len(client.list_exports(TableArn=arn)["ExportSummaries"]) for arn in arns]
    assert exports_after == exports_before


# ---------------------------------------------------------------- request shapes (Stubber)

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Tasks"


def _aws_target(monkeypatch: pytest.MonkeyPatch) -> Target:
    """The local stage's names with no endpoint: the AWS path (no probe), never sent."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return Target(stage_config("local"), None)


def _describe(stub: Stubber, name: str = "Tasks", status: str = "ACTIVE") -> None:
    stub.add_response(
        "describe_table",
        {
            "Table": {
                "TableName": name,
                "TableStatus": status,
                "TableArn": ARN,
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            }
        },
        {"TableName": name},
    )


def _window(stub: Stubber, earliest: datetime, latest: datetime) -> None:
    stub.add_response(
        "describe_continuous_backups",
        {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {
                    "PointInTimeRecoveryStatus": "ENABLED",
                    "EarliestRestorableDateTime": earliest,
                    "LatestRestorableDateTime": latest,
                },
            }
        },
        {"TableName": "Tasks"},
    )


def test_export_request_carries_format_prefix_and_time(monkeypatch: pytest.MonkeyPatch) -> None:
    target = _aws_target(monkeypatch)
    client = target.client()
    now = datetime.now(UTC)
    at = now - timedelta(hours=2)
    with Stubber(client) as stub:
        _describe(stub)
        _window(stub, now - timedelta(days=3), now - timedelta(minutes=5))
        stub.add_response(
            "export_table_to_point_in_time",
            {
                "ExportDescription": {
                    "ExportArn": f"{ARN}/export/01",
                    "ExportStatus": "IN_PROGRESS",
                    "S3Bucket": "table-exports",
                    "S3Prefix": "nightly/tasks",
                    "ExportFormat": "ION",
                }
            },
            {
                "TableArn": ARN,
                "S3Bucket": "table-exports",
                "S3Prefix": "nightly/tasks",
                "ExportFormat": "ION",
                "ExportTime": at,
            },
        )
        stub.add_response(
            "describe_export",
            {
                "ExportDescription": {
                    "ExportArn": f"{ARN}/export/01",
                    "ExportStatus": "COMPLETED",
                    "S3Bucket": "table-exports",
                    "S3Prefix": "nightly/tasks",
                    "ExportManifest": "nightly/tasks/AWSDynamoDB/01/manifest-summary.json",
                    "ItemCount": 42,
                }
            },
            {"ExportArn": f"{ARN}/export/01"},
        )
        destination = parse_s3_url("s3://table-exports/nightly/tasks")
        started = export_table(
            target, "tasks", destination, export_format="ION", at=at, client=client
        )
        assert (started.status, started.export_format) == ("IN_PROGRESS", "ION")
        done = wait_for_export(target, started.arn, client=client, poll_s=0)
        stub.assert_no_pending_responses()
    assert done.item_count == 42
    assert done.manifest_url == (
        "s3://table-exports/nightly/tasks/AWSDynamoDB/01/manifest-summary.json"
    )


def test_restore_request_names_the_time_or_latest(monkeypatch: pytest.MonkeyPatch) -> None:
    target = _aws_target(monkeypatch)
    client = target.client()
    now = datetime.now(UTC)
    at = now - timedelta(hours=1)
    restored = {
        "TableDescription": {
            "TableName": "Tasks-back",
            "TableStatus": "CREATING",
            "RestoreSummary": {
                "SourceTableArn": ARN,
                "RestoreDateTime": at,
                "RestoreInProgress": True,
            },
        }
    }
    with Stubber(client) as stub:
        requested: list[tuple[datetime | None, dict[str, Any]]] = [
            (at, {"RestoreDateTime": at}),
            (None, {"UseLatestRestorableTime": True}),
        ]
        for when, request in requested:
            _describe(stub)
            _window(stub, now - timedelta(days=1), now - timedelta(minutes=5))
            stub.add_client_error(
                "describe_table", "ResourceNotFoundException", expected_params={"TableName": ANY}
            )
            stub.add_response(
                "restore_table_to_point_in_time",
                restored,
                {"SourceTableName": "Tasks", "TargetTableName": "Tasks-back", **request},
            )
            started = restore_table(target, "tasks", "Tasks-back", when, client=client)
            assert (started.status, started.restore_time) == ("CREATING", at)
        stub.assert_no_pending_responses()


def test_restore_after_the_latest_restorable_time_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = _aws_target(monkeypatch)
    client = target.client()
    now = datetime.now(UTC)
    with Stubber(client) as stub:
        _describe(stub)
        _window(stub, now - timedelta(days=1), now - timedelta(minutes=5))
        with pytest.raises(UsageError, match="after the latest restorable time .* --to latest"):
            restore_table(target, "tasks", "Tasks-back", now - timedelta(minutes=1), client=client)
        stub.assert_no_pending_responses()  # and no restore request was made


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("TableAlreadyExistsException", TableExists),
        ("PointInTimeRecoveryUnavailableException", PointInTimeRecoveryOff),
        ("InvalidRestoreTimeException", UsageError),
    ],
)
def test_restore_errors_from_aws_are_one_line(
    monkeypatch: pytest.MonkeyPatch, code: str, error: type[Exception]
) -> None:
    # Between our checks and the request the table may appear, PITR may be switched off.
    target = _aws_target(monkeypatch)
    client = target.client()
    now = datetime.now(UTC)
    with Stubber(client) as stub:
        _describe(stub)
        _window(stub, now - timedelta(days=1), now - timedelta(minutes=5))
        stub.add_client_error("describe_table", "ResourceNotFoundException")
        stub.add_client_error("restore_table_to_point_in_time", code, "the reason")
        with pytest.raises(error) as raised:
            restore_table(target, "tasks", "Tasks-back", None, client=client)
    assert "\n" not in str(raised.value)


def test_waiting_gives_up_with_a_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    target = _aws_target(monkeypatch)
    client = target.client()
    with Stubber(client) as stub:
        _describe(stub, "Tasks-back", status="CREATING")
        with pytest.raises(WaitTimedOut, match="Tasks-back is still CREATING after 0 s"):
            wait_until_active(target, "Tasks-back", timeout_s=0, client=client)
        stub.add_response(
            "describe_export",
            {"ExportDescription": {"ExportArn": f"{ARN}/export/01", "ExportStatus": "IN_PROGRESS"}},
        )
        with pytest.raises(WaitTimedOut, match="still IN_PROGRESS after 0 s"):
            wait_for_export(target, f"{ARN}/export/01", timeout_s=0, client=client)


# ---------------------------------------------------------------- the local cloud


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("ddb_endpoint", ["dynamodb_local", "local_cloud"], indirect=True)
def test_local_cloud_has_no_point_in_time_restore_or_export(
    stage_tables: StageConfig,
    ddb_endpoint: str,
    ddb_backend: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = dynamodb_client(ddb_endpoint)
    # What the server itself answers: the local cloud reports the PITR switch (it keeps it
    # beside DynamoDB Local), but neither it nor DynamoDB Local knows restore or export.
    calls: list[Callable[[], Any]] = [
        lambda: client.restore_table_to_point_in_time(
            SourceTableName="Tasks", TargetTableName="Tasks-back", UseLatestRestorableTime=True
        ),
        lambda: client.export_table_to_point_in_time(
            TableArn="arn:aws:dynamodb:us-east-1:000000000000:table/Tasks",
            S3Bucket="table-exports",
            S3Prefix="x",
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as raised:
            call()
        assert raised.value.response["Error"]["Code"] == "UnknownOperationException"
    if ddb_backend == "local_cloud":
        pitr = client.describe_continuous_backups(TableName="Tasks")
        status = pitr["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert status["PointInTimeRecoveryStatus"] == "DISABLED"  # the local stage's setting

    restore = ["--endpoint", ddb_endpoint, "restore", "tasks", "--to", "latest", "--as", "Back"]
    export = ["--endpoint", ddb_endpoint, "export", "tasks", "--to", "s3://table-exports/x"]
    for pitr_on in (False, True):
        if pitr_on and ddb_backend == "local_cloud":
            client.update_continuous_backups(
                TableName="Tasks",
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        assert main(restore) == 1
        line = _one_line(capsys.readouterr().err)
        assert line.startswith(f"error: the local cloud (DynamoDB Local) at {ddb_endpoint} ")
        assert "has no point-in-time restore" in line
        assert "`make snapshot NAME=x` / `make restore NAME=x`" in line

        assert main(export) == 1
        line = _one_line(capsys.readouterr().err)
        assert "has no point-in-time export" in line
        assert "`python -m scripts scan tasks --out FILE`" in line
    assert _tables(ddb_endpoint) == ["Tasks", "Users", "cruddur-messages"]
    with pytest.raises(NotSupportedHere):
        restore_table(resolve_target("local", ddb_endpoint), "tasks", "Back", None)
