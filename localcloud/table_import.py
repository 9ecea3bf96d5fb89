"""DynamoDB's import from S3 at table creation (CloudFormation's `ImportSourceSpecification`):
the objects under the prefix in the local cloud's S3 are read into the new table.

As on AWS, every object under `S3KeyPrefix` is read, GZIP or uncompressed, in DynamoDB JSON
(one `{"Item": {...}}` per line) or CSV (first line the header unless `HeaderList` is given;
the key attributes take the table's key types, every other value is a String). A line that
cannot be read is counted and logged, not written, and the import goes on, as AWS's does (it
reports such lines in CloudWatch Logs). A missing bucket fails the table's creation, as it
fails the import on AWS. ION and ZSTD are refused: the local cloud cannot read them.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from localcloud.engine import EngineClient, EngineRequestError

log = logging.getLogger("localcloud.table_import")

BATCH = 25
MAX_UNPROCESSED_ROUNDS = 20


class TableImportError(ValueError):
    """An import the local cloud cannot do; the message says why."""


@dataclass
class ImportSummary:
    """What one import read and wrote."""

    objects: int = 0
    imported: int = 0
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)

    def error(self, where: str, reason: str) -> None:
        self.errors += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{where}: {reason}")


def _objects(account_id: str, bucket_name: str, prefix: str) -> Iterator[tuple[str, bytes]]:
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    backend = s3_backends[account_id]["aws"]
    try:
        bucket = backend.get_bucket(bucket_name)
    except MissingBucket:
        raise TableImportError(f"S3 bucket {bucket_name} does not exist") from None
    for name, key in sorted(bucket.keys.items()):
        value = getattr(key, "value", None)
        if name.startswith(prefix) and not name.endswith("/") and value:
            yield name, bytes(value)


def _lines(name: str, data: bytes, compression: str) -> list[str]:
    if compression == "GZIP":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise ValueError(f"not GZIP: {error}") from None
    return data.decode("utf-8").splitlines()


def _dynamodb_json_items(lines: list[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)["Item"]
            if not isinstance(item, dict) or not all(
                isinstance(v, dict) and len(v) == 1 for v in item.values()
            ):
                raise ValueError("not a DynamoDB JSON item")
        except (ValueError, KeyError, TypeError) as error:
            yield number, f"{type(error).__name__}: {error}"
            continue
        yield number, item


def _csv_items(
    lines: list[str], options: dict[str, Any], key_types: dict[str, str]
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    delimiter = str(options.get("Delimiter") or ",")
    rows = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    header: list[str] | None = list(options.get("HeaderList") or []) or None
    for number, row in enumerate(rows, 1):
        if header is None:
            header = row
            continue
        if len(row) != len(header):
            yield number, f"{len(row)} values for {len(header)} columns"
            continue
        item: dict[str, Any] = {}
        for column, value in zip(header, row, strict=True):
            if value == "" and column not in key_types:
                continue
            item[column] = {key_types.get(column, "S"): value}
        yield number, item


def import_into(
    client: EngineClient,
    table: str,
    spec: dict[str, Any],
    *,
    account_id: str,
    key_types: dict[str, str],
) -> ImportSummary:
    """Read `spec`'s objects into `table` (which exists, empty); what was done."""
    source = spec.get("S3BucketSource") or {}
    bucket = str(source.get("S3Bucket") or "")
    prefix = str(source.get("S3KeyPrefix") or "")
    input_format = str(spec.get("InputFormat") or "")
    compression = str(spec.get("InputCompressionType") or "NONE")
    if input_format not in ("DYNAMODB_JSON", "CSV"):
        raise TableImportError(
            f"the local cloud imports DYNAMODB_JSON and CSV, not {input_format or 'nothing'}"
        )
    if compression not in ("GZIP", "NONE"):
        raise TableImportError(
            f"the local cloud reads GZIP or uncompressed imports, not {compression}"
        )
    options = (spec.get("InputFormatOptions") or {}).get("Csv") or {}
    summary = ImportSummary()
    batch: list[dict[str, Any]] = []
    for name, data in _objects(account_id, bucket, prefix):
        summary.objects += 1
        try:
            lines = _lines(name, data, compression)
        except (ValueError, UnicodeDecodeError) as error:
            summary.error(f"s3://{bucket}/{name}", str(error))
            continue
        items = (
            _dynamodb_json_items(lines)
            if input_format == "DYNAMODB_JSON"
            else _csv_items(lines, options, key_types)
        )
        for number, item in items:
            if isinstance(item, str):
                summary.error(f"s3://{bucket}/{name}:{number}", item)
            elif not all(k in item for k in key_types):
                summary.error(f"s3://{bucket}/{name}:{number}", "a key attribute is missing")
            else:
                batch.append(item)
                if len(batch) == BATCH:
                    summary.imported += _write(client, table, batch, key_types, summary)
                    batch = []
    if batch:
        summary.imported += _write(client, table, batch, key_types, summary)
    if summary.errors:
        log.warning(
            "import into %s: %d lines not imported; first: %s",
            table,
            summary.errors,
            "; ".join(summary.first_errors),
        )
    return summary


def _write(
    client: EngineClient,
    table: str,
    items: list[dict[str, Any]],
    keys: dict[str, str],
    summary: ImportSummary,
) -> int:
    """Put `items` (one batch); the number written. Items the engine refuses are errors."""
    # A later line wins over an earlier one with its key, as in a sequence of puts (and one
    # BatchWriteItem may not name a key twice).
    by_key: dict[str, dict[str, Any]] = {}
    for item in items:
        by_key[json.dumps({name: item[name] for name in keys}, sort_keys=True)] = item
    requests = [{"PutRequest": {"Item": item}} for item in by_key.values()]
    try:
        answer = client.call("BatchWriteItem", {"RequestItems": {table: requests}})
    except EngineRequestError:
        written = 0
        for item in by_key.values():  # one bad item refuses the batch: find it
            try:
                client.call("PutItem", {"TableName": table, "Item": item})
                written += 1
            except EngineRequestError as error:
                summary.error(table, f"{error.code}: {error.message}")
        return written
    rounds = 0
    while answer.get("UnprocessedItems") and rounds < MAX_UNPROCESSED_ROUNDS:
        rounds += 1
        time.sleep(0.05 * rounds)
        answer = client.call("BatchWriteItem", {"RequestItems": answer["UnprocessedItems"]})
    left = len((answer.get("UnprocessedItems") or {}).get(table, []))
    for _ in range(left):
        summary.error(table, "not written: the engine kept it unprocessed")
    return len(requests) - left
