"""`scan`: every page, limits, filters, indexes, parallel segments, and the exact round trip
`scan --out` then `seed --from`. Runs against moto and DynamoDB Local.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from datamodel.tables import MESSAGE_GROUP_INDEX
from scripts.cli import main
from scripts.codec import decode_item
from scripts.errors import IndexNotFound, InvalidInput, InvalidRequest, UsageError
from scripts.scan import build_request, scan_items
from scripts.tables import describe_table
from scripts.target import resolve_target
from stacks.config import StageConfig
from tests.support.backends import create_stage_tables, drop_all_tables, dynamodb_client


def _fill_tasks(endpoint: str, count: int) -> None:
    client = dynamodb_client(endpoint)
    for start in range(0, count, 25):
        client.batch_write_item(
            RequestItems={
                "Tasks": [
                    {"PutRequest": {"Item": {"id": {"S": f"t{n:04d}"}, "n": {"N": str(n)}}}}
                    for n in range(start, min(start + 25, count))
                ]
            }
        )


def _ids(items: list[dict[str, dict[str, str]]]) -> list[str]:
    return sorted(item["id"]["S"] for item in items)


def test_scan_reads_every_page(stage_tables: StageConfig, ddb_endpoint: str) -> None:
    _fill_tasks(ddb_endpoint, 95)
    target = resolve_target("local", ddb_endpoint)
    request = build_request(describe_table(target, "tasks"), page_size=10)
    items = list(scan_items(target, request))
    assert _ids(items) == [f"t{n:04d}" for n in range(95)]


def test_limit_stops_early(stage_tables: StageConfig, ddb_endpoint: str) -> None:
    _fill_tasks(ddb_endpoint, 60)
    target = resolve_target("local", ddb_endpoint)
    info = describe_table(target, "tasks")
    assert len(list(scan_items(target, build_request(info, limit=7)))) == 7
    # With a filter, the limit counts matching items, across pages.
    request = build_request(
        info, filter_expression="n >= :low", values='{":low": 50}', limit=5, page_size=8
    )
    items = list(scan_items(target, request))
    assert len(items) == 5
    assert all(int(item["n"]["N"]) >= 50 for item in items)


def test_filter_with_values(stage_tables: StageConfig, ddb_endpoint: str) -> None:
    _fill_tasks(ddb_endpoint, 40)
    target = resolve_target("local", ddb_endpoint)
    request = build_request(
        describe_table(target, "tasks"),
        filter_expression="#n BETWEEN :a AND :b",
        values='{":a": 10, ":b": 12}',
        names='{"#n": "n"}',
    )
    assert _ids(list(scan_items(target, request))) == ["t0010", "t0011", "t0012"]


@pytest.mark.parametrize("segments", [2, 4])
def test_parallel_scan_returns_the_same_items(
    stage_tables: StageConfig, ddb_endpoint: str, segments: int
) -> None:
    _fill_tasks(ddb_endpoint, 120)
    target = resolve_target("local", ddb_endpoint)
    info = describe_table(target, "tasks")
    sequential = _ids(list(scan_items(target, build_request(info))))
    parallel = _ids(list(scan_items(target, build_request(info, segments=segments, page_size=7))))
    assert parallel == sequential
    assert len(parallel) == 120
    limited = list(scan_items(target, build_request(info, segments=segments, limit=9)))
    assert len(limited) == 9


def test_index_scan_sees_only_projected_rows(stage_tables: StageConfig, ddb_endpoint: str) -> None:
    assert main(["--endpoint", ddb_endpoint, "seed", "messages", "--count", "10"]) == 0
    target = resolve_target("local", ddb_endpoint)
    request = build_request(describe_table(target, "messages"), index=MESSAGE_GROUP_INDEX)
    rows = list(scan_items(target, request))
    # Only the two group rows carry message_group_uuid (a sparse index).
    assert len(rows) == 2
    assert all(row["pk"]["S"].startswith("GRP#") for row in rows)


def test_missing_index_is_named_with_the_ones_that_exist(
    stage_tables: StageConfig, ddb_endpoint: str
) -> None:
    info = describe_table(resolve_target("local", ddb_endpoint), "messages")
    with pytest.raises(IndexNotFound, match="has no index 'nope'.*message-group-sk-index"):
        build_request(info, index="nope")


def test_malformed_filter_is_refused_by_the_engine(
    stage_tables: StageConfig, ddb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--endpoint",
            ddb_endpoint,
            "scan",
            "tasks",
            "--filter",
            "begins_with(id, :p",
            "--values",
            '{":p": "t"}',
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: Tasks refused the request: ")
    assert len(err.strip().splitlines()) == 1
    target = resolve_target("local", ddb_endpoint)
    request = build_request(describe_table(target, "tasks"), filter_expression="n = n + n")
    with pytest.raises(InvalidRequest):
        list(scan_items(target, request))


def test_undefined_or_unused_placeholders_are_caught_before_reading(
    stage_tables: StageConfig, ddb_endpoint: str
) -> None:
    info = describe_table(resolve_target("local", ddb_endpoint), "tasks")
    with pytest.raises(InvalidInput, match="uses :missing, which --values does not define"):
        build_request(info, filter_expression="n = :missing")
    with pytest.raises(InvalidInput, match="--values defines :b, which --filter does not use"):
        build_request(info, filter_expression="n = :a", values='{":a": 1, ":b": 2}')
    with pytest.raises(InvalidInput, match="uses #x, which --names does not define"):
        build_request(info, filter_expression="#x = :a", values='{":a": 1}')


@pytest.mark.parametrize("ddb_endpoint", ["moto", "dynamodb_local", "local_cloud"], indirect=True)
def test_difference_undefined_value_placeholder(
    stage_tables: StageConfig, ddb_endpoint: str, ddb_backend: str
) -> None:
    """Engine difference: DynamoDB Local (the reference) answers ValidationException; moto
    fails with an internal server error. The local cloud answers exactly as DynamoDB Local
    (code, message and status). The tool checks placeholders itself, above.
    """
    client = dynamodb_client(ddb_endpoint)
    with pytest.raises(ClientError) as caught:
        client.scan(TableName="Tasks", FilterExpression="n = :missing")
    error = caught.value.response
    answer = (error["Error"]["Code"], error["Error"]["Message"])
    status = error["ResponseMetadata"]["HTTPStatusCode"]
    if ddb_backend == "moto":
        assert status == 500
    else:
        assert answer == (
            "ValidationException",
            "Invalid FilterExpression: An expression attribute value used in expression is "
            "not defined; attribute value: :missing",
        )
        assert status == 400


def test_option_mistakes_are_caught_before_reading(
    stage_tables: StageConfig, ddb_endpoint: str
) -> None:
    info = describe_table(resolve_target("local", ddb_endpoint), "users")
    with pytest.raises(UsageError, match="--values and --names need --filter"):
        build_request(info, values='{":a": 1}')
    with pytest.raises(UsageError, match="eventually consistent"):
        build_request(info, index="EmailIndex", consistent=True)
    with pytest.raises(UsageError, match="--limit"):
        build_request(info, limit=0)


def test_unknown_table_is_one_line(ddb_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--endpoint", ddb_endpoint, "scan", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: table nope does not exist at ")
    assert len(err.strip().splitlines()) == 1


EVERY_TYPE = {
    "id": {"S": "all-types"},
    "decimal": {"N": "3.14159265358979323846264338327950288"},
    "negative": {"N": "-0.000001"},
    "big": {"N": "12345678901234567890123456789012345678"},
    "blob": {"B": "AAEC/w=="},
    "strings": {"SS": ["a", "b", "ü"]},
    "numbers": {"NS": ["1", "2.5", "-7"]},
    "blobs": {"BS": ["AQ==", "Ag=="]},
    "map": {
        "M": {
            "list": {"L": [{"S": "x"}, {"N": "1"}, {"NULL": True}, {"BOOL": True}]},
            "nested": {"M": {"deeper": {"BS": ["/w=="]}}},
        }
    },
    "empty_string": {"S": ""},
    "empty_list": {"L": []},
    "flag": {"BOOL": False},
}


def _normalized(value: Any) -> Any:
    """DynamoDB JSON with set members sorted (sets have no order)."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in {"SS", "NS", "BS"}:
            ((kind, members),) = value.items()
            return {kind: sorted(members)}
        return {key: _normalized(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_normalized(inner) for inner in value]
    return value


def _canonical(item: dict[str, Any]) -> str:
    return json.dumps(_normalized(item), sort_keys=True)


def test_scan_out_then_seed_from_round_trips_every_type(
    stage_tables: StageConfig, ddb_endpoint: str, tmp_path: Path
) -> None:
    client = dynamodb_client(ddb_endpoint)
    client.put_item(TableName="Tasks", Item=decode_item(EVERY_TYPE))
    _fill_tasks(ddb_endpoint, 30)
    dump = tmp_path / "tasks.jsonl"
    assert main(["--endpoint", ddb_endpoint, "scan", "tasks", "--out", str(dump)]) == 0
    before = sorted(_canonical(json.loads(line)) for line in dump.read_text().splitlines())
    assert len(before) == 31

    drop_all_tables(ddb_endpoint)
    create_stage_tables(ddb_endpoint, keys=["tasks"])
    assert main(["--endpoint", ddb_endpoint, "seed", "tasks", "--from", str(dump)]) == 0
    again = tmp_path / "again.jsonl"
    assert main(["--endpoint", ddb_endpoint, "scan", "tasks", "--out", str(again)]) == 0
    after = sorted(_canonical(json.loads(line)) for line in again.read_text().splitlines())
    assert after == before
    assert _canonical(EVERY_TYPE) in after


def test_json_lines_on_stdout(
    stage_tables: StageConfig, ddb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill_tasks(ddb_endpoint, 3)
    assert main(["--endpoint", ddb_endpoint, "scan", "tasks", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sorted(json.loads(line)["id"]["S"] for line in lines) == ["t0000", "t0001", "t0002"]


def test_table_output_for_people(
    stage_tables: StageConfig, ddb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill_tasks(ddb_endpoint, 2)
    assert main(["--endpoint", ddb_endpoint, "scan", "tasks"]) == 0
    out = capsys.readouterr().out
    assert "2 item(s) from Tasks" in out
    assert "t0001" in out


@pytest.mark.parametrize("target", ["fifo", "directory", "link"])
def test_out_refuses_what_is_not_a_regular_file_and_leaves_nothing(
    stage_tables: StageConfig,
    ddb_endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    target: str,
) -> None:
    """`--out` renames its `.partial` file over the path: a special file (a pipe here; as
    root, `/dev/null` became a regular file), a directory or a link must be refused,
    untouched."""
    _fill_tasks(ddb_endpoint, 3)
    real = tmp_path / "real.jsonl"
    real.write_text("keep\n")
    os.mkfifo(tmp_path / "apipe")
    paths = {
        "fifo": tmp_path / "apipe",
        "directory": tmp_path / "adir",
        "link": tmp_path / "alink.jsonl",
    }
    (tmp_path / "adir").mkdir()
    (tmp_path / "alink.jsonl").symlink_to(real)
    path = paths[target]
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["--endpoint", ddb_endpoint, "scan", "tasks", "--out", str(path)]) == 2
    err = capsys.readouterr().err
    assert "is not a regular file" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "apipe").is_fifo()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .partial left
    assert real.read_text() == "keep\n"
    assert not path.with_name(path.name + ".partial").exists()


def test_out_in_a_missing_directory_is_one_clear_line(
    stage_tables: StageConfig,
    ddb_endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "missing" / "tasks.jsonl"
    assert main(["--endpoint", ddb_endpoint, "scan", "tasks", "--out", str(path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()
