"""`seed`: validate a whole data set, then write it with concurrent `BatchWriteItem`s.

Items come from the sample data set (`scripts.sample_data`) or a JSON-lines file in
DynamoDB JSON or plain JSON. Everything is validated against the table's key schema before
the first write (a bad line is reported as `file:line: reason` and nothing is written).
Writes are puts of deterministic keys, so re-running after a failure finishes the job and
leaves exactly the same items.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from scripts.capacity import item_size
from scripts.codec import (
    ItemFormatError,
    WireItem,
    decode_item,
    loads_json,
    looks_like_dynamodb_json,
    plain_item,
)
from scripts.errors import InvalidInput, SeedIncomplete, ToolError, UsageError
from scripts.sample_data import DEFAULT_COUNT, SAMPLE_TABLES, default_anchor, sample_items
from scripts.tables import TableInfo, describe_table
from scripts.target import Target, client_error, translated_errors

BATCH_SIZE = 25  # BatchWriteItem's limit
MAX_ITEM_BYTES = 400 * 1024
DEFAULT_CONCURRENCY = 4
NOTHING_WRITTEN = "nothing was written"
# An item is at most 400 KB; its JSON line, escapes and type descriptors included, fits in 4.
MAX_LINE_BYTES = 4 * 2**20
MAX_FILE_BYTES = 1024 * 2**20
InputFormat = Literal["auto", "dynamodb", "plain"]


def item_problems(item: WireItem, table: TableInfo) -> list[str]:
    """Why `item` cannot be written to `table` (empty when it can)."""
    problems: list[str] = []
    key_types = table.key_types()
    for name in table.key_names:
        if name not in item:
            problems.append(f"missing key attribute {name!r}")
    for name, expected in key_types.items():
        value = item.get(name)
        if value is None:
            continue
        ((kind, inner),) = value.items()
        role = "key attribute" if name in table.key_names else "index key attribute"
        if kind != expected:
            problems.append(f"{role} {name!r} must be of type {expected}, got {kind}")
        elif kind in ("S", "B") and len(inner) == 0:
            problems.append(f"{role} {name!r} must not be empty")
    if not problems:
        size = item_size(item)
        if size > MAX_ITEM_BYTES:
            problems.append(f"item is {size} bytes; DynamoDB's limit is {MAX_ITEM_BYTES}")
    return problems


def _key_of(item: WireItem, table: TableInfo) -> str:
    return json.dumps([repr(item[name]) for name in table.key_names])


def item_set_problems(
    items: Sequence[WireItem], table: TableInfo, labels: Sequence[str] | None = None
) -> list[tuple[int, str]]:
    """`(position, "label: reason")` for every bad item, duplicates included, in order."""
    problems: list[tuple[int, str]] = []
    first_seen: dict[str, str] = {}
    for position, item in enumerate(items):
        label = labels[position] if labels is not None else f"item {position + 1}"
        reasons = item_problems(item, table)
        if not reasons:
            key = _key_of(item, table)
            if key in first_seen:
                reasons = [f"duplicate key, first seen at {first_seen[key]}"]
            else:
                first_seen[key] = label
        problems.extend((position, f"{label}: {reason}") for reason in reasons)
    return problems


def validate_items(
    items: Sequence[WireItem], table: TableInfo, labels: Sequence[str] | None = None
) -> None:
    """Raise `InvalidInput` listing every bad item (`labels[i]` names item `i`)."""
    problems = item_set_problems(items, table, labels)
    if problems:
        raise InvalidInput([message for _, message in problems], note=NOTHING_WRITTEN)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """The file's lines, read one at a time within `MAX_LINE_BYTES` and `MAX_FILE_BYTES`
    (so `/dev/zero` or a huge file is refused with its line number, not a `MemoryError`)."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ToolError(f"cannot read {path}: {error.strerror or error}") from None
    total = 0
    with handle:
        for number in itertools.count(1):
            try:
                raw = handle.readline(MAX_LINE_BYTES + 1)
            except OSError as error:
                raise ToolError(f"cannot read {path}: {error.strerror or error}") from None
            if not raw:
                return
            total += len(raw)
            if len(raw) > MAX_LINE_BYTES:
                raise InvalidInput(
                    [
                        f"{path}:{number}: line longer than {MAX_LINE_BYTES // 2**20} MiB "
                        "(an item is at most 400 KB)"
                    ],
                    note=NOTHING_WRITTEN,
                )
            if total > MAX_FILE_BYTES:
                raise InvalidInput(
                    [f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB; split it"],
                    note=NOTHING_WRITTEN,
                )
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InvalidInput(
                    [f"{path}:{number}: not UTF-8 text ({error.reason} at byte {error.start})"],
                    note=NOTHING_WRITTEN,
                ) from None


def load_file(path: Path, table: TableInfo, fmt: InputFormat = "auto") -> list[WireItem]:
    """Read and validate every line of a JSON-lines file; raise `InvalidInput` on any fault.

    `auto` takes DynamoDB JSON when the first item's every attribute is a type descriptor
    (`{"S": ...}`), plain JSON otherwise; the whole file must then use that format.
    """
    items: list[WireItem] = []
    labels: list[str] = []
    line_numbers: list[int] = []
    problems: list[tuple[int, str]] = []
    chosen: InputFormat | None = None if fmt == "auto" else fmt
    for number, line in _lines(path):
        if not line.strip():
            continue
        label = f"{path}:{number}"
        try:
            obj = loads_json(line)
        except json.JSONDecodeError as error:
            problems.append((number, f"{label}: not JSON ({error.msg} at column {error.colno})"))
            continue
        if chosen is None:
            chosen = "dynamodb" if looks_like_dynamodb_json(obj) else "plain"
        try:
            item = decode_item(obj) if chosen == "dynamodb" else plain_item(obj)
        except ItemFormatError as error:
            problems.append((number, f"{label}: {error}"))
            continue
        items.append(item)
        labels.append(label)
        line_numbers.append(number)
    problems.extend(
        (line_numbers[position], message)
        for position, message in item_set_problems(items, table, labels)
    )
    if problems:
        raise InvalidInput([message for _, message in sorted(problems)], note=NOTHING_WRITTEN)
    if not items:
        raise InvalidInput([f"{path}: no items (the file is empty)"], note=NOTHING_WRITTEN)
    return items


def batches(items: Sequence[WireItem], size: int = BATCH_SIZE) -> list[Sequence[WireItem]]:
    """`items` in consecutive chunks of at most `size`."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def backoff_delay(attempt: int, base: float = 0.05, cap: float = 5.0) -> float:
    """Full-jitter exponential backoff for retry `attempt` (1, 2, ...)."""
    return random.uniform(0, min(cap, base * 2**attempt))


class _Counter:
    def __init__(self, on_progress: Callable[[int], None] | None) -> None:
        self.value = 0
        self._lock = threading.Lock()
        self._on_progress = on_progress

    def add(self, count: int) -> None:
        if count <= 0:
            return
        with self._lock:
            self.value += count
        if self._on_progress is not None:
            self._on_progress(count)


def write_items(
    client: Any,
    table: str,
    items: Sequence[WireItem],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: Callable[[int], None] | None = None,
    max_attempts: int = 10,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Put `items` into `table` with `BatchWriteItem`s of 25, `concurrency` at a time.

    `UnprocessedItems` are re-sent with exponential backoff, up to `max_attempts` per
    batch. Returns the number written; on failure raises `SeedIncomplete` saying how many
    items were confirmed written before it stopped.
    """
    counter = _Counter(on_progress)
    stop = threading.Event()

    def send(batch: Sequence[WireItem]) -> None:
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in batch]
        attempt = 0
        while requests and not stop.is_set():
            response = client.batch_write_item(RequestItems={table: requests})
            unprocessed = response.get("UnprocessedItems", {}).get(table, [])
            counter.add(len(requests) - len(unprocessed))
            requests = unprocessed
            if requests:
                attempt += 1
                if attempt >= max_attempts:
                    raise _Throttled(len(requests), attempt)
                sleep(backoff_delay(attempt))

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="seed")
    futures: list[Future[None]] = [pool.submit(send, batch) for batch in batches(items)]
    try:
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        failure = next((f.exception() for f in done if f.exception() is not None), None)
    except KeyboardInterrupt:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise SeedIncomplete(table, counter.value, len(items), "interrupted") from None
    if failure is not None:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise SeedIncomplete(table, counter.value, len(items), _reason(failure)) from failure
    pool.shutdown(wait=True)
    return counter.value


class _Throttled(Exception):
    def __init__(self, remaining: int, attempts: int) -> None:
        super().__init__(
            f"{remaining} item(s) still unprocessed after {attempts} attempts (throttled)"
        )


def _reason(error: BaseException) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "error")
        return f"{code}: {error.response.get('Error', {}).get('Message', '')}".rstrip(": ")
    if isinstance(error, BotoCoreError | _Throttled | ToolError):
        return str(error)
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class SeedResult:
    """What one table's seeding did."""

    table: str
    items: int
    seconds: float

    @property
    def items_per_s(self) -> float:
        """Throughput of the write phase."""
        return self.items / self.seconds if self.seconds > 0 else float("inf")


def seed_table(
    target: Target,
    table: TableInfo,
    items: Sequence[WireItem],
    *,
    client: Any | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: Callable[[int], None] | None = None,
    validated: bool = False,
) -> SeedResult:
    """Validate `items` against `table` (unless already done), then write them all."""
    if not validated:
        validate_items(items, table)
    # Every item is validated above, so botocore's own per-request validation is skipped.
    client = client or target.client(max_pool=max(10, concurrency * 2), validate_params=False)
    started = time.perf_counter()
    with translated_errors(target, table.name):
        try:
            written = write_items(
                client, table.name, items, concurrency=concurrency, on_progress=on_progress
            )
        except SeedIncomplete as error:
            cause = error.__cause__
            if isinstance(cause, ClientError) and not _is_transient(cause):
                # A refusal (wrong table, bad key) is clearer than "stopped after N".
                raise client_error(cause, target, table.name) from None
            raise
    return SeedResult(table.name, written, time.perf_counter() - started)


def _is_transient(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return code in {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }


def total_items(results: Iterable[SeedResult]) -> int:
    """Items written across several tables."""
    return sum(result.items for result in results)


def plan_sample(
    target: Target,
    keys: Sequence[str],
    *,
    count: int | None = None,
    anchor: datetime | None = None,
    client: Any | None = None,
) -> list[tuple[TableInfo, list[WireItem]]]:
    """The sample data set of each table key (`users`, `tasks`, `messages`), validated."""
    start = anchor or default_anchor()
    plan: list[tuple[TableInfo, list[WireItem]]] = []
    for key in keys:
        spec = target.table_spec(key)
        if spec is None:
            raise UsageError(
                f"there is no sample data for {key!r}; give --from FILE "
                f"(sample tables: {', '.join(SAMPLE_TABLES)})"
            )
        items = sample_items(target.stage, spec.key, count or DEFAULT_COUNT, start)
        info = describe_table(target, spec.table_name, client)
        validate_items(items, info)
        plan.append((info, items))
    return plan


def seed_sample(target: Target, keys: Sequence[str] = SAMPLE_TABLES) -> list[SeedResult]:
    """Write the sample data set into `keys`' tables (`make deploy`'s seed step)."""
    client = target.client(max_pool=max(10, DEFAULT_CONCURRENCY * 2), validate_params=False)
    return [
        seed_table(target, info, items, client=client, validated=True)
        for info, items in plan_sample(target, keys, client=client)
    ]
