"""`seed`: validation before writing, batched concurrent writes, retries, idempotence, faults.

Runs against moto and DynamoDB Local (the `ddb_endpoint` fixture).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datamodel.tables import EMAIL_INDEX
from localcloud.engine import Engine
from scripts.cli import main
from scripts.codec import WireItem
from scripts.errors import InvalidInput, SeedIncomplete
from scripts.sample_data import sample_users
from scripts.seed import load_file, plan_file, seed_plan, seed_table, write_items
from scripts.tables import count_items, describe_table
from scripts.target import resolve_target
from stacks.config import StageConfig
from tests.support.backends import create_stage_tables, dynamodb_client
from tests.support.fakes import FlakyBatchClient


def _task(number: int) -> WireItem:
    return {"id": {"S": f"task-{number:05d}"}, "n": {"N": str(number)}}


def _user(user_id: str, email: str, **extra: object) -> str:
    return json.dumps({"userId": user_id, "email": email, "name": user_id.title(), **extra})


def _rows(endpoint: str, table: str = "Users") -> list[WireItem]:
    """Every row of `table`, sorted."""
    pages = dynamodb_client(endpoint).get_paginator("scan").paginate(TableName=table)
    return sorted((item for page in pages for item in page["Items"]), key=repr)


def _owners(endpoint: str) -> dict[str, str]:
    """Each uniqueness row's key and owner; each user's id and email."""
    return {
        row["userId"]["S"]: (row.get("ownerId") or row["email"])["S"] for row in _rows(endpoint)
    }


UserManager = Callable[[dict[str, Any]], tuple[int, Any]]


@pytest.fixture
def user_manager(stage_tables: StageConfig, ddb_endpoint: str) -> UserManager:
    """user-manager's handler on the test endpoint: `call(event) -> (status, body)`."""
    # lambda_src/ is on the path once scripts.seed is imported, as the seeder needs it.
    from user_manager.handler import handle
    from user_manager.repository import UserRepository
    from user_manager.service import UserService

    users = stage_tables.table("users")
    service = UserService(
        UserRepository(
            dynamodb_client(ddb_endpoint),
            table=users.table_name,
            email_index=EMAIL_INDEX,
            ttl_attribute=users.ttl_attribute or "expiresAt",
        )
    )

    def call(event: dict[str, Any]) -> tuple[int, Any]:
        response = handle(event, service)
        return response["statusCode"], json.loads(response["body"])

    return call


def test_seeding_twice_leaves_the_same_items(stage_tables: StageConfig, ddb_endpoint: str) -> None:
    target = resolve_target("local", ddb_endpoint)
    users: list[list[WireItem]] = []
    for _run in range(2):
        assert main(["--endpoint", ddb_endpoint, "seed", "--count", "30"]) == 0
        for spec in stage_tables.tables:
            # 30 users come with their 30 uniqueness rows.
            expected = 60 if spec.key == "users" else 30
            assert count_items(target, spec.table_name) == expected
        users.append(_rows(ddb_endpoint))
    assert users[0] == users[1]  # the second run (transactions: the table is not empty)


def test_a_bad_line_is_reported_with_file_and_line_and_nothing_is_written(
    stage_tables: StageConfig,
    ddb_endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "tasks.jsonl"
    lines = [
        json.dumps(_task(1)),
        json.dumps(_task(2)),
        json.dumps({"id": {"N": "3"}}),  # wrong key type
        "",
        "{not json",
        json.dumps({"name": {"S": "no key"}}),
        json.dumps(_task(1)),  # duplicate of line 1
    ]
    data.write_text("\n".join(lines) + "\n")
    code = main(["--endpoint", ddb_endpoint, "seed", "tasks", "--from", str(data)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{data}:3: key attribute 'id' must be of type S, got N" in err
    assert f"{data}:5: not JSON" in err
    assert f"{data}:6: missing key attribute 'id'" in err
    assert "nothing was written" in err
    assert "Traceback" not in err
    assert count_items(resolve_target("local", ddb_endpoint), "tasks") == 0


def test_a_bad_number_is_reported_with_its_line(
    stage_tables: StageConfig, ddb_endpoint: str, tmp_path: Path
) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(
        json.dumps(_task(1)) + "\n" + json.dumps({"id": {"S": "x"}, "n": {"N": "zz"}}) + "\n"
    )
    info = describe_table(resolve_target("local", ddb_endpoint), "tasks")
    with pytest.raises(InvalidInput) as caught:
        load_file(data, info)
    assert caught.value.problems == [f"{data}:2: n: 'zz' is not a number"]


def test_duplicate_keys_and_empty_keys_are_refused(
    stage_tables: StageConfig, ddb_endpoint: str, tmp_path: Path
) -> None:
    data = tmp_path / "dup.jsonl"
    data.write_text('{"id": "a"}\n{"id": ""}\n{"id": "a"}\n')
    info = describe_table(resolve_target("local", ddb_endpoint), "tasks")
    with pytest.raises(InvalidInput) as caught:
        load_file(data, info)
    assert caught.value.problems == [
        f"{data}:2: key attribute 'id' must not be empty",
        f"{data}:3: duplicate key, first seen at {data}:1",
    ]


def test_index_key_types_are_checked_too(
    stage_tables: StageConfig, ddb_endpoint: str, tmp_path: Path
) -> None:
    data = tmp_path / "users.jsonl"
    data.write_text('{"userId": "u1", "email": 42}\n')
    info = describe_table(resolve_target("local", ddb_endpoint), "users")
    with pytest.raises(InvalidInput, match="index key attribute 'email' must be of type S"):
        load_file(data, info)


def test_plain_json_lines_are_seeded(
    stage_tables: StageConfig, ddb_endpoint: str, tmp_path: Path
) -> None:
    data = tmp_path / "plain.jsonl"
    data.write_text(
        "\n".join(json.dumps({"id": f"p{i}", "rank": i, "meta": {"ok": True}}) for i in range(40))
    )
    assert main(["--endpoint", ddb_endpoint, "seed", "tasks", "--from", str(data)]) == 0
    item = dynamodb_client(ddb_endpoint).get_item(TableName="Tasks", Key={"id": {"S": "p7"}})
    assert item["Item"] == {
        "id": {"S": "p7"},
        "rank": {"N": "7"},
        "meta": {"M": {"ok": {"BOOL": True}}},
    }


def test_unprocessed_items_are_retried_until_written(
    stage_tables: StageConfig, ddb_endpoint: str
) -> None:
    client = FlakyBatchClient(dynamodb_client(ddb_endpoint, max_pool=16), unprocessed_rounds=6)
    sleeps: list[float] = []
    items = [_task(n) for n in range(200)]
    written = write_items(client, "Tasks", items, concurrency=4, sleep=sleeps.append)
    assert written == 200
    assert client.unprocessed_reported > 0
    assert len(sleeps) == 6  # one backoff per partial answer
    assert count_items(resolve_target("local", ddb_endpoint), "tasks") == 200


def test_batches_hold_at_most_25_items_and_run_concurrently(
    stage_tables: StageConfig, ddb_endpoint: str
) -> None:
    client = FlakyBatchClient(dynamodb_client(ddb_endpoint, max_pool=16), delay_s=0.05)
    progress: list[int] = []
    items = [_task(n) for n in range(310)]
    assert write_items(client, "Tasks", items, concurrency=4, on_progress=progress.append) == 310
    assert max(client.batch_sizes) == 25
    assert sum(client.batch_sizes) == 310
    assert len(client.batch_sizes) == 13
    assert 2 <= client.max_in_flight <= 4
    assert sum(progress) == 310


def test_persistent_throttling_gives_up_and_says_how_far_it_got(
    stage_tables: StageConfig, ddb_endpoint: str
) -> None:
    client = FlakyBatchClient(dynamodb_client(ddb_endpoint), unprocessed_rounds=1000)
    with pytest.raises(SeedIncomplete) as caught:
        write_items(
            client,
            "Tasks",
            [_task(n) for n in range(25)],
            max_attempts=3,
            sleep=lambda _s: None,
        )
    assert "still unprocessed after 3 attempts" in str(caught.value)
    assert caught.value.total == 25
    # Each partial answer wrote half of what was sent: 12, then 6, then 3.
    assert caught.value.written == 21


def test_seeding_a_missing_table_is_one_clear_line(
    ddb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--endpoint", ddb_endpoint, "seed", "users"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: table Users does not exist at ")
    assert len(err.splitlines()) == 1


def test_from_needs_exactly_one_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "x.jsonl"
    data.write_text("{}\n")
    assert main(["--endpoint", "http://127.0.0.1:9", "seed", "--from", str(data)]) == 2
    assert "--from needs exactly one TABLE" in capsys.readouterr().err


def test_seeding_prod_needs_yes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stage", "prod", "seed"]) == 2
    assert "add --yes" in capsys.readouterr().err


@pytest.mark.slow
def test_endpoint_dying_mid_seed_reports_progress_and_a_rerun_completes(tmp_path: Path) -> None:
    """DynamoDB Local with an on-disk database is killed part-way through a seed."""
    db = tmp_path / "db"
    db.mkdir()
    items = [_task(n) for n in range(1500)]
    engine = Engine(db_path=db)
    endpoint = engine.start()
    try:
        create_stage_tables(endpoint, keys=["tasks"])
        target = resolve_target("local", endpoint)
        info = describe_table(target, "tasks")
        seen = 0

        def kill_after_some(count: int) -> None:
            nonlocal seen
            seen += count
            if seen >= 300:
                engine.stop()

        with pytest.raises(SeedIncomplete) as caught:
            seed_table(target, info, items, concurrency=4, on_progress=kill_after_some)
        failure = caught.value
        assert 300 <= failure.written < 1500
        assert f"stopped after {failure.written} of 1500 items" in str(failure)
        assert "re-run" in str(failure)
    finally:
        engine.stop()

    restarted = Engine(db_path=db)
    endpoint = restarted.start()
    try:
        target = resolve_target("local", endpoint)
        # Everything confirmed before the crash is there; maybe a little more.
        assert count_items(target, "tasks") >= failure.written
        seed_table(target, describe_table(target, "tasks"), items)
        assert count_items(target, "tasks") == 1500
    finally:
        restarted.stop()


def test_a_terminal_gets_a_progress_bar_with_items_per_second(
    stage_tables: StageConfig,
    ddb_endpoint: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: treat stdout as a terminal
    assert main(["--endpoint", ddb_endpoint, "seed", "tasks", "--count", "120"]) == 0
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", capsys.readouterr().out)
    assert re.search(r"Tasks .*120/120 +[\d,]+ items/s", out)
    assert "seeded 120 items into Tasks" in out


def test_seed_from_an_endless_device_is_one_clear_line(
    stage_tables: StageConfig, ddb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`/dev/zero` has no newline and no end: read a line at a time, within a cap."""
    code = main(["--endpoint", ddb_endpoint, "seed", "tasks", "--from", "/dev/zero"])
    assert code != 0
    err = capsys.readouterr().err
    assert "/dev/zero:1: line longer than 4 MiB" in err
    assert "Traceback" not in err and "MemoryError" not in err
    assert count_items(resolve_target("local", ddb_endpoint), "tasks") == 0


def test_an_oversized_line_is_refused_with_its_number_before_any_write(
    stage_tables: StageConfig, ddb_endpoint: str, tmp_path: Path
) -> None:
    data = tmp_path / "big.jsonl"
    huge = json.dumps({"id": {"S": "huge"}, "blob": {"S": "x" * (5 * 2**20)}})
    data.write_text(json.dumps(_task(1)) + "\n" + huge + "\n" + json.dumps(_task(2)) + "\n")
    info = describe_table(resolve_target("local", ddb_endpoint), "tasks")
    with pytest.raises(InvalidInput) as caught:
        load_file(data, info)
    assert caught.value.problems == [
        f"{data}:2: line longer than 4 MiB (an item is at most 400 KB)"
    ]
    assert count_items(resolve_target("local", ddb_endpoint), "tasks") == 0


def test_text_that_is_not_utf8_names_its_line(
    stage_tables: StageConfig, ddb_endpoint: str, tmp_path: Path
) -> None:
    data = tmp_path / "latin1.jsonl"
    data.write_bytes(json.dumps(_task(1)).encode() + b"\n" + b'{"id": {"S": "caf\xe9"}}\n')
    info = describe_table(resolve_target("local", ddb_endpoint), "tasks")
    with pytest.raises(InvalidInput) as caught:
        load_file(data, info)
    assert caught.value.problems[0].startswith(f"{data}:2: not UTF-8 text")


# -- the users table: user-manager's email uniqueness rows (issue 16) --------------------------


def test_seeded_users_get_the_uniqueness_rows_user_manager_enforces(
    ddb_endpoint: str, user_manager: UserManager
) -> None:
    assert main(["--endpoint", ddb_endpoint, "seed", "users", "--count", "3"]) == 0
    andrew, bayko, third = sample_users(3)
    for user in (andrew, bayko, third):
        assert _owners(ddb_endpoint)[f"EMAIL#{user.email}"] == user.user_id
    newcomer = {"userId": "newcomer", "email": andrew.email.upper(), "name": "New"}
    status, payload = user_manager({"action": "CREATE", "data": newcomer})
    assert (status, payload["field"]) == (409, "email")  # two users, one email: refused
    status, payload = user_manager({"action": "DELETE", "userId": andrew.user_id})
    assert status == 200, payload  # not "the table needs repair"
    assert user_manager({"action": "CREATE", "data": newcomer})[0] == 201  # the email is free


def test_seed_from_refuses_repeated_and_upper_case_emails_naming_the_lines(
    stage_tables: StageConfig,
    ddb_endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "users.jsonl"
    lines = [
        _user("u1", "a@x.io"),
        _user("u2", "b@x.io"),
        _user("u3", "a@x.io"),
        _user("u4", "C@x.io"),
    ]
    data.write_text("\n".join(lines) + "\n")
    assert main(["--endpoint", ddb_endpoint, "seed", "users", "--from", str(data)]) == 1
    err = capsys.readouterr().err
    assert f"{data}:3: duplicate email a@x.io, first seen at {data}:1" in err
    assert f"{data}:4: email 'C@x.io' must be in lower case" in err
    assert "nothing was written" in err and "Traceback" not in err
    assert _rows(ddb_endpoint) == []


def test_seed_from_refuses_an_email_another_user_holds_before_any_write(
    ddb_endpoint: str,
    user_manager: UserManager,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = {"userId": "u1", "email": "a@x.io", "name": "A"}
    assert user_manager({"action": "CREATE", "data": data})[0] == 201
    before = _rows(ddb_endpoint)
    path = tmp_path / "users.jsonl"
    path.write_text(_user("u2", "b@x.io") + "\n" + _user("u3", "a@x.io") + "\n")
    assert main(["--endpoint", ddb_endpoint, "seed", "users", "--from", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {path}:2: email a@x.io is already in use by user u1 in Users (nothing was written)"
    )
    assert _rows(ddb_endpoint) == before


def test_reseeding_moves_emails_and_frees_the_ones_given_up(
    ddb_endpoint: str, user_manager: UserManager, tmp_path: Path
) -> None:
    first = tmp_path / "first.jsonl"
    first.write_text(_user("u1", "a@x.io") + "\n" + _user("u2", "b@x.io", expiresAt=4102444800))
    assert main(["--endpoint", ddb_endpoint, "seed", "users", "--from", str(first)]) == 0
    lock = {
        "userId": {"S": "EMAIL#b@x.io"},
        "ownerId": {"S": "u2"},
        "expiresAt": {"N": "4102444800"},
    }
    assert lock in _rows(ddb_endpoint)  # the row expires with its user
    # u2 takes u1's email and gives up its own; u1 moves to a new one.
    second = tmp_path / "second.jsonl"
    second.write_text(_user("u1", "c@x.io") + "\n" + _user("u2", "a@x.io"))
    assert main(["--endpoint", ddb_endpoint, "seed", "users", "--from", str(second)]) == 0
    assert _owners(ddb_endpoint) == {
        "EMAIL#a@x.io": "u2",
        "EMAIL#c@x.io": "u1",
        "u1": "c@x.io",
        "u2": "a@x.io",
    }
    assert user_manager({"action": "DELETE", "userId": "u1"})[0] == 200
    assert user_manager({"action": "DELETE", "userId": "u2"})[0] == 200
    assert _rows(ddb_endpoint) == []


def test_a_users_dump_seeds_back_and_a_forged_uniqueness_row_is_refused(
    stage_tables: StageConfig,
    ddb_endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--endpoint", ddb_endpoint, "seed", "users", "--count", "4"]) == 0
    before = _rows(ddb_endpoint)
    dump = tmp_path / "users.jsonl"
    assert main(["--endpoint", ddb_endpoint, "scan", "users", "--out", str(dump)]) == 0
    assert main(["--endpoint", ddb_endpoint, "seed", "users", "--from", str(dump)]) == 0
    assert _rows(ddb_endpoint) == before
    lines = dump.read_text().splitlines()
    number, line = next((n, x) for n, x in enumerate(lines, 1) if '"EMAIL#' in x)
    forged = json.loads(line)
    forged["ownerId"] = {"S": "someone-else"}
    lines[number - 1] = json.dumps(forged)
    dump.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["--endpoint", ddb_endpoint, "seed", "users", "--from", str(dump)]) == 1
    assert (
        f"{dump}:{number}: uniqueness row {forged['userId']['S']} is not" in capsys.readouterr().err
    )
    assert _rows(ddb_endpoint) == before


def test_a_user_changed_between_the_check_and_the_write_stops_the_seed(
    ddb_endpoint: str, user_manager: UserManager, tmp_path: Path
) -> None:
    assert (
        user_manager(
            {"action": "CREATE", "data": {"userId": "u1", "email": "a@x.io", "name": "A"}}
        )[0]
        == 201
    )
    path = tmp_path / "users.jsonl"
    path.write_text(_user("u1", "b@x.io") + "\n")
    target = resolve_target("local", ddb_endpoint)
    info = describe_table(target, "users")
    client = dynamodb_client(ddb_endpoint)
    plan = plan_file(target, info, path, client=client)
    # The function moves u1 to another email after the seeder read it.
    update = {"action": "UPDATE", "userId": "u1", "updates": {"email": "z@x.io"}}
    assert user_manager(update)[0] == 200
    with pytest.raises(SeedIncomplete, match="changed after it was checked"):
        seed_plan(target, plan, client=client)
    assert _owners(ddb_endpoint) == {"EMAIL#z@x.io": "u1", "u1": "z@x.io"}
