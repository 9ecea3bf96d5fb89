"""`python -m scripts`: the data tooling's command line (typer + rich).

Every command takes `--stage local|prod` and `--endpoint URL` before its name:
`python -m scripts --stage prod list-tables`. Output is for people (tables, progress bars)
unless `--json` asks for machine-readable lines. Errors print one line and exit non-zero.
The `patterns` commands are not written here: `add_pattern_command` derives one from each
declaration of `datamodel.patterns.PATTERNS` (its params, paging and help).
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.exceptions import TyperException

from datamodel.patterns import PATTERNS, AccessPattern, Param
from localcloud.launcher import DEFAULT_STATE_DIR, LocalCloudError
from localcloud.settings import DEFAULT_PORT
from scripts import patterns as patterns_module
from scripts import render
from scripts.backups import (
    DEFAULT_WAIT_S,
    NOT_RESTORED,
    RESTORED,
    export_table,
    parse_s3_url,
    parse_time,
    restore_table,
    wait_for_export,
    wait_until_active,
)
from scripts.codec import dumps_item
from scripts.errors import DeployFailed, ToolError, UsageError
from scripts.sample_data import (
    DEFAULT_COUNT,
    conversation_group_uuid,
    sample_users,
)
from scripts.scan import build_request, scan_items
from scripts.seed import DEFAULT_CONCURRENCY, plan_seed
from scripts.tables import (
    count_items,
    create_stage_tables,
    describe_table,
    drop_table,
    list_tables,
)
from scripts.target import Target, resolve_target
from stacks.config import STAGES

app = typer.Typer(
    help="Seed, scan, describe, drop, restore and export the stage's DynamoDB tables; run its "
    "access patterns.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
patterns_app = typer.Typer(
    help="The single-table design's access patterns, with their capacity cost.",
    no_args_is_help=True,
)
app.add_typer(patterns_app, name="patterns")


# `--stage`'s choices: the stages of `stacks.config`.
Stage = StrEnum("Stage", {name: name for name in STAGES})  # type: ignore[misc]
DEFAULT_STAGE = Stage("local")


class ExportFormatChoice(StrEnum):
    """The formats of `export --format`."""

    dynamodb_json = "dynamodb_json"
    ion = "ion"


class InputFormatChoice(StrEnum):
    """How `seed --from` reads its file."""

    auto = "auto"
    dynamodb = "dynamodb"
    plain = "plain"


def _target(ctx: typer.Context) -> Target:
    target = ctx.find_root().obj
    assert isinstance(target, Target)
    return target


@app.callback()
def _root(
    ctx: typer.Context,
    stage: Annotated[
        Stage, typer.Option(help="Stage whose names and region to use.")
    ] = DEFAULT_STAGE,
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="DynamoDB endpoint for local (default: $AWS_ENDPOINT_URL or "
            "http://localhost:4566).",
        ),
    ] = None,
) -> None:
    ctx.obj = resolve_target(stage.value, endpoint)


# ---------------------------------------------------------------- tables


@app.command("list-tables")
def list_tables_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """List the tables at the endpoint."""
    target = _target(ctx)
    names = list_tables(target)
    if as_json:
        print(json.dumps(names))
        return
    known = {spec.table_name: spec.key for spec in target.stage.tables}
    render.print_tables(names, target.where, target.stage.name, known)


@app.command("describe")
def describe_command(
    ctx: typer.Context,
    table_name: Annotated[str, typer.Argument(metavar="TABLE", help="Table or logical key.")],
    exact_count: Annotated[
        bool, typer.Option("--exact-count", help="Count items with a full COUNT scan.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Keys, indexes, stream, item count and billing of a table."""
    target = _target(ctx)
    info = describe_table(target, table_name)
    exact = count_items(target, info.name) if exact_count else None
    if as_json:
        data = info.as_dict()
        if exact is not None:
            data["exact_item_count"] = exact
        print(json.dumps(data))
        return
    render.print_description(info, exact)


@app.command("create-tables")
def create_tables_command(
    ctx: typer.Context,
    tables: Annotated[
        list[str] | None, typer.Argument(metavar="[TABLE]...", help="Logical keys or names.")
    ] = None,
) -> None:
    """Create the stage's tables that are missing (local only; prod tables come from CDK)."""
    target = _target(ctx)
    created = create_stage_tables(target, tables or None)
    for name in created:
        render.out().print(f"created {name}")
    if not created:
        render.out().print("every table already exists")


@app.command("drop")
def drop_command(
    ctx: typer.Context,
    table_name: Annotated[str, typer.Argument(metavar="TABLE", help="Table or logical key.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (required for prod).")] = False,
) -> None:
    """Delete a table. In prod: shows account, region and table and needs confirmation."""
    target = _target(ctx)
    err = render.err()

    def announce(account: str, region: str, table: str) -> None:
        err.print(f"about to DELETE table {table} in account {account}, region {region} (prod)")

    confirm = _typed_table_name("dropping a prod table", "delete it")
    info = drop_table(target, table_name, yes=yes, announce=announce, confirm=confirm)
    render.out().print(f"dropped {info.name} at {target.where}")


def _typed_table_name(action: str, purpose: str) -> Callable[[str], str]:
    """The `confirm` callback of a prod-guarded command: the person types the table's name
    (which cannot happen without a terminal: then the command needs `--yes`)."""

    def confirm(table: str) -> str:
        if not sys.stdin.isatty():
            raise UsageError(f"{action} needs --yes when stdin is not a terminal")
        return str(typer.prompt(f"type the table name ({table}) to {purpose}"))

    return confirm


# ---------------------------------------------------------------- restore, export

WaitTimeoutOption = Annotated[
    float, typer.Option("--timeout", help="Seconds --wait waits before giving up.", min=1)
]


@app.command("restore")
def restore_command(
    ctx: typer.Context,
    table_name: Annotated[str, typer.Argument(metavar="TABLE", help="Table or logical key.")],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="TIME",
            help="ISO 8601 time with a zone (2026-01-01T09:00:00+00:00; a time without one "
            "is refused), or `latest`.",
        ),
    ],
    new_table: Annotated[
        str, typer.Option("--as", metavar="NEW", help="The new table to restore into.")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (prod).")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until ACTIVE.")] = False,
    timeout: WaitTimeoutOption = DEFAULT_WAIT_S,
) -> None:
    """Restore a table as of a point in time (PITR) into a NEW table.

    In prod: shows account, region and both tables and needs the new table's name typed
    (or --yes), as `drop` does.
    """
    target = _target(ctx)
    at = parse_time(to, "--to", allow_latest=True)
    when = "the latest restorable time" if at is None else at.isoformat()
    err = render.err()

    def announce(account: str, region: str, source: str, new: str) -> None:
        render.line(
            err,
            f"about to RESTORE table {source} as of {when} into new table {new} in account "
            f"{account}, region {region} (prod)",
        )

    confirm = _typed_table_name("restoring in prod", "create it")
    started = restore_table(
        target, table_name, new_table, at, yes=yes, announce=announce, confirm=confirm
    )
    out = render.out()
    restored_as_of = started.restore_time.isoformat() if started.restore_time else when
    render.line(
        out,
        f"restoring {started.source} as of {restored_as_of} into {started.table} at "
        f"{target.where} (status {started.status})",
    )
    render.line(out, f"restored: {', '.join(RESTORED)} (from the source's current settings)")
    render.line(
        out,
        f"NOT restored: {', '.join(NOT_RESTORED)}; {started.table} is outside the CDK stacks "
        "(they neither manage nor delete it)",
    )
    if wait:
        info = wait_until_active(target, started.table, timeout_s=timeout)
        render.line(out, f"{info.name} is ACTIVE")
    else:
        render.line(
            out,
            f"`python -m scripts --stage {target.stage.name} describe {started.table}` shows "
            "when it is ACTIVE",
        )


@app.command("export")
def export_command(
    ctx: typer.Context,
    table_name: Annotated[str, typer.Argument(metavar="TABLE", help="Table or logical key.")],
    to: Annotated[
        str, typer.Option("--to", metavar="S3_URL", help="Destination: s3://bucket/prefix.")
    ],
    export_format: Annotated[
        ExportFormatChoice, typer.Option("--format", help="Format of the exported items.")
    ] = ExportFormatChoice.dynamodb_json,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", metavar="TIME", help="ISO 8601 time with a zone to export as of (default: now)."
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until COMPLETED or FAILED.")
    ] = False,
    timeout: WaitTimeoutOption = DEFAULT_WAIT_S,
) -> None:
    """Export a table as of a point in time (PITR) to S3; prints the export ARN.

    No prod confirmation: an export changes no table (it reads the PITR backup and consumes
    none of the table's capacity) and only adds new objects under the prefix
    (AWSDynamoDB/<export id>/...), in a bucket whose own policy decides who may write there.
    """
    target = _target(ctx)
    destination = parse_s3_url(to)
    moment = parse_time(at, "--at") if at is not None else None
    export = export_table(
        target,
        table_name,
        destination,
        export_format=export_format.value.upper(),
        at=moment,
    )
    out = render.out()
    as_of = f" as of {moment.isoformat()}" if moment else ""
    render.line(
        out,
        f"exporting {target.table_name(table_name)}{as_of} to {destination.url} "
        f"({export.export_format}, status {export.status})",
    )
    render.line(out, f"export ARN: {export.arn}")
    if wait:
        done = wait_for_export(target, export.arn, timeout_s=timeout)
        items = "?" if done.item_count is None else str(done.item_count)
        render.line(out, f"export COMPLETED: {items} items")
        render.line(out, f"manifest: {done.manifest_url or 'not reported by the endpoint'}")


# ---------------------------------------------------------------- seed


@app.command("seed")
def seed_command(
    ctx: typer.Context,
    tables: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[TABLE]...", help="Tables to seed (default: users tasks messages)."
        ),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="JSON-lines file (DynamoDB JSON or plain) for one TABLE."),
    ] = None,
    input_format: Annotated[
        InputFormatChoice, typer.Option("--format", help="Format of --from.")
    ] = InputFormatChoice.auto,
    count: Annotated[
        int | None, typer.Option(help=f"Sample items per table (default {DEFAULT_COUNT}).")
    ] = None,
    concurrency: Annotated[
        int, typer.Option(help="Concurrent BatchWriteItem requests.", min=1, max=64)
    ] = DEFAULT_CONCURRENCY,
    anchor: Annotated[
        str | None,
        typer.Option(help="ISO time the sample timestamps start from (default: 1 Jan, 09:00)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Required to write to prod.")] = False,
) -> None:
    """Write the sample data set, or a JSON-lines file, with batched concurrent writes."""
    target = _target(ctx)
    # Everything (every table, every line, the users table's emails) is validated first.
    job = plan_seed(
        target,
        tables,
        from_file=from_file,
        input_format=input_format.value,
        count=count,
        anchor=anchor,
        concurrency=concurrency,
        confirmed=yes,
    )
    out = render.out()
    for plan in job.plans:
        with render.progress(out) as progress:
            task = progress.add_task(plan.table.name, total=len(plan.items))
            result = job.write(
                plan,
                on_progress=lambda n, task=task: progress.advance(task, n),  # type: ignore[misc]
            )
        out.print(
            f"seeded {result.items} items into {result.table} in {result.seconds:.2f} s "
            f"({result.items_per_s:,.0f} items/s)"
        )
    if job.seeds_messages:
        first, second = sample_users(2)
        out.print(
            f"conversation {conversation_group_uuid()} between "
            f"{first.handle}={first.user_id} and {second.handle}={second.user_id}"
        )


# ---------------------------------------------------------------- scan


@app.command("scan")
def scan_command(
    ctx: typer.Context,
    table_name: Annotated[str, typer.Argument(metavar="TABLE", help="Table or logical key.")],
    index: Annotated[str | None, typer.Option(help="Scan this index instead.")] = None,
    filter_expression: Annotated[
        str | None, typer.Option("--filter", help="FilterExpression, e.g. 'begins_with(sk, :y)'.")
    ] = None,
    values: Annotated[
        str | None, typer.Option(help='Placeholder values as JSON: \'{":y": "2026"}\'.')
    ] = None,
    names: Annotated[
        str | None, typer.Option(help='Placeholder names as JSON: \'{"#n": "name"}\'.')
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Stop after this many items.")] = None,
    segments: Annotated[int, typer.Option(help="Parallel scan segments (threads).")] = 1,
    consistent: Annotated[bool, typer.Option(help="Strongly consistent reads.")] = False,
    page_size: Annotated[
        int | None, typer.Option(help="Items evaluated per request (default: up to 1 MB).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="DynamoDB JSON lines on stdout.")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write DynamoDB JSON lines to FILE.")
    ] = None,
) -> None:
    """Read a table (or index) to the end, or to --limit."""
    target = _target(ctx)
    if as_json and out_file is not None:
        raise UsageError("choose one of --json and --out")
    if out_file is not None:
        _check_out_file(out_file)
    client = target.client(max_pool=max(10, segments + 2))
    info = describe_table(target, table_name, client)
    request = build_request(
        info,
        index=index,
        filter_expression=filter_expression,
        values=values,
        names=names,
        limit=limit,
        segments=segments,
        consistent=consistent,
        page_size=page_size,
    )
    started = time.perf_counter()
    items = scan_items(target, request, client)
    if out_file is not None:
        written = 0
        partial = out_file.with_name(out_file.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8") as handle:
                for item in items:
                    handle.write(dumps_item(item) + "\n")
                    written += 1
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise ToolError(f"cannot write {out_file}: {error.strerror or error}") from None
        except ToolError:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(out_file)
        elapsed = time.perf_counter() - started
        render.err().print(
            f"wrote {written} items from {info.name} to {out_file} in {elapsed:.2f} s"
        )
        return
    if as_json:
        write = sys.stdout.write
        for item in items:
            write(dumps_item(item) + "\n")
        return
    render.print_items(list(items), f"{info.name}" + (f" / {index}" if index else ""), info)


def _check_out_file(path: Path) -> None:
    """`--out` writes `PATH.partial` and renames it over PATH: only a regular file (or a new
    path in an existing directory) may be replaced, never a device, pipe or directory."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise UsageError(
            f"--out {path} is not a regular file (a directory, device, pipe or link); "
            "give the path of a file to write"
        )
    if not path.parent.is_dir():
        raise UsageError(f"--out {path}: directory {path.parent} does not exist")


# ---------------------------------------------------------------- patterns


JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object.")]
CursorOption = Annotated[str | None, typer.Option(help="Continue after a previous page.")]


def add_pattern_command(pattern: AccessPattern, group: typer.Typer = patterns_app) -> None:
    """Register `pattern`'s command on `group`, derived from its declaration.

    Its params become arguments (or options), in order; a pattern that pages by cursor adds
    `--limit` and `--cursor`; every one has `--json`. The command calls `Patterns.run` and
    shows the result under the pattern's title.
    """
    names = {param.cli_name: param.name for param in pattern.params}

    def command(ctx: typer.Context, as_json: bool = False, **given: Any) -> None:
        arguments = {names[cli_name]: given.pop(cli_name) for cli_name in names}
        result = patterns_module.Patterns(_target(ctx)).run(pattern, **arguments, **given)
        render.show_result(result, pattern.heading(result.arguments), as_json)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("ctx", keyword, annotation=typer.Context)]
    for param in pattern.params:
        parameters.append(_cli_parameter(param))
    if pattern.pages_by_cursor:
        entity = pattern.query.entity if pattern.query else None
        rows = f"{entity.name}s" if entity else "items"
        limit = Annotated[int, typer.Option(help=f"{rows[0].upper()}{rows[1:]} per page.")]
        parameters.append(
            inspect.Parameter(
                "limit", keyword, default=patterns_module.DEFAULT_PAGE, annotation=limit
            )
        )
        parameters.append(
            inspect.Parameter("cursor", keyword, default=None, annotation=CursorOption)
        )
    parameters.append(inspect.Parameter("as_json", keyword, default=False, annotation=JsonOption))
    # typer reads a command's parameters from its signature and help from its docstring.
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
    command.__doc__ = pattern.summary or pattern.description
    command.__name__ = command.__qualname__ = f"{pattern.name}_command"
    group.command(pattern.command)(command)


def _cli_parameter(param: Param) -> inspect.Parameter:
    """`param` as typer takes it: an argument or option, required unless it has a default.

    A computed default (`this_year`) is `None` here; `Patterns.run` fills it in.
    """
    keyword = inspect.Parameter.KEYWORD_ONLY
    info = typer.Option(help=param.help) if param.option else typer.Argument(help=param.help)
    if param.default is None:
        return inspect.Parameter(param.cli_name, keyword, annotation=Annotated[str, info])
    default = param.default if isinstance(param.default, str) else None
    annotation = Annotated[str | None, info]
    return inspect.Parameter(param.cli_name, keyword, default=default, annotation=annotation)


for _pattern in PATTERNS:
    add_pattern_command(_pattern)


# ---------------------------------------------------------------- deploy


PortOption = Annotated[
    int, typer.Option(envvar="LOCAL_CLOUD_PORT", help="Port of the local cloud.")
]
ConfirmOption = Annotated[str | None, typer.Option(help="Must be `prod` to act on prod.")]
VerboseOption = Annotated[bool, typer.Option(help="Show the CDK CLI's output.")]
StateDirOption = Annotated[
    Path, typer.Option(help="Where the local cloud keeps its pid, log and assemblies.")
]


@app.command("deploy")
def deploy_command(
    ctx: typer.Context,
    port: PortOption = DEFAULT_PORT,
    confirm: ConfirmOption = None,
    seed: Annotated[bool, typer.Option(help="Seed the sample data after the deploy.")] = True,
    verbose: VerboseOption = False,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Deploy every stack: local (start the cloud, bootstrap, deploy, seed) or prod."""
    from dataclasses import asdict

    from scripts import deploy

    target = _target(ctx)
    try:
        if target.is_prod:
            deploy.deploy_prod(confirm)
            return
        summary = deploy.deploy_local(port, state_dir, seed=seed, verbose=verbose, quiet=as_json)
    except LocalCloudError as error:
        raise DeployFailed(str(error)) from None
    if as_json:
        print(json.dumps(asdict(summary)))
    else:
        deploy.print_summary(summary)


@app.command("destroy")
def destroy_command(
    ctx: typer.Context,
    port: PortOption = DEFAULT_PORT,
    confirm: ConfirmOption = None,
    verbose: VerboseOption = False,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
) -> None:
    """Remove the stage's stacks (the local cloud keeps running; prod needs --confirm prod)."""
    from scripts import deploy

    target = _target(ctx)
    try:
        if target.is_prod:
            deploy.destroy_prod(confirm)
            return
        print(f"==> {deploy.destroy_local(port, state_dir, verbose=verbose)}")
    except LocalCloudError as error:
        raise DeployFailed(str(error)) from None


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 on success). Errors print one line."""
    err = render.err()
    try:
        result: Any = app(args=argv, prog_name="python -m scripts", standalone_mode=False)
    except ToolError as error:
        err.print(f"error: {error}", markup=False, soft_wrap=True)
        return error.exit_code
    except typer.Abort:
        err.print("aborted", markup=False)
        return 130
    except typer.Exit as exit_:
        return exit_.exit_code
    except TyperException as error:
        show = getattr(error, "show", None)
        if callable(show):
            show()  # usage line and the problem, as typer prints them
        else:
            err.print(f"error: {error.format_message()}", markup=False, soft_wrap=True)
        return error.exit_code
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        return 130
    return result if isinstance(result, int) else 0
