"""How the data tooling shows its results to people: rich tables, progress bars, lines.

`scripts/cli.py` parses and calls; everything it prints for people goes through here
(`--json` output is printed by the commands themselves).
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from scripts.codec import WireItem, render_value
from scripts.patterns import PatternResult
from scripts.tables import TableInfo


def out() -> Console:
    """The console for results."""
    return Console(highlight=False)


def err() -> Console:
    """The console for errors, prompts and progress notes."""
    return Console(stderr=True, highlight=False)


def line(console: Console, text: str) -> None:
    """One line as it is: no markup, no emoji codes (ARNs are full of colons), no wrapping."""
    console.print(text, markup=False, emoji=False, soft_wrap=True)


class RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} items/s" if speed else "- items/s")


def progress(console: Console) -> Progress:
    """A progress bar with count, rate and elapsed time (off when not a terminal)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def print_description(info: TableInfo, exact: int | None) -> None:
    """`describe`: a table's keys, indexes, stream, items, size, billing and protection."""
    console = out()
    grid = Table(title=f"{info.name} ({info.status})", show_header=False)
    grid.add_column("what", style="bold")
    grid.add_column("value")
    grid.add_row("keys", ", ".join(f"{k.name} ({k.type}, {k.role})" for k in info.keys))
    for index in info.indexes:
        keys = ", ".join(f"{k.name} ({k.type}, {k.role})" for k in index.keys)
        projection = index.projection
        if index.non_key_attributes:
            projection += f" {list(index.non_key_attributes)}"
        grid.add_row(f"{index.kind} {index.name}", f"{keys}; projection {projection}")
    grid.add_row("stream", info.stream or "off")
    count = f"{info.item_count} (as reported; AWS refreshes it about every 6 hours)"
    if exact is not None:
        count += f"; exact: {exact}"
    grid.add_row("items", count)
    grid.add_row("size", f"{info.size_bytes} bytes")
    billing = info.billing
    if info.read_capacity is not None:
        billing += f" ({info.read_capacity} RCU, {info.write_capacity} WCU)"
    grid.add_row("billing", billing)
    grid.add_row("deletion protection", "on" if info.deletion_protection else "off")
    console.print(grid)


def print_items(items: list[WireItem], title: str, info: TableInfo | None = None) -> None:
    """`items` as one table, key columns first, and how many there were."""
    console = out()
    first = list(info.key_names) if info is not None else ["pk", "sk"]
    columns: list[str] = [name for name in first if any(name in item for item in items)]
    for item in items:
        for name in item:
            if name not in columns:
                columns.append(name)
    table = Table(title=title)
    for name in columns:
        table.add_column(name, overflow="fold")
    for item in items:
        table.add_row(*(render_value(item[name]) if name in item else "" for name in columns))
    if items:
        console.print(table)
    console.print(f"{len(items)} item(s) from {title}", soft_wrap=True)


def show_result(result: PatternResult, title: str, as_json: bool) -> None:
    """A pattern's items and its computed and reported capacity (or one JSON object)."""
    if as_json:
        print(json.dumps(result.as_dict(), default=str))
        return
    console = out()
    print_items(result.items, title)
    computed = result.computed
    console.print(
        f"capacity computed from item sizes: {computed.read_units:g} RCU, "
        f"{computed.write_units:g} WCU"
    )
    for why in computed.lines:
        console.print(f"  {why}")
    reported = "not reported" if result.reported is None else f"{result.reported:g} units"
    console.print(f"ConsumedCapacity reported by the endpoint: {reported}")
    if result.cursor:
        console.print(f"next page: --cursor {result.cursor}")


def print_tables(names: list[str], where: str, stage: str, known: dict[str, str]) -> None:
    """`list-tables`: the tables at the endpoint, with the stage's logical key of each."""
    table = Table(title=f"Tables at {where} ({stage})")
    table.add_column("table")
    table.add_column("stage table")
    for name in names:
        table.add_row(name, known.get(name, ""))
    out().print(table)
    if not names:
        out().print("no tables")
