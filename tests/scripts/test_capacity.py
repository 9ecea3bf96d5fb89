"""The capacity calculator against the worked examples of the DynamoDB Developer Guide.

Pages cited (Amazon DynamoDB Developer Guide):
- [sizes]  "DynamoDB item sizes and formats", CapacityUnitCalculations.html
- [rw]     "DynamoDB read and write operations", read-write-operations.html
- [modes]  "Read/write capacity mode" (request units), HowItWorks.ReadWriteCapacityMode.html
- [gsi]    "Global secondary indexes", GSI.html#GSI.ThroughputConsiderations.Writes
"""

from __future__ import annotations

import pytest

from scripts.capacity import (
    batch_get_read_units,
    item_size,
    number_size,
    put_cost,
    query_cost,
    query_read_units,
    read_units,
    value_size,
    write_units,
)
from scripts.codec import to_wire
from stacks.config import stage_config

KB = 1024


def test_string_size_is_its_utf8_bytes_plus_the_name() -> None:
    """[sizes]: a string is (UTF-8 bytes of the name) + (UTF-8 bytes of the value)."""
    assert item_size({"name": {"S": "abc"}}) == 4 + 3
    assert item_size({"é": {"S": "日本"}}) == 2 + 6  # multi-byte characters count in bytes


@pytest.mark.parametrize(
    ("number", "size"),
    [
        ("1", 2),  # 1 significant digit -> 1 byte + 1
        ("12", 2),
        ("123", 3),
        ("1234567890", 6),
        ("0.0012300", 3),  # leading and trailing zeroes are trimmed: 123
        ("1200000", 2),  # trailing zeroes trimmed: 12
        ("-123.45", 4),  # 5 digits
        ("0", 2),
        ("9" * 38, 20),  # the 38-digit maximum
    ],
)
def test_number_size_counts_one_byte_per_two_significant_digits_plus_one(
    number: str, size: int
) -> None:
    """[sizes]: numbers: (1 byte per two significant digits) + (1 byte); zeroes trimmed."""
    assert number_size(number) == size


def test_binary_null_and_boolean_sizes() -> None:
    """[sizes]: binary counts raw bytes (not base64); null and Boolean are 1 byte."""
    assert value_size({"B": b"\x00" * 10}) == 10
    assert value_size({"NULL": True}) == 1
    assert value_size({"BOOL": False}) == 1


def test_list_and_map_have_three_bytes_plus_one_per_element() -> None:
    """[sizes]: a List or Map needs 3 bytes of overhead plus 1 byte per element."""
    assert value_size({"L": []}) == 3
    assert value_size({"M": {}}) == 3
    assert value_size({"L": [{"S": "ab"}, {"BOOL": True}]}) == 3 + (2 + 1) + (1 + 1)
    # A map element counts its key name, too.
    assert value_size({"M": {"k": {"S": "v"}}}) == 3 + (1 + 1 + 1)


def test_item_size_sums_names_and_values() -> None:
    item = to_wire({"id": "t-1", "n": 12, "tags": {"a", "bc"}, "done": True})
    assert item_size(item) == (2 + 3) + (1 + 2) + (4 + 3) + (4 + 1)


def test_read_rounds_up_to_4_kb_and_eventual_reads_cost_half() -> None:
    """[rw]: "reading a 3,500-byte item consumes the same throughput as reading a 4 KB item";
    an 8 KB item needs 2 units strongly consistent, 1 eventually consistent, 4 transactional.
    """
    assert read_units(3500, consistent=True) == read_units(4 * KB, consistent=True) == 1
    assert read_units(8 * KB, consistent=True) == 2
    assert read_units(8 * KB, consistent=False) == 1
    assert read_units(8 * KB, transactional=True) == 4


def test_get_item_rounds_10_kb_up_to_12_kb() -> None:
    """[rw] GetItem: "If you read a 10 KB item, DynamoDB rounds the item size to 12 KB"."""
    assert read_units(10 * KB, consistent=True) == 3
    assert read_units(int(3.5 * KB), consistent=True) == 1


def test_batch_get_rounds_each_item_separately() -> None:
    """[rw] BatchGetItem: items of 1.5 KB and 6.5 KB count as 12 KB (4 KB + 8 KB), not 8 KB."""
    sizes = [int(1.5 * KB), int(6.5 * KB)]
    assert batch_get_read_units(sizes, consistent=True) == 3  # 12 KB / 4 KB
    assert query_read_units(sizes, consistent=True) == 2  # what rounding the total would give


def test_query_rounds_the_total_once() -> None:
    """[rw] Query: 10 items totalling 40.8 KB round to 44 KB; 1,500 items of 64 bytes are
    96 KB in total.
    """
    ten_items = [int(40.8 * KB / 10)] * 10
    assert query_read_units(ten_items, consistent=True) == 44 / 4
    assert query_read_units([64] * 1500, consistent=True) == 96 / 4
    assert query_read_units([64] * 1500, consistent=False) == 96 / 4 / 2


def test_reading_nothing_still_costs_the_minimum() -> None:
    """[rw]: a read of an item that does not exist still consumes read throughput."""
    assert read_units(0, consistent=False) == 0.5
    assert query_read_units([], consistent=False) == 0.5


def test_write_rounds_up_to_1_kb_and_transactions_double() -> None:
    """[modes]: "if your item size is 2 KB, you require 2 write request units to sustain one
    write request or 4 write request units for a transactional write request".
    """
    assert write_units(2 * KB) == 2
    assert write_units(2 * KB, transactional=True) == 4
    assert write_units(500) == 1  # up to 1 KB is one unit
    assert write_units(KB + 1) == 2


def test_put_counts_a_write_per_index_the_item_appears_in() -> None:
    """[gsi]: a put that defines an index's key attributes costs a write on that index too;
    an item without them (a sparse index) costs nothing there.
    """
    messages = stage_config("local").table("messages")
    group_row = to_wire(
        {
            "pk": "GRP#u1",
            "sk": "2026-01-01T00:00:00+00:00",
            "created_at": "2026-01-01T00:00:00+00:00",
            "message_group_uuid": "g1",
        }
    )
    cost = put_cost(group_row, messages)
    assert cost.write_units == 3  # table + GSI message-group-sk-index + LSI created-at-index
    message = to_wire({"pk": "MSG#g1", "sk": "2026-01-01T00:00:00+00:00"})
    assert put_cost(message, messages).write_units == 1  # in neither index


def test_transactional_put_doubles_the_index_writes_too() -> None:
    messages = stage_config("local").table("messages")
    row = to_wire({"pk": "GRP#u1", "sk": "s", "created_at": "c", "message_group_uuid": "g"})
    assert put_cost(row, messages, transactional=True).write_units == 6


def test_query_cost_explains_itself() -> None:
    items = [to_wire({"pk": "a", "sk": "b"})]
    cost = query_cost(items, "T")
    assert cost.read_units == 0.5
    assert cost.lines == ["0.5 RCU  Query T: 1 item(s), 6 B in total, eventually consistent"]
