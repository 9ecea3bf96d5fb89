"""TTL expiry: items whose TTL attribute is in the past are deleted, as DynamoDB's background
process does, every `Settings.ttl_interval_s` (AWS takes up to days) or at once on
`POST /_localcloud/ttl/expire`.

A pass reads each table's TTL specification from DynamoDB Local (`DescribeTimeToLive`: the
engine keeps what `UpdateTimeToLive` and CloudFormation set) and scans every enabled table
page by page, keys only. As on AWS, an item expires when its TTL attribute is a Number of
epoch seconds in the past, but not more than five years in the past; anything else is
ignored. Each delete is conditional on the item still being expired, so a writer who extends
the TTL meanwhile wins; indexes follow from the delete.

The REMOVE stream records of these deletes carry DynamoDB's service identity, as on AWS.
After each page of deletes the sweeper reads the table's stream from where it ended before
them and remembers the `eventID` of the first REMOVE of each deleted key (a bounded
registry); `annotate` marks those records, for the stream poller and for `GetRecords`
through the front door, and waits while the keys of a record's table are being resolved. A
later delete of the same key by a user is another record and stays unmarked.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localcloud import arns
from localcloud.engine import EngineClient, EngineRequestError
from localcloud.settings import Settings

log = logging.getLogger("localcloud.ttl")

EXPIRE_PATH = "/_localcloud/ttl/expire"
# Who deleted an expired item: as Lambda events spell it, and as the Streams API's
# `GetRecords` does (its `Identity` shape names the members `Type` and `PrincipalId`).
LAMBDA_EVENT_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
STREAMS_API_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
# AWS leaves items whose TTL is more than five years in the past alone.
MAX_AGE_S = 5 * 365 * 24 * 3600
# Items examined per Scan call: also the most keys a stream reader may wait on at once.
PAGE_SIZE = 100
GET_RECORDS_LIMIT = 1000
# The expiry eventIDs remembered (the oldest are forgotten first).
MAX_REMEMBERED = 100_000
# How long a stream reader waits for the sweeper to resolve the keys it is deleting.
RESOLVE_WAIT_S = 10.0
STOP_WAIT_S = 10.0
# A comparison with a Number is false for any other type, so only Numbers match.
EXPIRED = "#ttl < :now AND #ttl >= :oldest"


def _key_of(keys: dict[str, Any]) -> str:
    return json.dumps(keys, sort_keys=True)


class ExpiryRegistry:
    """The eventIDs of the sweeper's REMOVE records, and the keys it is deleting now."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self.limit = limit
        self._event_ids: OrderedDict[str, None] = OrderedDict()
        self._in_flight: dict[str, set[str]] = {}
        self._changed = threading.Condition()

    def __len__(self) -> int:
        with self._changed:
            return len(self._event_ids)

    def begin(self, table: str, keys: set[str]) -> None:
        """Keys of `table` about to be deleted: readers of their REMOVEs wait for `end`."""
        with self._changed:
            self._in_flight.setdefault(table, set()).update(keys)

    def end(self, table: str, keys: set[str], event_ids: list[str]) -> None:
        """Remember the expiry records found for `keys`; wake the waiting readers."""
        with self._changed:
            for event_id in event_ids:
                self._event_ids[event_id] = None
            while len(self._event_ids) > self.limit:
                self._event_ids.popitem(last=False)
            remaining = self._in_flight.get(table, set()) - keys
            if remaining:
                self._in_flight[table] = remaining
            else:
                self._in_flight.pop(table, None)
            self._changed.notify_all()

    def annotate(self, table: str, records: list[dict[str, Any]], identity: dict[str, str]) -> int:
        """Set `identity` as the `userIdentity` of the expiry REMOVEs among `table`'s
        records (waiting while their keys are being resolved); how many."""
        marked = 0
        deadline = time.monotonic() + RESOLVE_WAIT_S
        with self._changed:
            for record in records:
                if record.get("eventName") != "REMOVE":
                    continue
                key = _key_of(record.get("dynamodb", {}).get("Keys") or {})
                while key in self._in_flight.get(table, ()) and time.monotonic() < deadline:
                    self._changed.wait(deadline - time.monotonic())
                if record.get("eventID") in self._event_ids:
                    record["userIdentity"] = dict(identity)
                    marked += 1
        return marked


class StreamTail:
    """The end of a table's stream when taken; `read` returns what was written since."""

    def __init__(self, client: EngineClient, stream_arn: str) -> None:
        self.client = client
        self.stream_arn = stream_arn
        # A closed shard gets no new records: nothing to read there.
        self.iterators: dict[str, str | None] = {
            shard["ShardId"]: None
            if "EndingSequenceNumber" in (shard.get("SequenceNumberRange") or {})
            else self._iterator(shard["ShardId"], "LATEST")
            for shard in self._shards()
        }

    def _call(self, operation: str, payload: dict[str, Any]) -> Any:
        return self.client.call(operation, payload, streams=True)

    def _shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self._call("DescribeStream", request)["StreamDescription"]
            shards.extend(description.get("Shards") or [])
            if not description.get("LastEvaluatedShardId"):
                return shards
            request["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]

    def _iterator(self, shard_id: str, kind: str) -> str:
        request = {"StreamArn": self.stream_arn, "ShardId": shard_id, "ShardIteratorType": kind}
        iterator: str = self._call("GetShardIterator", request)["ShardIterator"]
        return iterator

    def read(self) -> list[dict[str, Any]]:
        """The records written since the last read (shards opened since: from their start)."""
        for shard in self._shards():
            if shard["ShardId"] not in self.iterators:
                self.iterators[shard["ShardId"]] = self._iterator(shard["ShardId"], "TRIM_HORIZON")
        records: list[dict[str, Any]] = []
        for shard_id, iterator in self.iterators.items():
            while iterator is not None:
                answer = self._call(
                    "GetRecords", {"ShardIterator": iterator, "Limit": GET_RECORDS_LIMIT}
                )
                page = answer.get("Records") or []
                records.extend(page)
                iterator = answer.get("NextShardIterator")
                if not page:
                    break
            self.iterators[shard_id] = iterator
        return records


@dataclass
class TableSweep:
    """What one pass did to one table."""

    attribute: str
    pages: int = 0
    scanned: int = 0
    expired: int = 0
    # Expired when scanned, but not any more at its delete (TTL extended, or deleted).
    changed_meanwhile: int = 0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The table's line of the pass's answer."""
        fields: dict[str, Any] = {
            "attribute": self.attribute,
            "pages": self.pages,
            "scanned": self.scanned,
            "expired": self.expired,
            "changed_meanwhile": self.changed_meanwhile,
        }
        if self.error is not None:
            fields["error"] = self.error
        return fields


@dataclass
class SweepPass:
    """What one pass did: tables with TTL enabled, by name."""

    started_at: float
    tables: dict[str, TableSweep] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def expired(self) -> int:
        return sum(table.expired for table in self.tables.values())

    def as_json(self) -> dict[str, Any]:
        """The answer of `POST /_localcloud/ttl/expire`."""
        return {
            "expired": self.expired,
            "duration_s": round(self.duration_s, 3),
            "tables": {name: table.as_json() for name, table in self.tables.items()},
        }


class TtlSweeper:
    """Deletes expired items of every table with TTL enabled, on a daemon thread."""

    def __init__(
        self,
        client: EngineClient,
        interval_s: float,
        on_delete: Callable[[], None] = lambda: None,
    ) -> None:
        self.client = client
        self.interval_s = interval_s
        self.on_delete = on_delete
        self.expiries = ExpiryRegistry()
        self.passes = 0
        self.failed_passes = 0
        self.items_expired = 0
        self.last_pass: SweepPass | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self._pass_lock = threading.Lock()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ttl-sweeper", daemon=True)

    def start(self) -> None:
        """Sweep every interval until `stop`."""
        self.thread.start()

    def stop(self) -> None:
        """End the thread (a pass in progress stops after its current page)."""
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=STOP_WAIT_S)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_pass()
            except Exception as error:  # noqa: BLE001 - one failed pass must not end expiry
                log.warning("TTL pass failed: %s; next in %.0f s", error, self.interval_s)

    def counters(self) -> dict[str, Any]:
        """Passes, items expired, the last pass's time and duration, the last error."""
        last = self.last_pass
        return {
            "interval_s": self.interval_s,
            "passes": self.passes,
            "failed_passes": self.failed_passes,
            "items_expired": self.items_expired,
            "last_pass_at": _iso(last.started_at) if last else None,
            "last_pass_s": round(last.duration_s, 3) if last else None,
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at) if self.last_error_at else None,
            "remembered_expiries": len(self.expiries),
        }

    def _failed(self, error: str) -> None:
        self.last_error, self.last_error_at = error, time.time()

    def run_pass(self) -> SweepPass:
        """One pass over every table now (after the pass already running, if any)."""
        with self._pass_lock:
            sweep = SweepPass(started_at=time.time())
            try:
                for table in self._tables():
                    attribute = self._ttl_attribute(table)
                    if attribute is not None:
                        sweep.tables[table] = self._sweep_table(table, attribute, sweep.started_at)
            except Exception as error:
                self.failed_passes += 1
                self._failed(str(error))
                raise
            sweep.duration_s = time.time() - sweep.started_at
            self.passes += 1
            self.items_expired += sweep.expired
            self.last_pass = sweep
            return sweep

    def _tables(self) -> list[str]:
        names: list[str] = []
        request: dict[str, Any] = {}
        while True:
            answer = self.client.call("ListTables", request)
            names.extend(answer.get("TableNames") or [])
            if not answer.get("LastEvaluatedTableName"):
                return names
            request["ExclusiveStartTableName"] = answer["LastEvaluatedTableName"]

    def _ttl_attribute(self, table: str) -> str | None:
        try:
            answer = self.client.call("DescribeTimeToLive", {"TableName": table})
        except EngineRequestError as error:
            if error.code == "ResourceNotFoundException":
                return None  # deleted since it was listed
            raise
        description = answer.get("TimeToLiveDescription") or {}
        if description.get("TimeToLiveStatus") != "ENABLED":
            return None
        return str(description["AttributeName"])

    def _sweep_table(self, table: str, attribute: str, now: float) -> TableSweep:
        sweep = TableSweep(attribute)
        try:
            self._expire(table, sweep, now)
        except EngineRequestError as error:
            if error.code != "ResourceNotFoundException":  # else: deleted during the pass
                log.warning("TTL pass over %s: %s", table, error)
                sweep.error = str(error)
                self._failed(f"{table}: {error}")
        return sweep

    def _expire(self, table: str, sweep: TableSweep, now: float) -> None:
        """Scan `table` page by page, deleting each page's expired items."""
        description = self.client.call("DescribeTable", {"TableName": table})["Table"]
        key_names = [k["AttributeName"] for k in description["KeySchema"]]
        stream_arn = (
            description.get("LatestStreamArn")
            if (description.get("StreamSpecification") or {}).get("StreamEnabled")
            else None
        )
        names = {"#ttl": sweep.attribute}
        values = {":now": {"N": f"{now:.3f}"}, ":oldest": {"N": f"{now - MAX_AGE_S:.3f}"}}
        condition: dict[str, Any] = {
            "ConditionExpression": EXPIRED,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        request: dict[str, Any] = {
            "TableName": table,
            "Limit": PAGE_SIZE,
            "ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(key_names))),
            "FilterExpression": EXPIRED,
            "ExpressionAttributeNames": names | {f"#k{i}": n for i, n in enumerate(key_names)},
            "ExpressionAttributeValues": values,
        }
        tail: StreamTail | None = None
        while not self._stop.is_set():
            page = self.client.call("Scan", request)
            sweep.pages += 1
            sweep.scanned += int(page.get("ScannedCount") or 0)
            if page.get("Items"):
                # Taken before the first delete: every REMOVE of ours is read after it.
                if stream_arn and tail is None:
                    tail = StreamTail(self.client, stream_arn)
                self._delete(table, page["Items"], condition, tail, sweep)
            if not page.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _delete(
        self,
        table: str,
        keys: list[dict[str, Any]],
        condition: dict[str, Any],
        tail: StreamTail | None,
        sweep: TableSweep,
    ) -> None:
        """Delete `keys` that are still expired; remember their REMOVE records' eventIDs."""
        in_flight = {_key_of(key) for key in keys} if tail else set()
        self.expiries.begin(table, in_flight)
        deleted: set[str] = set()
        event_ids: list[str] = []
        try:
            for key in keys:
                try:
                    self.client.call("DeleteItem", {"TableName": table, "Key": key, **condition})
                except EngineRequestError as error:
                    if error.code != "ConditionalCheckFailedException":
                        raise
                    sweep.changed_meanwhile += 1
                    continue
                sweep.expired += 1
                deleted.add(_key_of(key))
            if tail is not None and deleted:
                event_ids = _first_removes(tail.read(), deleted)
        finally:
            self.expiries.end(table, in_flight, event_ids)
        if deleted:
            self.on_delete()


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


def _first_removes(records: list[dict[str, Any]], deleted: set[str]) -> list[str]:
    """The eventID of the first REMOVE record of each deleted key."""
    waiting = set(deleted)
    found: list[str] = []
    for record in records:
        if record.get("eventName") != "REMOVE":
            continue
        key = _key_of(record.get("dynamodb", {}).get("Keys") or {})
        if key in waiting:
            waiting.discard(key)
            found.append(str(record["eventID"]))
    return found


_sweeper: TtlSweeper | None = None


def install(
    settings: Settings, client: EngineClient, on_delete: Callable[[], None] = lambda: None
) -> TtlSweeper:
    """Start the sweeper (idempotent); `on_delete` runs after each page of deletes."""
    global _sweeper
    if _sweeper is None:
        _sweeper = TtlSweeper(client, settings.ttl_interval_s, on_delete)
        _sweeper.start()
    return _sweeper


def sweeper() -> TtlSweeper:
    """The installed sweeper; `RuntimeError` before `install()`."""
    if _sweeper is None:
        raise RuntimeError("the TTL sweeper is not installed")
    return _sweeper


def annotate(stream_arn: str, records: list[dict[str, Any]], identity: dict[str, str]) -> int:
    """Set `identity` (`LAMBDA_EVENT_IDENTITY` or `STREAMS_API_IDENTITY`) as the
    `userIdentity` of the expiry REMOVEs among records read from `stream_arn`; how many."""
    if _sweeper is None:
        return 0
    try:
        table = arns.table_of(stream_arn)
    except ValueError:
        return 0
    return _sweeper.expiries.annotate(table, records, identity)


def uninstall() -> None:
    """Stop the sweeper."""
    global _sweeper
    if _sweeper is not None:
        _sweeper.stop()
        _sweeper = None


class ExpireRequestError(RuntimeError):
    """The cloud on the port did not run a TTL pass (nothing there, not ours, or it failed)."""


def expire_now(port: int, timeout: float = 300.0) -> dict[str, Any]:
    """Ask the local cloud on `port` for one TTL pass now; its answer."""
    url = f"http://localhost:{port}{EXPIRE_PATH}"
    request = urllib.request.Request(url, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise ExpireRequestError(f"{url} answered {error.code}: {error.read()[:300]!r}") from error
    except OSError as error:  # URLError too: nothing answers on the port
        raise ExpireRequestError(f"{url}: {error}") from error
    return answer
