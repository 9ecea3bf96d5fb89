"""`seed`: validate a whole data set, then write it with concurrent `BatchWriteItem`s.

Items come from the sample data set (`scripts.sample_data`) or a JSON-lines file in
DynamoDB JSON or plain JSON. Everything is validated against the table's key schema before
the first write (a bad line is reported as `file:line: reason` and nothing is written).
Writes are puts of deterministic keys, so re-running after a failure finishes the job and
leaves exactly the same items.

The stage's users table gets user-manager's rule as well: every user with an email is
written with its `EMAIL#` uniqueness row, built by the function's own code
(`datamodel/uniqueness.py`), and an email used twice, or already held by
another user in the table, is refused before the first write (see `plan_users`).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from datamodel import uniqueness
from datamodel.retry import TRANSIENT_ERRORS, backoff_delay
from scripts.capacity import item_size
from scripts.codec import (
    ItemFormatError,
    WireItem,
    decode_item,
    loads_json,
    looks_like_dynamodb_json,
    plain_item,
    to_python,
    to_wire,
)
from scripts.errors import InvalidInput, SeedIncomplete, ToolError, UsageError
from scripts.sample_data import DEFAULT_COUNT, SAMPLE_TABLES, default_anchor, sample_items
from scripts.tables import TableInfo, describe_table
from scripts.target import Target, client_error, error_code, translated_errors

BATCH_SIZE = 25  # BatchWriteItem's limit
MAX_ITEM_BYTES = 400 * 1024
DEFAULT_CONCURRENCY = 4
NOTHING_WRITTEN = "nothing was written"
# An item is at most 400 KB; its JSON line, escapes and type descriptors included, fits in 4.
MAX_LINE_BYTES = 4 * 2**20
MAX_FILE_BYTES = 1024 * 2**20
InputFormat = Literal["auto", "dynamodb", "plain"]
USERS = "users"  # the logical key of user-manager's table
BATCH_GET_SIZE = 100  # BatchGetItem's limit
# A transaction holds at most 100 operations and 4 MB; a user is at most 3 operations.
TRANSACTION_USERS = 25
TRANSACTION_BYTES = 4_000_000
_Unit = TypeVar("_Unit")
# Cancellation codes of a transaction worth sending again: lost a race, or throttled.
_RETRIED = frozenset(
    {
        "None",
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)


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
    return read_file(path, table, fmt)[0]


def read_file(
    path: Path, table: TableInfo, fmt: InputFormat = "auto"
) -> tuple[list[WireItem], list[str]]:
    """`load_file`'s items, and the `file:line` of each."""
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
    return items, labels


def batches(items: Sequence[WireItem], size: int = BATCH_SIZE) -> list[Sequence[WireItem]]:
    """`items` in consecutive chunks of at most `size`."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def _backoff(attempt: int) -> float:
    """Full-jitter exponential backoff for retry `attempt` (1, 2, ...), at most 5 s."""
    return backoff_delay(attempt, cap_s=5.0)


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

    def send(batch: Sequence[WireItem], counter: _Counter, stop: threading.Event) -> None:
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
                sleep(_backoff(attempt))

    return _write_concurrently(
        table, batches(items), send, len(items), concurrency=concurrency, on_progress=on_progress
    )


def _write_concurrently(
    table: str,
    units: Sequence[_Unit],
    send: Callable[[_Unit, _Counter, threading.Event], None],
    total: int,
    *,
    concurrency: int,
    on_progress: Callable[[int], None] | None,
) -> int:
    """Run `send` on every unit, `concurrency` at a time; stop all at the first failure."""
    counter = _Counter(on_progress)
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="seed")
    futures: list[Future[None]] = [pool.submit(send, unit, counter, stop) for unit in units]
    try:
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        failure = next((f.exception() for f in done if f.exception() is not None), None)
    except KeyboardInterrupt:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise SeedIncomplete(table, counter.value, total, "interrupted") from None
    if failure is not None:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise SeedIncomplete(table, counter.value, total, _reason(failure)) from failure
    pool.shutdown(wait=True)
    return counter.value


class _Throttled(Exception):
    def __init__(self, remaining: int, attempts: int) -> None:
        super().__init__(
            f"{remaining} item(s) still unprocessed after {attempts} attempts (throttled)"
        )


class _RowChanged(Exception):
    def __init__(self, keys: Sequence[str]) -> None:
        more = f" and {len(keys) - 1} more" if len(keys) > 1 else ""
        super().__init__(
            f"a row of user {keys[0]}{more} changed after it was checked (another writer?)"
        )


def _reason(error: BaseException) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "error")
        return f"{code}: {error.response.get('Error', {}).get('Message', '')}".rstrip(": ")
    if isinstance(error, BotoCoreError | _Throttled | _RowChanged | ToolError):
        return str(error)
    return f"{type(error).__name__}: {error}"


# ---------------------------------------------------------------- the users table


@dataclass(frozen=True)
class GuardedUser:
    """One user's conditional writes: its row, its uniqueness row, the release of its old one.

    Each condition says the row is still as the seeder read it, so a concurrent write of
    the same rows cancels the transaction instead of being overwritten.
    """

    key: str
    operations: tuple[dict[str, Any], ...]
    rows: int  # the items of the plan these writes put (the user, and its uniqueness row)
    size: int


@dataclass(frozen=True)
class SeedPlan:
    """One table's validated items, and how they are written.

    `guarded` is `None` for plain `BatchWriteItem`s; for a users table that already holds
    rows it is every user's conditional writes, sent as `TransactWriteItems` (`plan_users`).
    """

    table: TableInfo
    items: list[WireItem]
    guarded: tuple[GuardedUser, ...] | None = None


def users_ttl_attribute(target: Target, table: TableInfo) -> str | None:
    """user-manager's TTL attribute when `table` is the stage's users table, else `None`."""
    spec = target.table_spec(table.name)
    if spec is None or spec.key != USERS:
        return None
    return spec.ttl_attribute or uniqueness.DEFAULT_TTL_ATTRIBUTE


def _label(labels: Sequence[str] | None, position: int) -> str:
    return labels[position] if labels is not None else f"item {position + 1}"


def _string(item: WireItem, name: str) -> str | None:
    value = item.get(name)
    inner = value.get("S") if isinstance(value, dict) else None
    return inner if isinstance(inner, str) else None


def _lock_row(user: WireItem, ttl_attribute: str) -> WireItem:
    """The uniqueness row of `user`, built by user-manager's own `lock_row`."""
    fields = (uniqueness.KEY, uniqueness.EMAIL, ttl_attribute)
    plain = to_python({name: user[name] for name in fields if name in user})
    return to_wire(uniqueness.lock_row(plain, ttl_attribute))


def with_uniqueness_rows(
    items: Sequence[WireItem], ttl_attribute: str, labels: Sequence[str] | None = None
) -> list[WireItem]:
    """`items` (users) with each user's uniqueness row after it, as user-manager writes it.

    Raises `InvalidInput` naming every user whose email is not in lower case (user-manager
    stores and compares it so) or repeats an earlier one, whose TTL is not a number, and
    every uniqueness row in `items` (a `scan --out` dump holds them) that is not exactly
    the row its user gets; those rows are then left out, as the derived ones replace them.
    """
    problems: list[str] = []
    rows: list[WireItem] = []
    derived: dict[str, tuple[WireItem, str]] = {}
    given: list[tuple[int, str, WireItem]] = []
    for position, item in enumerate(items):
        label = _label(labels, position)
        key = _string(item, uniqueness.KEY)
        if key is None:
            raise ValueError(f"{label}: not validated against the users table")
        if uniqueness.is_lock_key(key):
            given.append((position, key, item))
            continue
        rows.append(item)
        ttl = item.get(ttl_attribute)
        if ttl is not None and "N" not in ttl:
            problems.append(f"{label}: {ttl_attribute} must be a number (epoch seconds)")
            continue
        email = _string(item, uniqueness.EMAIL)
        if email is None:
            continue  # no email, no uniqueness row (the index check refuses a non-string)
        if uniqueness.normalize_email(email) != email:
            problems.append(
                f"{label}: email {email!r} must be in lower case (user-manager stores it so)"
            )
            continue
        lock = _lock_row(item, ttl_attribute)
        lock_key = uniqueness.lock_key(email)
        if lock_key in derived:
            problems.append(
                f"{label}: duplicate email {email}, first seen at {derived[lock_key][1]}"
            )
            continue
        derived[lock_key] = (lock, label)
        rows.append(lock)
    for position, key, item in given:
        expected = derived.get(key)
        if expected is None or to_python(expected[0]) != to_python(item):
            problems.append(
                f"{_label(labels, position)}: uniqueness row {key} is not the one its user in "
                "this input gets (the seeder writes these rows from the users)"
            )
    if problems:
        raise InvalidInput(problems, note=NOTHING_WRITTEN)
    return rows


def _is_empty(client: Any, table: str) -> bool:
    response = client.scan(
        TableName=table,
        Limit=1,
        ProjectionExpression="#k",
        ExpressionAttributeNames={"#k": uniqueness.KEY},
    )
    return not response.get("Items") and not response.get("LastEvaluatedKey")


def _read_rows(
    client: Any,
    table: str,
    keys: Iterable[str],
    *,
    max_attempts: int = 10,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, WireItem]:
    """The rows with these keys that exist, by key (consistent `BatchGetItem`s of 100)."""
    wanted = sorted(set(keys))
    found: dict[str, WireItem] = {}
    for start in range(0, len(wanted), BATCH_GET_SIZE):
        chunk = wanted[start : start + BATCH_GET_SIZE]
        pending: dict[str, Any] = {
            table: {
                "Keys": [{uniqueness.KEY: {"S": key}} for key in chunk],
                "ConsistentRead": True,
            }
        }
        for attempt in range(1, max_attempts + 1):
            response = client.batch_get_item(RequestItems=pending)
            for item in response.get("Responses", {}).get(table, []):
                found[item[uniqueness.KEY]["S"]] = item
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
            sleep(_backoff(attempt))
        else:
            raise ToolError(f"reading {table}: keys still unprocessed after {max_attempts} tries")
    return found


def _live(row: WireItem, ttl_attribute: str, now: int) -> bool:
    expires = row.get(ttl_attribute, {}).get("N")
    return expires is None or float(expires) >= now


def _condition(parts: list[str], names: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "ConditionExpression": " AND ".join(parts),
        "ExpressionAttributeNames": names,
    }
    if values:
        condition["ExpressionAttributeValues"] = values
    return condition


def _unchanged(
    observed: WireItem | None, attributes: Sequence[str], ttl_attribute: str
) -> dict[str, Any]:
    """A condition that the row is as `observed` (absent, or these attributes unchanged)."""
    names = {"#k": uniqueness.KEY}
    if observed is None:
        return _condition(["attribute_not_exists(#k)"], names, {})
    parts = ["attribute_exists(#k)"]
    values: dict[str, Any] = {}
    for number, attribute in enumerate((*attributes, ttl_attribute)):
        names[f"#a{number}"] = attribute
        if attribute in observed:
            parts.append(f"#a{number} = :a{number}")
            values[f":a{number}"] = observed[attribute]
        else:
            parts.append(f"attribute_not_exists(#a{number})")
    return _condition(parts, names, values)


def plan_users(
    target: Target,
    table: TableInfo,
    items: Sequence[WireItem],
    *,
    client: Any,
    ttl_attribute: str,
    labels: Sequence[str] | None = None,
    now: int | None = None,
) -> SeedPlan:
    """Users and their uniqueness rows for `table`, checked against the table itself.

    An empty table (one `Scan` of one row finds nothing) gets plain `BatchWriteItem`s: the
    input holds each id and email once, so there is nothing to collide with and nothing to
    read first; that path assumes no `CREATE` lands during the seed, which holds for
    `make deploy` (it seeds the tables it has just created).

    A table that holds rows is read first (consistent `BatchGetItem`s of the users and the
    uniqueness rows they touch). An email whose live uniqueness row belongs to a user this
    input does not rewrite is refused, with the input's label, before anything is written.
    Each user is then written with conditional `TransactWriteItems` (25 users to a
    transaction, not one each): its row, its uniqueness row, and the release of the row of
    an email it gives up, each on the condition that the row is still as it was read (the
    function bumps `version` on every write), so a concurrent `CREATE` or `UPDATE` cancels
    that transaction instead of ending with two users on one email.
    """
    rows = with_uniqueness_rows(items, ttl_attribute, labels)
    with translated_errors(target, table.name):
        if _is_empty(client, table.name):
            return SeedPlan(table, rows)
        users = [
            (position, item)
            for position, item in enumerate(items)
            if not uniqueness.is_lock_key(item[uniqueness.KEY]["S"])
        ]
        ids = {item[uniqueness.KEY]["S"] for _, item in users}
        new_email = {
            item[uniqueness.KEY]["S"]: _string(item, uniqueness.EMAIL) for _, item in users
        }
        claimed = {uniqueness.lock_key(email) for email in new_email.values() if email}
        observed = _read_rows(client, table.name, [*ids, *claimed])
        released: dict[str, str] = {}  # user id -> the uniqueness row it gives up
        for user_id in ids:
            old = _string(observed.get(user_id, {}), uniqueness.EMAIL)
            # An email another user of the input takes is overwritten by it, not released.
            if (
                old is not None
                and old != new_email[user_id]
                and uniqueness.lock_key(old) not in claimed
            ):
                released[user_id] = uniqueness.lock_key(old)
        observed.update(_read_rows(client, table.name, set(released.values()) - set(observed)))
    moment = int(time.time()) if now is None else now
    problems: list[str] = []
    guarded: list[GuardedUser] = []
    for position, user in users:
        user_id = user[uniqueness.KEY]["S"]
        email = new_email[user_id]
        operations: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": table.name,
                    "Item": user,
                    **_unchanged(observed.get(user_id), ("version",), ttl_attribute),
                }
            }
        ]
        size = item_size(user)
        if email is not None:
            lock_key = uniqueness.lock_key(email)
            current = observed.get(lock_key)
            holder = _string(current or {}, uniqueness.OWNER)
            if current is not None and _live(current, ttl_attribute, moment) and holder not in ids:
                problems.append(
                    f"{_label(labels, position)}: email {email} is already in use by user "
                    f"{holder} in {table.name}"
                )
                continue
            lock = _lock_row(user, ttl_attribute)
            operations.append(
                {
                    "Put": {
                        "TableName": table.name,
                        "Item": lock,
                        **_unchanged(current, (uniqueness.OWNER,), ttl_attribute),
                    }
                }
            )
            size += item_size(lock)
        old_key = released.get(user_id)
        old_row = observed.get(old_key) if old_key is not None else None
        if old_row is not None and _string(old_row, uniqueness.OWNER) == user_id:
            operations.append(
                {
                    "Delete": {
                        "TableName": table.name,
                        "Key": {uniqueness.KEY: {"S": old_key}},
                        **_unchanged(old_row, (uniqueness.OWNER,), ttl_attribute),
                    }
                }
            )
        rows_put = 1 + (email is not None)
        guarded.append(GuardedUser(user_id, tuple(operations), rows_put, size))
    if problems:
        raise InvalidInput(problems, note=NOTHING_WRITTEN)
    return SeedPlan(table, rows, tuple(guarded))


def transactions(users: Sequence[GuardedUser]) -> list[list[GuardedUser]]:
    """`users` in transactions of at most `TRANSACTION_USERS` users and `TRANSACTION_BYTES`."""
    groups: list[list[GuardedUser]] = []
    size = 0
    for user in users:
        if (
            not groups
            or len(groups[-1]) >= TRANSACTION_USERS
            or size + user.size > TRANSACTION_BYTES
        ):
            groups.append([])
            size = 0
        groups[-1].append(user)
        size += user.size
    return groups


def _cancellation_codes(error: ClientError) -> list[str]:
    reasons = error.response.get("CancellationReasons")
    if isinstance(reasons, list) and reasons:
        return [str(reason.get("Code", "None")) for reason in reasons]
    return [str(error.response.get("Error", {}).get("Message", ""))]


def write_guarded(
    client: Any,
    table: str,
    users: Sequence[GuardedUser],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: Callable[[int], None] | None = None,
    max_attempts: int = 10,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send `users`' writes as `TransactWriteItems` (`transactions`), `concurrency` at a time.

    A transaction cancelled by a competing one (`TransactionConflict`) is retried with
    backoff; a failed condition (a row changed since it was read) stops the seed with
    `SeedIncomplete`, as does anything else. Returns the number of rows put.
    """

    def send(group: list[GuardedUser], counter: _Counter, stop: threading.Event) -> None:
        operations = [operation for user in group for operation in user.operations]
        for attempt in range(1, max_attempts + 1):
            if stop.is_set():
                return
            try:
                client.transact_write_items(TransactItems=operations)
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise
                codes = _cancellation_codes(error)
                if any("ConditionalCheckFailed" in code for code in codes):
                    raise _RowChanged([user.key for user in group]) from None
                if not all(code in _RETRIED or "TransactionConflict" in code for code in codes):
                    raise  # a refusal (an item too large, ...): retrying cannot help
                sleep(_backoff(attempt))
                continue
            counter.add(sum(user.rows for user in group))
            return
        raise _Throttled(sum(user.rows for user in group), max_attempts)

    total = sum(user.rows for user in users)
    return _write_concurrently(
        table, transactions(users), send, total, concurrency=concurrency, on_progress=on_progress
    )


# ---------------------------------------------------------------- plans and seeding


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


def plan_items(
    target: Target,
    table: TableInfo,
    items: Sequence[WireItem],
    *,
    client: Any,
    labels: Sequence[str] | None = None,
    validated: bool = False,
) -> SeedPlan:
    """Validate `items` for `table` (unless already done) and decide how they are written."""
    if not validated:
        validate_items(items, table, labels)
    ttl_attribute = users_ttl_attribute(target, table)
    if ttl_attribute is None:
        return SeedPlan(table, list(items))
    return plan_users(
        target, table, items, client=client, ttl_attribute=ttl_attribute, labels=labels
    )


def plan_file(
    target: Target, table: TableInfo, path: Path, fmt: InputFormat = "auto", *, client: Any
) -> SeedPlan:
    """The plan for `seed --from path`: the file read and validated, problems as `file:line`."""
    items, labels = read_file(path, table, fmt)
    return plan_items(target, table, items, client=client, labels=labels, validated=True)


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
    client = client or _seed_client(target, concurrency)
    plan = plan_items(target, table, items, client=client, validated=validated)
    return seed_plan(target, plan, client=client, concurrency=concurrency, on_progress=on_progress)


def _seed_client(target: Target, concurrency: int) -> Any:
    # Every item is validated before it is sent, so botocore's own per-request validation
    # is skipped.
    return target.client(max_pool=max(10, concurrency * 2), validate_params=False)


def seed_plan(
    target: Target,
    plan: SeedPlan,
    *,
    client: Any | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """Write a plan's items (`BatchWriteItem`s, or its guarded transactions)."""
    client = client or _seed_client(target, concurrency)
    name = plan.table.name
    started = time.perf_counter()
    with translated_errors(target, name):
        try:
            if plan.guarded is None:
                written = write_items(
                    client, name, plan.items, concurrency=concurrency, on_progress=on_progress
                )
            else:
                written = write_guarded(
                    client, name, plan.guarded, concurrency=concurrency, on_progress=on_progress
                )
        except SeedIncomplete as error:
            cause = error.__cause__
            if isinstance(cause, ClientError) and not _is_transient(cause):
                # A refusal (wrong table, bad key) is clearer than "stopped after N".
                raise client_error(cause, target, name) from None
            raise
    return SeedResult(name, written, time.perf_counter() - started)


def _is_transient(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code", "") in TRANSIENT_ERRORS


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
) -> list[SeedPlan]:
    """The sample data set of each table key (`users`, `tasks`, `messages`), validated.

    Every table is planned (the users table read and checked) before the caller writes any.
    """
    start = anchor or default_anchor()
    client = client or _seed_client(target, DEFAULT_CONCURRENCY)
    plans: list[SeedPlan] = []
    for key in keys:
        spec = target.table_spec(key)
        if spec is None:
            raise UsageError(
                f"there is no sample data for {key!r}; give --from FILE "
                f"(sample tables: {', '.join(SAMPLE_TABLES)})"
            )
        items = sample_items(target.stage, spec.key, count or DEFAULT_COUNT, start)
        info = describe_table(target, spec.table_name, client)
        plans.append(plan_items(target, info, items, client=client))
    return plans


@dataclass
class SeedJob:
    """A whole `seed` run, validated before the first write, and the one client it uses."""

    target: Target
    client: Any
    plans: list[SeedPlan]
    concurrency: int
    seeds_messages: bool  # the sample messages (their conversation is worth naming)

    def write(self, plan: SeedPlan, on_progress: Callable[[int], None] | None = None) -> SeedResult:
        """Write one of the job's plans."""
        return seed_plan(
            self.target,
            plan,
            client=self.client,
            concurrency=self.concurrency,
            on_progress=on_progress,
        )


def plan_seed(
    target: Target,
    tables: Sequence[str] | None,
    *,
    from_file: Path | None = None,
    input_format: InputFormat = "auto",
    count: int | None = None,
    anchor: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    confirmed: bool = False,
) -> SeedJob:
    """`seed`'s plan: the sample data of `tables` (default: all), or `from_file` for one.

    `UsageError` for prod without `confirmed`, and for options that do not go together.
    """
    if target.is_prod and not confirmed:
        raise UsageError("seeding prod overwrites items with the same keys; add --yes")
    if from_file is not None:
        if count is not None or anchor is not None:
            raise UsageError("--count and --anchor apply to the sample data set, not --from")
        if not tables or len(tables) != 1:
            raise UsageError("--from needs exactly one TABLE to write to")
    keys = list(tables or SAMPLE_TABLES)
    client = _seed_client(target, concurrency)
    if from_file is not None:
        info = describe_table(target, keys[0], client)
        plans = [plan_file(target, info, from_file, input_format, client=client)]
        return SeedJob(target, client, plans, concurrency, seeds_messages=False)
    plans = plan_sample(target, keys, count=count, anchor=parse_anchor(anchor), client=client)
    # plan_sample refused any key that is not a stage table.
    seeds_messages = "messages" in {spec.key for spec in map(target.table_spec, keys) if spec}
    return SeedJob(target, client, plans, concurrency, seeds_messages)


def parse_anchor(text: str | None) -> datetime:
    """`--anchor`: an ISO 8601 time with a time zone (default: the sample data's own)."""
    if text is None:
        return default_anchor()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--anchor {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise UsageError("--anchor needs a time zone, e.g. 2026-01-01T09:00:00+00:00")
    return moment


def seed_sample(target: Target, keys: Sequence[str] = SAMPLE_TABLES) -> list[SeedResult]:
    """Write the sample data set into `keys`' tables (`make deploy`'s seed step)."""
    client = _seed_client(target, DEFAULT_CONCURRENCY)
    return [
        seed_plan(target, plan, client=client) for plan in plan_sample(target, keys, client=client)
    ]
