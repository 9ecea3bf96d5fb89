"""A read pattern declared only as data becomes a working CLI command and a `Patterns.run`.

The pattern below exists only in this file: no `Patterns` method, no typer command written
for it. Registered with `scripts.cli.add_pattern_command` (what `scripts.cli` does for every
pattern of `datamodel.patterns.PATTERNS`), it runs against moto and DynamoDB Local with its
declared arguments, defaults, checks, and the `--limit`/`--cursor` of a cursor-paged query.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import typer
from typer.testing import CliRunner

from datamodel.entities import GROUP_ROW, PatternError
from datamodel.patterns import AccessPattern, KeyQuery, Paging, Param
from scripts import cli
from scripts.cli import main
from scripts.codec import to_wire
from scripts.errors import UsageError
from scripts.patterns import Patterns, encode_cursor
from scripts.sample_data import conversation_group_uuid, sample_users
from scripts.target import resolve_target
from stacks.config import StageConfig, stage_config

ANCHOR = "2026-01-01T09:00:00+00:00"
MID_JANUARY = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

CONVERSATIONS_IN_MONTH = AccessPattern(
    name="conversations_in_month",
    description="A member's conversations with a message in one month, newest first.",
    steps=(
        KeyQuery(
            purpose="one page of the member's group rows of one month",
            table="messages",
            key_condition="pk = :pk AND begins_with(sk, :month)",
            values=((":pk", GROUP_ROW.template("pk")), (":month", "{month}")),
            scan_forward=False,
            paging=Paging.CURSOR,
            entity=GROUP_ROW,
        ),
    ),
    params=(
        Param("user_uuid", "Member's user uuid.", cli="user", label="member", non_empty=True),
        Param(
            "month",
            "Month prefix of sk.",
            option=True,
            default="2026-01",
            pattern="[0-9]{4}-[0-9]{2}",
            must="YYYY-MM",
        ),
    ),
    summary="Message groups of USER in one month, newest first, a page at a time.",
    title="conversations of {user_uuid} in {month}",
)


@pytest.fixture
def with_declared_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI with `CONVERSATIONS_IN_MONTH` registered (for this test only)."""
    commands = list(cli.patterns_app.registered_commands)
    monkeypatch.setattr(cli.patterns_app, "registered_commands", commands)
    cli.add_pattern_command(CONVERSATIONS_IN_MONTH)


@pytest.fixture
def two_conversations(stage_tables: StageConfig, ddb_endpoint: str) -> Patterns:
    """The sample data set (one conversation in January 2026) plus a second one for me."""
    assert main(["--endpoint", ddb_endpoint, "seed", "--count", "4", "--anchor", ANCHOR]) == 0
    patterns = Patterns(resolve_target("local", ddb_endpoint))
    me, _other, third = sample_users(3)
    patterns.create_conversation(me.user_id, third.user_id, "hello third", now=MID_JANUARY)
    return patterns


def run(endpoint: str, *args: str) -> int:
    return main(["--endpoint", endpoint, "patterns", "conversations-in-month", *args])


@pytest.mark.usefixtures("with_declared_pattern")
def test_a_declared_pattern_is_a_cli_command_with_its_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["patterns", "--help"]) == 0
    assert "conversations-in-month" in capsys.readouterr().out
    assert main(["patterns", "conversations-in-month", "--help"]) == 0
    shown = capsys.readouterr().out
    for text in (
        "Message groups of USER in one month, newest first, a page at a time.",
        "Member's user uuid.",
        "--month",
        "Month prefix of sk.",
        "[default: 2026-01]",
        "--limit",
        "Message group rows per page.",
        "[default: 20]",
        "--cursor",
        "--json",
    ):
        assert text in shown


@pytest.mark.usefixtures("with_declared_pattern")
def test_a_declared_pattern_runs_pages_and_checks_its_arguments(
    two_conversations: Patterns, ddb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    me, other, third = sample_users(3)
    assert run(ddb_endpoint, me.user_id, "--limit", "1", "--json") == 0
    first = json.loads(capsys.readouterr().out)
    assert [item["user_uuid"]["S"] for item in first["items"]] == [third.user_id]
    assert first["cursor"]
    assert run(ddb_endpoint, me.user_id, "--limit", "1", "--cursor", first["cursor"], "--json") == 0
    second = json.loads(capsys.readouterr().out)
    groups = [item["message_group_uuid"]["S"] for item in second["items"]]
    assert groups == [conversation_group_uuid()]

    assert run(ddb_endpoint, me.user_id, "--month", "2026-02") == 0
    shown = capsys.readouterr().out
    assert f"0 item(s) from conversations of {me.user_id} in 2026-02" in shown
    assert "capacity computed from item sizes: 0.5 RCU" in shown

    assert run(ddb_endpoint, me.user_id, "--month", "2026-1") == 2
    assert capsys.readouterr().err == "error: month must be YYYY-MM, got '2026-1'\n"
    assert run(ddb_endpoint, "  ") == 2
    assert capsys.readouterr().err == "error: member must not be empty\n"
    assert run(ddb_endpoint, me.user_id, "--limit", "0") == 2
    assert "error: --limit must be between 1 and 100" in capsys.readouterr().err
    elsewhere = encode_cursor(to_wire({"pk": f"GRP#{other.user_id}", "sk": "2026-01-02"}))
    assert run(ddb_endpoint, me.user_id, "--cursor", elsewhere) == 1
    assert capsys.readouterr().err == "error: --cursor belongs to another member\n"

    # The same through the library: the defaults filled in, the checks the same.
    result = two_conversations.run(CONVERSATIONS_IN_MONTH, user_uuid=me.user_id)
    assert result.arguments == {"user_uuid": me.user_id, "month": "2026-01"}
    assert len(result.items) == 2
    with pytest.raises(UsageError, match="month must be YYYY-MM"):
        two_conversations.run(CONVERSATIONS_IN_MONTH, user_uuid=me.user_id, month="January")


def test_a_declaration_whose_params_do_not_fit_is_refused() -> None:
    stage = stage_config("local")
    CONVERSATIONS_IN_MONTH.validate(stage)
    without_month = replace(CONVERSATIONS_IN_MONTH, params=CONVERSATIONS_IN_MONTH.params[:1])
    with pytest.raises(PatternError, match=r"needs params \['month'\], which are not declared"):
        without_month.validate(stage)
    reserved = replace(CONVERSATIONS_IN_MONTH.params[1], name="limit")
    clash = replace(CONVERSATIONS_IN_MONTH, params=(CONVERSATIONS_IN_MONTH.params[0], reserved))
    with pytest.raises(PatternError, match="param name 'limit' must be an identifier, unique"):
        clash.validate(stage)
    untitled = replace(CONVERSATIONS_IN_MONTH, title="conversations of {user}")
    with pytest.raises(PatternError, match=r"names undeclared params \['user'\]"):
        untitled.validate(stage)


def test_a_param_without_a_default_is_required_on_the_command_line() -> None:
    month = replace(CONVERSATIONS_IN_MONTH.params[1], default=None)
    pattern = replace(CONVERSATIONS_IN_MONTH, params=(CONVERSATIONS_IN_MONTH.params[0], month))
    group = typer.Typer()
    cli.add_pattern_command(pattern, group)
    result = CliRunner().invoke(group, ["some-user"])
    assert result.exit_code == 2
    assert "Missing option '--month'" in result.output
