"""The data-model sheet: complete against the synthesized templates, and true to the code.

- Every table and index of a synthesized template appears in the sheet with the template's
  keys, attribute types, stream, TTL and billing (read from the template JSON, not from the
  stage config), also after a GSI is added through the stage config alone.
- Every declared pattern is documented, and the pattern functions (and the Lambda
  repositories) really send the key condition and index the sheet shows: a recording client
  captures their requests.
- A declaration that does not fit the tables is refused with a clear error; `--check` fails
  on a stale file, and the committed `docs/data-model.md` is current.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import tests.support.lambda_src  # noqa: F401  (the repositories import as on Lambda)
from datamodel.entities import GROUP_ROW, Entity, KeyTemplate, PatternError
from datamodel.patterns import (
    FIND_USER_BY_EMAIL,
    FIND_USER_BY_EMAIL_QUERY,
    FUNCTION_QUERIES,
    GET_CONVERSATION,
    LIST_CONVERSATIONS,
    PATTERNS,
    AccessPattern,
    BatchGet,
    ConditionalPut,
    KeyQuery,
    Paging,
    TransactWrite,
    validate_patterns,
)
from datamodel.tables import AttributeType
from docgen import data_model
from docgen.data_model import (
    DEFAULT_OUT,
    cli_usage,
    main,
    render,
)
from scripts.codec import to_wire
from scripts.patterns import HAND_WRITTEN, Patterns
from scripts.sample_data import conversation_group_uuid, sample_items, sample_users
from scripts.schema import create_table_request
from scripts.target import Target
from stacks.config import StageConfig, stage_config
from tests.docgen.conftest import (
    ADDED_INDEX,
    synthesized_with_added_gsi,
    with_table,
)
from tests.docgen.conftest import synthesized as synthesized_stage

REGION = "us-east-1"
ANCHOR = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sections(sheet: str) -> dict[str, str]:
    """The sheet's `### ` sections by heading text."""
    parts = re.split(r"^### (.+)$", sheet, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def table_row(section: str, first_cell: str) -> list[str]:
    """The cells of the Markdown table row whose first cell is `first_cell`."""
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{section}")


# ---------------------------------------------------------------- against the template


@dataclass(frozen=True)
class Synthesized:
    """A stage config and the templates synthesized from it."""

    config: StageConfig
    data: dict[str, Any]
    functions: dict[str, Any]


@pytest.fixture(scope="module", params=["local", "local with an added GSI"])
def synthesized(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Synthesized:
    """The local stage, and the local stage plus a GSI; each synthesized once per session."""
    if request.param == "local":
        stage = synthesized_stage(tmp_path_factory, "local")
    else:
        stage = synthesized_with_added_gsi(tmp_path_factory)
    return Synthesized(stage.config, dict(stage.data.to_json()), dict(stage.functions.to_json()))


def template_tables(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The properties of every `AWS::DynamoDB::Table` in `template`."""
    return [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::DynamoDB::Table"
    ]


def key_names(schema: list[dict[str, str]]) -> dict[str, str]:
    """`{"HASH": name, "RANGE": name}` of a key schema."""
    return {entry["KeyType"]: entry["AttributeName"] for entry in schema}


@pytest.mark.slow
def test_every_table_and_index_of_the_template_is_in_the_sheet(
    synthesized: Synthesized,
) -> None:
    config, template = synthesized.config, synthesized.data
    sheet = sections(render(config))
    tables = template_tables(template)
    assert len(tables) == len(config.tables)
    seen_indexes = 0
    for table in tables:
        section = sheet[f"`{table['TableName']}`"]
        types = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
        keys = key_names(table["KeySchema"])
        assert table_row(section, "partition key")[1] == f"`{keys['HASH']}` ({types[keys['HASH']]})"
        sort = keys.get("RANGE")
        expected_sort = f"`{sort}` ({types[sort]})" if sort else "—"
        assert table_row(section, "sort key")[1] == expected_sort
        definitions = table_row(section, "attribute definitions")[1]
        assert sorted(re.findall(r"`([^`]+)` \((\w)\)", definitions)) == sorted(types.items())
        stream = table.get("StreamSpecification", {}).get("StreamViewType")
        assert table_row(section, "stream")[1] == (f"`{stream}`" if stream else "off")
        ttl = table.get("TimeToLiveSpecification", {}).get("AttributeName")
        assert table_row(section, "TTL attribute")[1] == (f"`{ttl}`" if ttl else "none")
        throughput = table.get("ProvisionedThroughput")
        billing = table_row(section, "billing")[1]
        if throughput:
            assert f"{throughput['ReadCapacityUnits']} RCU" in billing
            assert f"{throughput['WriteCapacityUnits']} WCU" in billing
        else:
            assert "on demand" in billing
        for kind, field in (("GSI", "GlobalSecondaryIndexes"), ("LSI", "LocalSecondaryIndexes")):
            for index in table.get(field, []):
                row = table_row(section, f"`{index['IndexName']}`")
                index_keys = key_names(index["KeySchema"])
                assert row[1] == kind
                assert row[2] == f"`{index_keys['HASH']}` ({types[index_keys['HASH']]})"
                index_sort = index_keys.get("RANGE")
                assert row[3] == (f"`{index_sort}` ({types[index_sort]})" if index_sort else "—")
                assert row[4].startswith(index["Projection"]["ProjectionType"])
                for name in index["Projection"].get("NonKeyAttributes", []):
                    assert f"`{name}`" in row[4]
                seen_indexes += 1
    assert seen_indexes == sum(
        len(spec.global_indexes) + len(spec.local_indexes) for spec in config.tables
    )


@pytest.mark.slow
def test_a_gsi_added_through_the_stage_config_appears_without_editing_the_generator(
    synthesized: Synthesized,
) -> None:
    config, template = synthesized.config, synthesized.data
    (users,) = [t for t in template_tables(template) if t["TableName"] == "Users"]
    in_template = ADDED_INDEX in {i["IndexName"] for i in users["GlobalSecondaryIndexes"]}
    sheet = sections(render(config))
    in_sheet = ADDED_INDEX in sheet["`Users`"]
    added = ADDED_INDEX in {index.name for index in config.table("users").global_indexes}
    assert in_template == in_sheet == added
    if added:
        # User rows have `handle` and `createdAt`, so the sheet says they land in the index.
        user = sheet["user (`Users`)"]
        (appears,) = [line for line in user.splitlines() if line.startswith("Appears in indexes")]
        assert f"`{ADDED_INDEX}`" in appears


@pytest.mark.slow
def test_the_functions_query_the_indexes_the_sheet_names(synthesized: Synthesized) -> None:
    functions = {
        resource["Properties"]["FunctionName"]: resource["Properties"]
        for resource in synthesized.functions["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    checked = 0
    for query in FUNCTION_QUERIES:
        if query.index_env is None:
            continue
        function = functions[getattr(synthesized.config.functions, query.function)]
        assert function["Environment"]["Variables"][query.index_env] == query.query.index
        checked += 1
    assert checked == 2


# ---------------------------------------------------------------- patterns documented


def test_every_pattern_function_is_declared_and_documented() -> None:
    public = {
        name
        for name, member in inspect.getmembers(Patterns, inspect.isfunction)
        if not name.startswith("_")
    }
    # One generic executor; a method only for the patterns with rules beyond their steps.
    assert public == {"run", *HAND_WRITTEN}
    assert {name: method.__name__ for name, method in HAND_WRITTEN.items()} == {
        name: name for name in HAND_WRITTEN
    }
    declared = {pattern.name for pattern in PATTERNS}
    assert set(HAND_WRITTEN) <= declared
    for pattern in PATTERNS:
        assert (pattern.query is None) is (pattern.name in HAND_WRITTEN), pattern.name
    config = stage_config("local")
    sheet = sections(render(config))
    for pattern in PATTERNS:
        section = sheet[pattern.name]
        assert f"`{cli_usage(pattern.command)}`" in section
        assert f"patterns {pattern.command} " in cli_usage(pattern.command)
        for step in pattern.steps:
            assert f"**{step.operation}**" in section
            table = config.table(step.table).table_name
            if isinstance(step, KeyQuery):
                assert f"| key condition | `{step.key_condition}` |" in section
                for placeholder, template in step.values:
                    assert f"`{placeholder}` = `{template}`" in section
                where = f"`{step.index}` of `{table}`" if step.index else f"table `{table}`"
                assert where in section
                assert f'"KeyConditionExpression": "{step.key_condition}"' in section
            elif isinstance(step, ConditionalPut):
                assert f"| condition | `{step.condition}` |" in section
            elif isinstance(step, TransactWrite):
                for number, put in enumerate(step.puts, start=1):
                    assert f"| condition {number} | `{put.condition}` |" in section


def test_the_lambda_queries_are_documented() -> None:
    config = stage_config("local")
    sheet = render(config)
    for query in FUNCTION_QUERIES:
        row = next(line for line in sheet.splitlines() if f"`{query.method}`" in line)
        assert f"`{query.query.key_condition}`" in row
        for placeholder, name in query.query.names:
            assert f"`{placeholder}` = `{name}`" in row
        if query.query.index:
            assert f"`{query.query.index}`" in row
        assert f"`{getattr(config.functions, query.function)}`" in row


# ---------------------------------------------------------------- the functions send it


class RecordingClient:
    """A real client that records every call's parameters (copied: callers mutate them)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        operation = self._client.meta.method_to_api_mapping.get(name)
        if operation is None:
            return method

        def record(**kwargs: Any) -> Any:
            self.calls.append((operation, copy.deepcopy(kwargs)))
            return method(**kwargs)

        return record


@pytest.fixture
def seeded_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An in-process moto DynamoDB with the local stage's tables and the sample data."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    config = stage_config("local")
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        for spec in config.tables:
            client.create_table(**create_table_request(spec))
            if spec.key in ("users", "messages"):
                for item in sample_items(config, spec.key, 6, ANCHOR):
                    client.put_item(TableName=spec.table_name, Item=item)
        yield client


ME, OTHER, THIRD = (user.user_id for user in sample_users(3))
GROUP = conversation_group_uuid()
EMAIL = sample_users(1)[0].email
# Each pattern run with sample arguments, and the parts its templates are rendered with.
RUNS: dict[str, tuple[Callable[[Patterns], Any], dict[str, str]]] = {
    "list_conversations": (
        lambda p: p.run(LIST_CONVERSATIONS, user_uuid=ME, year="2026"),
        {"user_uuid": ME, "year": "2026"},
    ),
    "get_conversation": (
        lambda p: p.run(GET_CONVERSATION, message_group_uuid=GROUP, limit=3),
        {"message_group_uuid": GROUP},
    ),
    "create_message": (
        lambda p: p.create_message(GROUP, ME, "hello", now=LATER),
        {"message_group_uuid": GROUP, "user_uuid": ME},
    ),
    "create_conversation": (
        lambda p: p.create_conversation(ME, THIRD, "first", now=LATER),
        {"user_uuid": ME},
    ),
    "find_user_by_email": (lambda p: p.run(FIND_USER_BY_EMAIL, email=EMAIL), {"email": EMAIL}),
}


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda pattern: pattern.name)
def test_the_function_sends_what_its_declaration_says(
    pattern: AccessPattern, seeded_client: Any
) -> None:
    config = stage_config("local")
    recorder = RecordingClient(seeded_client)
    run, parts = RUNS[pattern.name]
    result = run(Patterns(Target(config, None), client=recorder))
    assert result.items, "the sample data should give every pattern something to return"
    # One request per step, in order (no step here reads more than one page of sample data).
    assert [operation for operation, _ in recorder.calls] == [s.operation for s in pattern.steps]
    for (_, params), step in zip(recorder.calls, pattern.steps, strict=True):
        table = config.table(step.table).table_name
        if isinstance(step, KeyQuery):
            assert params["TableName"] == table
            assert params.get("IndexName") == step.index
            assert params["KeyConditionExpression"] == step.key_condition
            assert params["ExpressionAttributeValues"] == {
                placeholder: {"S": template.format(**parts)}
                for placeholder, template in step.values
            }
            assert params.get("ScanIndexForward", True) is step.scan_forward
            assert ("Limit" in params) is (step.paging is Paging.CURSOR)
        elif isinstance(step, BatchGet):
            keys = params["RequestItems"][table]["Keys"]
            assert {key[step.entity.key[0].attribute]["S"] for key in keys} == {ME, THIRD}
        elif isinstance(step, ConditionalPut):
            assert params["TableName"] == table
            assert params["ConditionExpression"] == step.condition
            assert step.entity.matches(params["Item"])
        else:
            puts = [entry["Put"] for entry in params["TransactItems"]]
            assert len(puts) == len(step.puts)
            for put, declared in zip(puts, step.puts, strict=True):
                assert put["TableName"] == table
                assert put["ConditionExpression"] == declared.condition
                assert declared.entity.matches(put["Item"])


class QueryRecorder:
    """A client whose `query` records its parameters and finds nothing."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def query(self, **params: Any) -> dict[str, Any]:
        self.calls.append(copy.deepcopy(params))
        return {"Items": []}


def test_the_lambda_repositories_send_the_documented_queries() -> None:
    config = stage_config("local")
    from message_stream.repository import MessageRepository
    from user_manager.repository import UserRepository

    calls: dict[str, dict[str, Any]] = {}
    client = QueryRecorder()
    email_index, group_index = (str(query.query.index) for query in FUNCTION_QUERIES[:2])
    UserRepository(client, "Users", email_index).find_by_email("a@x.io", now=0)
    calls["UserRepository.find_by_email"] = client.calls[-1]
    repository = MessageRepository(client, "cruddur-messages", group_index)
    repository.group_rows("g1")
    calls["MessageRepository.group_rows"] = client.calls[-1]
    repository.current_group_row("GRP#u1", "g1")
    calls["MessageRepository.current_group_row"] = client.calls[-1]
    assert set(calls) == {query.method for query in FUNCTION_QUERIES}
    for query in FUNCTION_QUERIES:
        sent = calls[query.method]
        documented = query.query
        assert sent["KeyConditionExpression"] == documented.key_condition
        assert sent.get("IndexName") == documented.index
        assert sent["ExpressionAttributeNames"] == dict(documented.names)
        key_placeholders = re.findall(r":\w+", documented.key_condition)
        assert sorted(key_placeholders) == sorted(p for p, _ in documented.values)
        assert set(key_placeholders) <= set(sent["ExpressionAttributeValues"])
        assert sent.get("ConsistentRead", False) is query.consistent
        documented.validate(config.table(documented.table))


# ---------------------------------------------------------------- refusals


def test_a_pattern_on_an_index_the_table_lacks_is_rejected() -> None:
    config = stage_config("local")
    wrong = replace(
        FIND_USER_BY_EMAIL,
        steps=(replace(FIND_USER_BY_EMAIL_QUERY, index="NoSuchIndex"),),
    )
    with pytest.raises(PatternError) as caught:
        validate_patterns(config, [wrong])
    message = str(caught.value)
    assert "find_user_by_email" in message
    assert "Users has no index 'NoSuchIndex'" in message
    assert "EmailIndex" in message  # the indexes it does have


def test_a_stage_without_the_index_a_pattern_uses_sends_and_renders_nothing(
    seeded_client: Any,
) -> None:
    config = stage_config("local")
    users = replace(config.table("users"), attributes=(("userId", AttributeType.STRING),))
    broken = with_table(config, replace(users, global_indexes=()))
    with pytest.raises(PatternError, match="has no index 'EmailIndex'"):
        render(broken)
    recorder = RecordingClient(seeded_client)
    with pytest.raises(PatternError, match="find_user_by_email"):
        Patterns(Target(broken, None), client=recorder)
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"key_condition": "email = :email AND handle = :h"}, "not keys"),
        ({"key_condition": "userId = :email"}, "needs `email = :value`"),
        ({"values": ((":mail", "{email}"),)}, "values are declared for [':mail']"),
        ({"table": "nope"}, "no table 'nope'"),
    ],
)
def test_a_key_condition_that_does_not_fit_the_index_is_rejected(
    change: dict[str, Any], problem: str
) -> None:
    wrong = replace(FIND_USER_BY_EMAIL, steps=(replace(FIND_USER_BY_EMAIL_QUERY, **change),))
    with pytest.raises(PatternError, match=re.escape(problem)):
        validate_patterns(stage_config("local"), [wrong])


def test_entities_are_checked_against_the_table_and_build_only_declared_rows() -> None:
    wrong_key = replace(GROUP_ROW, key=(KeyTemplate("pk", "GRP#{user_uuid}"),))
    with pytest.raises(PatternError, match=r"does not match table cruddur-messages"):
        validate_patterns(stage_config("local"), [], [wrong_key])
    with pytest.raises(PatternError, match=r"missing attributes \['created_at'"):
        GROUP_ROW.item({"user_uuid": "u", "last_message_at": "t"}, {})
    attributes = {attribute.name: "x" for attribute in GROUP_ROW.attributes}
    with pytest.raises(PatternError, match=r"undeclared \['surprise'\]"):
        GROUP_ROW.item({"user_uuid": "u", "last_message_at": "t"}, {**attributes, "surprise": 1})
    with pytest.raises(PatternError, match="no value for last_message_at"):
        GROUP_ROW.item({"user_uuid": "u"}, attributes)
    item = GROUP_ROW.item({"user_uuid": "u", "last_message_at": "t"}, attributes)
    assert (item["pk"], item["sk"]) == ("GRP#u", "t")
    assert GROUP_ROW.matches(to_wire(item))


def test_a_pattern_without_a_cli_command_is_refused() -> None:
    with pytest.raises(PatternError, match="'no-such-pattern' is not a"):
        cli_usage("no-such-pattern")


def test_a_bad_declaration_exits_non_zero_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong: Entity = replace(GROUP_ROW, table="nope")
    monkeypatch.setattr(
        data_model, "validate_patterns", lambda config: validate_patterns(config, entities=[wrong])
    )
    out = tmp_path / "model.md"
    assert main(["--out", str(out)]) == 1
    assert (
        capsys.readouterr().err
        == "error: entity 'message group row': stage local has no table 'nope'\n"
    )
    assert not out.exists()
    assert main(["--stage", "staging", "--out", str(out)]) == 2
    assert "unknown stage 'staging'" in capsys.readouterr().err


# ---------------------------------------------------------------- writing and --check


def test_main_writes_the_sheet_and_check_catches_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "docs" / "data-model.md"
    assert main(["--check", "--out", str(out)]) == 1  # missing
    capsys.readouterr()
    assert main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render(stage_config("local"))
    assert main(["--check", "--out", str(out)]) == 0
    capsys.readouterr()
    text = out.read_text(encoding="utf-8")
    out.write_text(text.replace("`EmailIndex`", "`OldIndex`", 1), encoding="utf-8")
    assert main(["--check", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "is stale: run `make model`" in err
    assert "-| `OldIndex`" in err and "+| `EmailIndex`" in err
    assert out.read_text(encoding="utf-8") != text  # --check wrote nothing
    assert main(["--stage", "prod", "--check", "--out", str(out)]) == 1  # another stage


def test_the_committed_sheet_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", "--out", str(DEFAULT_OUT)]) == 0, capsys.readouterr().err
