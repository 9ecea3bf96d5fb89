"""`scan`: read a table or index to the end (or a limit), optionally in parallel segments."""

from __future__ import annotations

import contextlib
import json
import queue
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from scripts.codec import ItemFormatError, WireItem, WireValue, loads_json, plain_value
from scripts.errors import IndexNotFound, InvalidInput, UsageError
from scripts.tables import TableInfo
from scripts.target import Target, translated_errors

MAX_SEGMENTS = 1_000_000  # DynamoDB's TotalSegments limit


@dataclass(frozen=True)
class ScanRequest:
    """A validated scan: table, optional index, filter and limits."""

    table: str
    index: str | None = None
    filter_expression: str | None = None
    values: Mapping[str, WireValue] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    limit: int | None = None
    segments: int = 1
    consistent: bool = False
    page_size: int | None = None

    def base_params(self) -> dict[str, Any]:
        """The `Scan` parameters shared by every page and segment."""
        params: dict[str, Any] = {"TableName": self.table}
        if self.index:
            params["IndexName"] = self.index
        if self.filter_expression:
            params["FilterExpression"] = self.filter_expression
        if self.values:
            params["ExpressionAttributeValues"] = dict(self.values)
        if self.names:
            params["ExpressionAttributeNames"] = dict(self.names)
        if self.consistent:
            params["ConsistentRead"] = True
        if self.page_size is not None:
            params["Limit"] = self.page_size
        return params


def parse_values(text: str | None) -> dict[str, WireValue]:
    """`--values` JSON (`{":y": "2024", ":n": 3}`) as expression attribute values."""
    if not text:
        return {}
    try:
        obj = loads_json(text)
    except json.JSONDecodeError as error:
        raise InvalidInput([f"--values: not JSON ({error.msg} at column {error.colno})"]) from None
    if not isinstance(obj, dict) or not obj:
        raise InvalidInput(['--values: expected a JSON object like {":name": "value"}'])
    values: dict[str, WireValue] = {}
    for name, value in obj.items():
        if not name.startswith(":"):
            raise InvalidInput([f"--values: placeholder {name!r} must start with ':'"])
        try:
            values[name] = plain_value(value, f"--values {name}")
        except ItemFormatError as error:
            raise InvalidInput([str(error)]) from None
    return values


_VALUE_PLACEHOLDER = re.compile(r":[A-Za-z0-9_]+")
_NAME_PLACEHOLDER = re.compile(r"#[A-Za-z0-9_]+")


def check_placeholders(
    expression: str, values: Mapping[str, WireValue], names: Mapping[str, str]
) -> None:
    """Every `:value` and `#name` of `expression` is defined, and every definition used.

    DynamoDB refuses both mistakes; checking first gives the same clear message on every
    engine (moto answers an undefined `:value` with an internal error).
    """
    used_values = set(_VALUE_PLACEHOLDER.findall(expression))
    used_names = set(_NAME_PLACEHOLDER.findall(expression))
    for kind, used, defined in (
        ("--values", used_values, set(values)),
        ("--names", used_names, set(names)),
    ):
        missing = ", ".join(sorted(used - defined))
        if missing:
            raise InvalidInput([f"--filter uses {missing}, which {kind} does not define"])
        unused = ", ".join(sorted(defined - used))
        if unused:
            raise InvalidInput([f"{kind} defines {unused}, which --filter does not use"])


def parse_names(text: str | None) -> dict[str, str]:
    """`--names` JSON (`{"#n": "name"}`) as expression attribute names."""
    if not text:
        return {}
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput([f"--names: not JSON ({error.msg} at column {error.colno})"]) from None
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and k.startswith("#") and isinstance(v, str) for k, v in obj.items()
    ):
        raise InvalidInput(['--names: expected a JSON object like {"#n": "name"}'])
    return dict(obj)


def build_request(
    table: TableInfo,
    *,
    index: str | None = None,
    filter_expression: str | None = None,
    values: str | None = None,
    names: str | None = None,
    limit: int | None = None,
    segments: int = 1,
    consistent: bool = False,
    page_size: int | None = None,
) -> ScanRequest:
    """Check the options against the table before any read; raise a clear error."""
    if index is not None and table.index(index) is None:
        available = ", ".join(i.name for i in table.indexes) or "none"
        raise IndexNotFound(f"table {table.name} has no index {index!r} (indexes: {available})")
    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    if page_size is not None and page_size < 1:
        raise UsageError("--page-size must be at least 1")
    if not 1 <= segments <= MAX_SEGMENTS:
        raise UsageError(f"--segments must be between 1 and {MAX_SEGMENTS}")
    parsed_values = parse_values(values)
    parsed_names = parse_names(names)
    if (parsed_values or parsed_names) and not filter_expression:
        raise UsageError("--values and --names need --filter")
    if filter_expression:
        check_placeholders(filter_expression, parsed_values, parsed_names)
    if consistent and index is not None and table.index(index).kind == "GSI":  # type: ignore[union-attr]
        raise UsageError("global secondary indexes support only eventually consistent reads")
    return ScanRequest(
        table=table.name,
        index=index,
        filter_expression=filter_expression or None,
        values=parsed_values,
        names=parsed_names,
        limit=limit,
        segments=segments,
        consistent=consistent,
        page_size=page_size,
    )


def _pages(client: Any, params: dict[str, Any], stop: threading.Event) -> Iterator[list[WireItem]]:
    start_key: dict[str, Any] | None = None
    while not stop.is_set():
        page_params = dict(params)
        if start_key:
            page_params["ExclusiveStartKey"] = start_key
        response = client.scan(**page_params)
        yield response.get("Items", [])
        start_key = response.get("LastEvaluatedKey")
        if not start_key:
            return


def scan_items(
    target: Target, request: ScanRequest, client: Any | None = None
) -> Iterator[WireItem]:
    """Every matching item, page after page, up to `request.limit`.

    With several segments, each segment is read by its own thread (a parallel scan) and
    items arrive in no particular order.
    """
    client = client or target.client(max_pool=max(10, request.segments + 2))
    with translated_errors(target, request.table):
        if request.segments == 1:
            yield from _limited(_sequential(client, request), request.limit)
        else:
            yield from _limited(_parallel(client, request), request.limit)


def _limited(items: Iterator[WireItem], limit: int | None) -> Iterator[WireItem]:
    for count, item in enumerate(items, start=1):
        yield item
        if limit is not None and count >= limit:
            if hasattr(items, "close"):
                items.close()
            return


def _sequential(client: Any, request: ScanRequest) -> Iterator[WireItem]:
    params = request.base_params()
    if request.limit is not None and not request.filter_expression:
        # Without a filter, reading more than the limit is waste; with one, Limit would
        # cap the items *evaluated*, so pages stay full-size and we stop early instead.
        params["Limit"] = min(request.limit, params.get("Limit", request.limit))
    for page in _pages(client, params, threading.Event()):
        yield from page


_DONE = object()


def _parallel(client: Any, request: ScanRequest) -> Iterator[WireItem]:
    results: queue.Queue[Any] = queue.Queue(maxsize=request.segments * 4)
    stop = threading.Event()

    def read_segment(segment: int) -> None:
        params = request.base_params()
        params.update(Segment=segment, TotalSegments=request.segments)
        try:
            for page in _pages(client, params, stop):
                _put(results, page, stop)
        except BaseException as error:  # noqa: BLE001 - re-raised in the consumer thread
            _put(results, error, stop)
        finally:
            _put(results, _DONE, stop, force=True)

    threads = [
        threading.Thread(target=read_segment, args=(segment,), daemon=True, name=f"scan-{segment}")
        for segment in range(request.segments)
    ]
    for thread in threads:
        thread.start()
    finished = 0
    try:
        while finished < len(threads):
            entry = results.get()
            if entry is _DONE:
                finished += 1
            elif isinstance(entry, BaseException):
                raise entry
            else:
                yield from entry
    finally:
        stop.set()
        while any(thread.is_alive() for thread in threads):
            with contextlib.suppress(queue.Empty):
                results.get(timeout=0.05)
        for thread in threads:
            thread.join()


def _put(results: queue.Queue[Any], entry: Any, stop: threading.Event, force: bool = False) -> None:
    while True:
        if stop.is_set() and not force:
            return
        try:
            results.put(entry, timeout=0.05)
            return
        except queue.Full:
            if stop.is_set() and force:
                return
