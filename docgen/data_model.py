"""`make model`: write `docs/data-model.md`, the data-model sheet, from the app itself.

Nothing in the sheet is typed by hand:
- the tables (keys, attribute types, indexes, stream, TTL, billing, protection) come from
  the stage config in `stacks/config.py`, the objects the CDK app synthesizes from;
- the rows and every access pattern (table, index, key condition, placeholder templates,
  order, paging, write conditions), the Lambda functions' queries included, come from the
  declarations in `datamodel` that the pattern functions and the repositories build their
  requests from, and the command that runs each pattern from the `python -m scripts` CLI.

Every declaration is checked against the stage's tables first: a pattern on an index the
table lacks stops the generator with one line naming it, and nothing is written.

Usage: `python -m docgen.data_model [--stage local] [--out docs/data-model.md] [--check]`.
`--check` writes nothing and exits 1 when the file differs from what would be generated.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from datamodel.entities import ENTITIES, GROUP_PREFIX, MESSAGE_PREFIX, Entity, PatternError
from datamodel.patterns import (
    FUNCTION_QUERIES,
    PATTERNS,
    AccessPattern,
    BatchGet,
    ConditionalPut,
    KeyQuery,
    Paging,
    Step,
    validate_patterns,
)
from datamodel.tables import ConfigError, IndexSpec, Projection, TableSpec
from scripts.codec import to_python
from scripts.errors import ToolError
from scripts.sample_data import conversation_group_uuid, sample_items, sample_users
from stacks.config import Encryption, StageConfig, stage_config

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "docs" / "data-model.md"
CLI = "python -m scripts"
ENTITIES_SOURCE = "`lambda_src/datamodel/entities.py`"
# Examples are built from the sample data set at a fixed time, so the sheet is the same on
# every run.
EXAMPLE_ANCHOR = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
EXAMPLE_COUNT = 4  # sample rows per table: enough for every entity (two group rows, messages)


# ---------------------------------------------------------------- the CLI commands


def cli_usage(command: str) -> str:
    """`python -m scripts patterns COMMAND ARGS [OPTIONS]`, read from the CLI's own definition."""
    from scripts.cli import app  # the CLI pulls in rich and typer; only needed here

    # typer vendors its own click, so the command tree is read by attribute, not by class.
    root: Any = typer.main.get_command(app)
    group = getattr(root, "commands", {}).get("patterns")
    commands = getattr(group, "commands", {})
    if command not in commands:
        raise PatternError(f"pattern command {command!r} is not a `{CLI} patterns` command")
    words = [CLI, "patterns", command]
    for param in commands[command].params:
        name = str(param.name or "").upper()
        if param.param_type_name == "argument":
            words.append(name if param.required else f"[{name}]")
        else:
            flag = max(param.opts, key=len)
            words.append(f"[{flag}]" if getattr(param, "is_flag", False) else f"[{flag} {name}]")
    return " ".join(words)


# ---------------------------------------------------------------- rendering


def _code(text: object) -> str:
    return f"`{text}`"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines.extend("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows)
    return lines


def _key(name: str | None, table: TableSpec) -> str:
    if name is None:
        return "—"
    return f"`{name}` ({table.attribute_types[name].value})"


def _capacity(spec: TableSpec, index: IndexSpec | None = None) -> str:
    if spec.capacity is None:
        return "on demand"
    if index is not None and index in spec.local_indexes:
        return "the table's"
    capacity = (index.capacity if index is not None else None) or spec.capacity
    return f"{capacity.read} RCU, {capacity.write} WCU"


def _projection(index: IndexSpec) -> str:
    if index.projection is Projection.INCLUDE:
        return f"INCLUDE {', '.join(_code(name) for name in index.non_key_attributes)}"
    return index.projection.value


def _stage_section(config: StageConfig) -> list[str]:
    cached = ", ".join(_code(config.table(key).table_name) for key in config.dax.cached_tables)
    encryption = (
        "customer-managed KMS key"
        if config.encryption is Encryption.CUSTOMER_MANAGED
        else "AWS-owned key"
    )
    rows = [
        ("point-in-time recovery", "on" if config.point_in_time_recovery else "off"),
        ("deletion protection", "on" if config.deletion_protection else "off"),
        ("on stack deletion", "retained" if config.retain_data else "deleted"),
        ("encryption at rest", encryption),
        ("alarms (throttles, system errors)", "on" if config.alarms else "off"),
        (
            "DAX",
            f"on: cluster `{config.dax.cluster_name}` caches {cached}"
            if config.dax.enabled
            else "off",
        ),
    ]
    return [
        f"Stage `{config.name}`, region `{config.region}`. Settings of every table:",
        "",
        *_table(("setting", "value"), rows),
    ]


def _table_section(spec: TableSpec) -> list[str]:
    billing = (
        "on demand (`PAY_PER_REQUEST`)"
        if spec.capacity is None
        else f"provisioned: {spec.capacity.read} RCU, {spec.capacity.write} WCU"
    )
    rows = [
        ("logical key (code, `--stage` tools)", _code(spec.key)),
        ("partition key", _key(spec.partition_key, spec)),
        ("sort key", _key(spec.sort_key, spec)),
        (
            "attribute definitions",
            ", ".join(f"`{name}` ({kind.value})" for name, kind in spec.attributes),
        ),
        ("billing", billing),
        ("stream", f"`{spec.stream.value}`" if spec.stream else "off"),
        ("TTL attribute", _code(spec.ttl_attribute) if spec.ttl_attribute else "none"),
    ]
    lines = [f"### {_code(spec.table_name)}", "", *_table(("property", "value"), rows), ""]
    indexes = [("GSI", index) for index in spec.global_indexes]
    indexes += [("LSI", index) for index in spec.local_indexes]
    if not indexes:
        return [*lines, "No secondary indexes.", ""]
    index_rows = [
        (
            _code(index.name),
            kind,
            _key(index.partition_key, spec),
            _key(index.sort_key, spec),
            _projection(index),
            _capacity(spec, index),
        )
        for kind, index in indexes
    ]
    header = ("index", "kind", "partition key", "sort key", "projection", "capacity")
    return [*lines, *_table(header, index_rows), ""]


def _example_items(config: StageConfig, entity: Entity) -> list[dict[str, Any]]:
    try:
        items = sample_items(config, entity.table, EXAMPLE_COUNT, EXAMPLE_ANCHOR)
    except ToolError:
        return []
    return [to_python(item) for item in items if entity.matches(item)]


def _indexes_of(entity: Entity, table: TableSpec) -> list[IndexSpec]:
    """The indexes a row of `entity` lands in: those whose key attributes it always has."""
    names = {key.attribute for key in entity.key} | {a.name for a in entity.attributes}
    return [
        index
        for index in (*table.global_indexes, *table.local_indexes)
        if index.partition_key in names and (index.sort_key is None or index.sort_key in names)
    ]


def _entity_section(config: StageConfig, entity: Entity, *, source: str) -> list[str]:
    table = config.table(entity.table)
    lines = [
        f"### {entity.name} ({_code(table.table_name)})",
        "",
        entity.description,
        "",
        f"Declared in {source}.",
        "",
    ]
    key_rows = [(_code(key.attribute), _code(key.template)) for key in entity.key]
    lines += [*_table(("key attribute", "value"), key_rows), ""]
    indexes = _indexes_of(entity, table)
    listed = ", ".join(_code(index.name) for index in indexes) or "none"
    lines += [f"Appears in indexes: {listed}.", ""]
    attribute_rows = [
        (_code(attribute.name), attribute.type, attribute.description)
        for attribute in entity.attributes
    ]
    lines += [*_table(("attribute", "type", "meaning"), attribute_rows), ""]
    examples = _example_items(config, entity)
    if examples:
        lines += [
            f"Example, from the sample data set (`{CLI} seed`):",
            "",
            "```json",
            json.dumps(examples[0], indent=2, ensure_ascii=False, default=str),
            "```",
            "",
        ]
    return lines


def example_parts() -> dict[str, str]:
    """Argument values for the example requests, taken from the sample data set."""
    me = sample_users(1)[0]
    return {
        "user_uuid": me.user_id,
        "year": str(EXAMPLE_ANCHOR.year),
        "message_group_uuid": conversation_group_uuid(),
        "email": me.email,
    }


def _values(query: KeyQuery) -> str:
    return ", ".join(f"`{p}` = `{t}`" for p, t in query.values)


def _order(config: StageConfig, query: KeyQuery) -> str:
    _, sort = query.key_schema(config.table(query.table))
    if sort is None:
        return "no sort key: the partition's items come in no defined order"
    if query.scan_forward:
        return "ascending by sort key (`ScanIndexForward` true, the default)"
    return "descending by sort key (`ScanIndexForward: false`): newest first"


def _where(config: StageConfig, table_key: str, index: str | None) -> str:
    table = config.table(table_key).table_name
    if index is None:
        return f"table {_code(table)}"
    kind = "GSI" if index in {i.name for i in config.table(table_key).global_indexes} else "LSI"
    return f"{kind} {_code(index)} of {_code(table)}"


def _step_lines(config: StageConfig, number: int, step: Step) -> list[str]:
    title = f"{number}. **{step.operation}** on {_where(config, step.table, _index(step))}"
    lines = [f"{title}: {step.purpose}.", ""]
    rows: list[tuple[str, str]] = []
    if isinstance(step, KeyQuery):
        rows.append(("key condition", _code(step.key_condition)))
        rows.append(("placeholder values", _values(step)))
        rows.append(("order", _order(config, step)))
        rows.append(("paging", step.paging.description))
        if step.entity is not None:
            rows.append(("returns", f"rows of the {step.entity.name} entity"))
    elif isinstance(step, BatchGet):
        keys = ", ".join(f"`{k.attribute}` = `{k.template}`" for k in step.entity.key)
        rows.append(("keys", f"{keys}, one per row"))
        rows.append(("unprocessed keys", "requested again until none are left"))
    elif isinstance(step, ConditionalPut):
        rows.append(("item", _put_item(step)))
        rows.append(("condition", _code(step.condition)))
    else:
        for position, put in enumerate(step.puts, start=1):
            rows.append((f"put {position}", f"{put.purpose}: {_put_item(put)}"))
            rows.append((f"condition {position}", _code(put.condition)))
        rows.append(("atomic", "all puts are written, or none (`TransactionCanceledException`)"))
    lines += ["   " + line for line in _table(("property", "value"), rows)]
    if isinstance(step, KeyQuery):
        limit = 20 if step.paging is Paging.CURSOR else None
        request = step.request(config, example_parts(), limit=limit)
        lines += [
            "",
            "   The request, for the sample data set:",
            "",
            "   ```json",
            *("   " + line for line in json.dumps(request, indent=2).splitlines()),
            "   ```",
        ]
    return [*lines, ""]


def _index(step: Step) -> str | None:
    return step.index if isinstance(step, KeyQuery) else None


def _put_item(put: ConditionalPut) -> str:
    keys = ", ".join(f"`{k.attribute}` = `{k.template}`" for k in put.entity.key)
    return f"a {put.entity.name} ({keys})"


def _pattern_section(config: StageConfig, pattern: AccessPattern) -> list[str]:
    lines = [
        f"### {pattern.name}",
        "",
        pattern.description,
        "",
        f"Run it: `{cli_usage(pattern.command)}`",
        "",
    ]
    for number, step in enumerate(pattern.steps, start=1):
        lines += _step_lines(config, number, step)
    return lines


def _summary_row(config: StageConfig, pattern: AccessPattern) -> tuple[str, ...]:
    operations = ", ".join(step.operation for step in pattern.steps)
    where = "; ".join(
        dict.fromkeys(_where(config, step.table, _index(step)) for step in pattern.steps)
    )
    conditions = "; ".join(
        _code(step.key_condition) for step in pattern.steps if isinstance(step, KeyQuery)
    )
    return (f"[{pattern.name}](#{pattern.name})", operations, where, conditions or "—")


def _lambda_section(config: StageConfig) -> list[str]:
    rows = []
    for function_query in FUNCTION_QUERIES:
        query = function_query.query
        function = getattr(config.functions, function_query.function)
        index = _where(config, query.table, query.index)
        if function_query.index_env:
            index += f" (env `{function_query.index_env}`)"
        reads = "strongly consistent" if function_query.consistent else "eventually consistent"
        notes = [reads, function_query.paging]
        if function_query.filter:
            filter_values = ", ".join(f"`{p}` = `{t}`" for p, t in function_query.filter_values)
            notes.insert(0, f"filter `{function_query.filter}` ({filter_values})")
        names = ", ".join(f"`{k}` = `{v}`" for k, v in query.names)
        rows.append(
            (
                _code(function),
                f"`{function_query.method}`",
                index,
                _code(query.key_condition),
                names,
                _values(query),
                "; ".join(notes),
            )
        )
    header = ("function", "code", "reads", "key condition", "names", "values", "notes")
    messages = config.table("messages")
    stream = messages.stream.value if messages.stream else "off"
    consumer = (
        f"`{config.functions.message_stream}` consumes the stream of "
        f"`{messages.table_name}` (`{stream}`): for each `INSERT` of a row whose `pk` starts "
        f"with `{MESSAGE_PREFIX}` (a message) it moves the conversation's group rows "
        f"(`{GROUP_PREFIX}...`) to the message's `sk` and text, a delete and a put in "
        "one transaction; it finds them with `group_rows` and, when its view of a row was "
        "stale, re-reads it with `current_group_row`."
    )
    return [
        "Queries the Lambda functions send, declared in `lambda_src/datamodel/patterns.py` "
        "(`FUNCTION_QUERIES`; the indexes come from the environment the functions "
        "stack sets).",
        "",
        *_table(header, rows),
        "",
        consumer,
        "",
    ]


def validate(config: StageConfig) -> None:
    """`PatternError` naming the first declaration that does not fit `config`'s tables."""
    validate_patterns(config)


def render(config: StageConfig) -> str:
    """The whole sheet for `config`, as Markdown (the same text on every run)."""
    validate(config)
    single_table = [e for e in ENTITIES if e.table == "messages"]
    other_rows = [e for e in ENTITIES if e.table != "messages"]
    lines = [
        f"# Data model (`{config.name}` stage)",
        "",
        "<!-- Generated by `make model` (python -m docgen.data_model); do not edit by hand. -->",
        "",
        "Generated from the stage config (`stacks/config.py`, what the CDK app synthesizes),",
        "the row and access-pattern declarations in `lambda_src/datamodel/` (what the pattern",
        "functions and the Lambda repositories send). `make model` rewrites it;",
        "`python -m docgen.data_model --check` fails when it is out of date.",
        "",
        "## Tables",
        "",
        *_stage_section(config),
        "",
    ]
    for spec in config.tables:
        lines += _table_section(spec)
    messages = config.table("messages").table_name
    lines += [
        "## Single-table design",
        "",
        f"`{messages}` holds two kinds of rows, told apart by the prefix of `pk`.",
        "",
    ]
    for entity in single_table:
        lines += _entity_section(config, entity, source=ENTITIES_SOURCE)
    lines += ["## Other rows", ""]
    for entity in other_rows:
        lines += _entity_section(config, entity, source=ENTITIES_SOURCE)
    lines += [
        "## Access patterns",
        "",
        f"Each is a method of `scripts.patterns.Patterns`, run by `{CLI} [--stage local|prod] "
        'patterns ...` (or `make patterns ARGS="..."`). Every request asks for '
        "`ReturnConsumedCapacity: INDEXES`.",
        "",
        *_table(
            ("pattern", "operations", "reads and writes", "key conditions"),
            (_summary_row(config, pattern) for pattern in PATTERNS),
        ),
        "",
    ]
    for pattern in PATTERNS:
        lines += _pattern_section(config, pattern)
    lines += ["## Lambda functions", "", *_lambda_section(config)]
    return "\n".join(lines).rstrip("\n") + "\n"


def stale_diff(current: str, expected: str, path: Path, limit: int = 40) -> str:
    """The first `limit` lines of a unified diff from `current` to `expected`."""
    diff = difflib.unified_diff(
        current.splitlines(),
        expected.splitlines(),
        fromfile=f"{path} (committed)",
        tofile=f"{path} (generated)",
        lineterm="",
    )
    return "\n".join(list(diff)[:limit])


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with `--check`, compare) the sheet; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m docgen.data_model", description="Write docs/data-model.md from the app."
    )
    parser.add_argument("--stage", default="local", help="stage to describe (default: local)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the Markdown file")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the file is stale"
    )
    args = parser.parse_args(argv)
    try:
        text = render(stage_config(args.stage))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except PatternError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out: Path = args.out
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else ""
        if current != text:
            print(f"{out} is stale: run `make model`", file=sys.stderr)
            print(stale_diff(current, text, out), file=sys.stderr)
            return 1
        print(f"{out} is up to date")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
