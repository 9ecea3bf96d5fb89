"""Read/write capacity computed from item sizes by DynamoDB's published rules.

Sources (Amazon DynamoDB Developer Guide):
- "DynamoDB item sizes and formats" (CapacityUnitCalculations.html): an item's size is the
  sum of its attribute names' and values' sizes; strings and binary count their bytes; a
  number counts 1 byte per two significant digits plus 1 byte; null and Boolean 1 byte;
  a list or map 3 bytes plus its elements, plus 1 byte per element.
- "DynamoDB read and write operations" (read-write-operations.html): reads are rounded up
  to 4 KB per unit, an eventually consistent read costs half, a transactional read double;
  `Query`/`Scan` round the *total* of the items read, `BatchGetItem` rounds each item;
  writes are rounded up to 1 KB per unit and a transactional write costs double.
- "Global secondary indexes" (GSI.html#GSI.ThroughputConsiderations.Writes): writing an
  item that defines an index's keys costs one write on that index (of the projected item's
  size); changing an indexed key costs two (delete, then put). Local secondary indexes
  consume the table's capacity the same way.

Locally, moto reports constant capacities: the figure computed here is the one to trust.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from datamodel.tables import IndexSpec, Projection, TableSpec
from scripts.codec import WireItem, WireValue

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024


def number_size(text: str) -> int:
    """Bytes of a number value: 1 per two significant digits, plus 1."""
    return math.ceil(significant_digits(text) / 2) + 1


def significant_digits(text: str) -> int:
    """Digits of a number with leading and trailing zeroes trimmed (at least 1).

    Works on the digit tuple, not `normalize()`, which would round to the context's
    28-digit precision while DynamoDB keeps 38.
    """
    digits = "".join(map(str, Decimal(text).as_tuple().digits)).strip("0")
    return max(1, len(digits))


def value_size(value: WireValue) -> int:
    """Bytes of one attribute value (without its name)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum(number_size(n) for n in inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    raise ValueError(f"unknown type descriptor {kind!r}")


def item_size(item: Mapping[str, WireValue]) -> int:
    """Bytes of an item: every attribute name plus its value."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


def read_units(size: int, *, consistent: bool = False, transactional: bool = False) -> float:
    """Read units for one item of `size` bytes (`GetItem`)."""
    units = float(_units(size, READ_UNIT_BYTES))
    if transactional:
        return units * 2
    return units if consistent else units / 2


def query_read_units(sizes: Iterable[int], *, consistent: bool = False) -> float:
    """Read units of one `Query`/`Scan` page: the total size, rounded up once."""
    units = float(_units(sum(sizes), READ_UNIT_BYTES))
    return units if consistent else units / 2


def batch_get_read_units(sizes: Iterable[int], *, consistent: bool = False) -> float:
    """Read units of a `BatchGetItem`: each item rounded up separately."""
    return sum(read_units(size, consistent=consistent) for size in sizes)


def write_units(size: int, *, transactional: bool = False) -> float:
    """Write units for writing one item of `size` bytes."""
    units = float(_units(size, WRITE_UNIT_BYTES))
    return units * 2 if transactional else units


def projected(item: Mapping[str, WireValue], table: TableSpec, index: IndexSpec) -> WireItem:
    """The part of `item` an index stores (keys of the table and index, plus projection)."""
    if index.projection is Projection.ALL:
        return dict(item)
    keep = {table.partition_key, table.sort_key, index.partition_key, index.sort_key}
    if index.projection is Projection.INCLUDE:
        keep.update(index.non_key_attributes)
    return {name: value for name, value in item.items() if name in keep}


def indexes_written(item: Mapping[str, WireValue], table: TableSpec) -> list[IndexSpec]:
    """Indexes a new `item` appears in: those whose key attributes it defines."""
    return [
        index
        for index in (*table.global_indexes, *table.local_indexes)
        if index.partition_key in item and (index.sort_key is None or index.sort_key in item)
    ]


@dataclass
class CapacityCost:
    """Capacity units of one operation, with a line per contribution."""

    read_units: float = 0.0
    write_units: float = 0.0
    lines: list[str] = field(default_factory=list)

    def add_read(self, units: float, why: str) -> None:
        """Count `units` read units, explained by `why`."""
        self.read_units += units
        self.lines.append(f"{units:g} RCU  {why}")

    def add_write(self, units: float, why: str) -> None:
        """Count `units` write units, explained by `why`."""
        self.write_units += units
        self.lines.append(f"{units:g} WCU  {why}")

    def merge(self, other: CapacityCost) -> None:
        """Add another operation's cost to this one."""
        self.read_units += other.read_units
        self.write_units += other.write_units
        self.lines.extend(other.lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"read_units": self.read_units, "write_units": self.write_units, "why": self.lines}


def query_cost(
    items: Iterable[Mapping[str, WireValue]], where: str, *, consistent: bool = False
) -> CapacityCost:
    """Cost of one `Query` page that read `items` from `where` (a table or index)."""
    sizes = [item_size(item) for item in items]
    cost = CapacityCost()
    mode = "strongly consistent" if consistent else "eventually consistent"
    cost.add_read(
        query_read_units(sizes, consistent=consistent),
        f"Query {where}: {len(sizes)} item(s), {sum(sizes)} B in total, {mode}",
    )
    return cost


def put_cost(
    item: Mapping[str, WireValue], table: TableSpec, *, transactional: bool = False
) -> CapacityCost:
    """Cost of putting a new `item` into `table`, with its index writes.

    For a replaced item DynamoDB charges the larger of the old and new sizes; the tools
    only put new items (conditional on the key not existing), so the new size is used.
    """
    cost = CapacityCost()
    size = item_size(item)
    kind = "transactional put" if transactional else "put"
    cost.add_write(
        write_units(size, transactional=transactional), f"{kind} {table.table_name}: {size} B"
    )
    for index in indexes_written(item, table):
        index_size = item_size(projected(item, table, index))
        cost.add_write(
            write_units(index_size, transactional=transactional),
            f"{kind} into index {index.name}: {index_size} B projected",
        )
    return cost
