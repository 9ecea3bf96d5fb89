"""DynamoDB stream event source mappings: records read from DynamoDB Local's stream and
delivered to the mapped function, as Lambda's pollers do.

One `MappingPoller` thread per event source mapping, keyed by the mapping's UUID and never
by anything of the table's, reads the stream through the Streams API (`DescribeStream`
with paging, `GetShardIterator`, `GetRecords`), shard by shard in lineage order (a parent
before its children), and delivers:

* batches of at most `BatchSize` records in order per shard, from the mapping's starting
  position (`TRIM_HORIZON`, or `LATEST` for the shards open when the mapping was created);
* each record once per successful batch: the position moves only past delivered records;
* a failed batch is retried (at least once) with a short backoff, halved first with
  `BisectBatchOnFunctionError`, until `MaximumRetryAttempts` (-1/absent: until
  `MaximumRecordAgeInSeconds`); then the batch's description goes to the `OnFailure` SQS
  destination, if any, and the position moves past it;
* with `ReportBatchItemFailures` the records before the lowest reported failure are
  checkpointed and delivery resumes from that record;
* with `ParallelizationFactor` N, up to N batches at once, records dealt to N lanes by
  partition key, so each key's records still arrive in order;
* nothing while the mapping is disabled; the thread ends when the mapping is deleted.

The front door wakes the pollers after every successful item write, so a record reaches its
function without waiting for the idle poll interval.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import EventSourceMapping, LambdaBackend
from moto.core.exceptions import JsonRESTError as RESTError

from localcloud import arns, event_filter, iam, iam_policy, lambda_runner, ttl
from localcloud.dynamodb import service
from localcloud.engine import EngineError, EngineRequestError
from localcloud.patches import Patch, PatchSet
from localcloud.settings import Settings

log = logging.getLogger("localcloud.streams")

IDLE_WAIT_S = 0.5
SCAN_INTERVAL_S = 0.5
SHARD_REFRESH_S = 5.0
MAX_BACKOFF_S = 2.0
GET_RECORDS_LIMIT = 1000
BUSY_READ_INTERVAL_S = 0.05
# Lambda's limit for DynamoDB streams.
MAX_PARALLELIZATION = 10
# On shutdown, how long the batches in flight get to end (and be checkpointed).
FINISH_TIMEOUT_S = 5.0


@dataclass
class Delivery:
    """What happened to one batch."""

    ok: bool
    request_id: str
    error: str = ""
    # The handler's response, for `ReportBatchItemFailures`.
    payload: bytes = b""


@dataclass
class Pending:
    """A record read from the stream and not yet delivered."""

    record: dict[str, Any]
    shard_id: str
    read_at: float
    # Its place in the order the poller read the stream.
    order: int


@dataclass
class Lane:
    """The records of the partition keys dealt to one lane, in order, and its batch state."""

    limit: int
    queue: list[Pending] = field(default_factory=list)
    batch: list[Pending] = field(default_factory=list)
    in_flight: Future[Delivery] | None = None
    attempts: int = 0
    # Backoff after a failed batch: no new batch before this (monotonic) time.
    not_before: float = 0.0


@dataclass
class ShardCursor:
    """Where a mapping is in one shard."""

    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    # The last sequence number read (for a new iterator when one expires).
    last_read: str | None = None
    # Closed and read to the end.
    finished: bool = False


def _after(sequence: str, other: str | None) -> bool:
    """Whether stream sequence number `sequence` comes after `other` (None: the start)."""
    if other is None:
        return True
    try:
        return int(sequence) > int(other)
    except ValueError:
        return (len(sequence), sequence) > (len(other), other)


def is_dynamodb_stream(arn: str) -> bool:
    """Whether an event source ARN is a DynamoDB stream's."""
    return ":dynamodb:" in arn and "/stream/" in arn


def failed_index(esm: Any, batch: list[dict[str, Any]], delivery: Delivery) -> int | None:
    """With `ReportBatchItemFailures`, the batch index to resume from; `None`: all succeeded.

    As on AWS: the lowest reported sequence number is the checkpoint; a failure entry that
    names no record of the batch (or a malformed response) fails the whole batch.
    """
    if not delivery.ok:
        return 0
    if "ReportBatchItemFailures" not in (esm.function_response_types or []):
        return None
    try:
        response = json.loads(delivery.payload or b"null")
    except ValueError:
        return None
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not failures:
        return None
    sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
    indexes = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in sequence_numbers:
            return 0
        indexes.append(sequence_numbers.index(identifier))
    return min(indexes)


def _enabled(esm: Any) -> bool:
    enabled = esm.enabled
    if isinstance(enabled, str):
        return enabled.lower() != "false"
    return bool(enabled)


def _lambda_backend(esm: Any) -> LambdaBackend:
    from moto.awslambda.utils import get_backend

    backend: LambdaBackend = get_backend(esm.account_id, esm.region)
    return backend


class MappingPoller:
    """The one delivery thread of one DynamoDB-stream event source mapping.

    It reads the stream and deals the records to `ParallelizationFactor` lanes by partition
    key (as Lambda does: one key's records stay in order, in one lane), and keeps at most one
    batch per lane in flight; the invocations run on the mapping's small pool of workers.
    """

    def __init__(
        self, esm: EventSourceMapping, stop: threading.Event, saved: dict[str, Any] | None = None
    ) -> None:
        self.esm = esm
        self.uuid = esm.uuid
        self.stream_arn = arns.engine_arn(esm.event_source_arn)
        self.wake = threading.Event()
        # Set when a batch finishes (the wake-up that matters while every lane is busy).
        self._done = threading.Event()
        self._stop = stop
        self.cursors: dict[str, ShardCursor] = {}
        self.lanes: list[Lane] = []
        self.hash_key: str | None = None
        self._read_count = 0
        self._read_at = 0.0
        self._refreshed_at = 0.0
        self._first_refresh = True
        self.delivered = 0
        self.filtered = 0
        self.invocations = 0
        self._filter_source: Any = None
        self._filter_patterns: list[event_filter.Pattern] = []
        self._workers: ThreadPoolExecutor | None = None
        # Records read before a restart and not yet settled, dealt to lanes on the first step.
        self._resumed: list[Pending] = []
        if saved is not None:
            self._resume(saved)
        self.thread = threading.Thread(target=self._run, name=f"stream-{esm.uuid[:8]}", daemon=True)

    # -- checkpoints (the state snapshot) ----------------------------------------------------
    def export(self) -> dict[str, Any]:
        """Where the mapping is in each shard, and the records read but not yet settled.

        The cursors are copied before the lanes: a record read in between is then both
        pending and past its cursor, and `_resume` reads it once, never zero times.
        """
        cursors = {
            c.shard_id: [c.parent_id, c.last_read, c.finished] for c in list(self.cursors.values())
        }
        queued = [p for lane in list(self.lanes) for p in list(lane.queue)]
        pending = sorted(queued, key=lambda p: p.order) + list(self._resumed)
        return {
            "hash_key": self.hash_key,
            "cursors": cursors,
            "pending": [[p.shard_id, p.record] for p in pending],
        }

    def _resume(self, saved: dict[str, Any]) -> None:
        """Continue after a restart from what `export` returned."""
        self.hash_key = saved.get("hash_key")
        for shard_id, (parent_id, last_read, finished) in saved["cursors"].items():
            self.cursors[shard_id] = ShardCursor(shard_id, parent_id, None, last_read, finished)
        self._first_refresh = False
        now = time.monotonic()
        for shard_id, record in saved["pending"]:
            self._read_count += 1
            self._resumed.append(Pending(record, shard_id, now, self._read_count))
            cursor = self.cursors.get(shard_id)
            sequence = str(record["dynamodb"]["SequenceNumber"])
            if cursor is not None and _after(sequence, cursor.last_read):
                cursor.last_read = sequence

    # -- the stream ------------------------------------------------------------------------
    def _call(self, operation: str, payload: dict[str, Any]) -> Any:
        return service().client.call(operation, payload, streams=True)

    def take_starting_position(self) -> None:
        """For an enabled `LATEST` mapping, fix each open shard's position now.

        Called while `CreateEventSourceMapping` is answered, before the thread starts, so a
        write made after the call returned is delivered (the thread's first pass would race
        with it). A disabled mapping takes its position when enabled, as on AWS. If the
        engine does not answer, the thread's first pass takes the position instead.
        """
        if not (
            self._first_refresh and self.esm.starting_position == "LATEST" and _enabled(self.esm)
        ):
            return
        try:
            self._refresh_shards()
        except (EngineError, RuntimeError, KeyError) as error:
            log.warning("stream mapping %s: position not taken yet: %s", self.uuid, error)

    def _refresh_shards(self) -> None:
        """Learn new shards (paged); on the first pass, honour the starting position."""
        shards: list[dict[str, Any]] = []
        start: str | None = None
        while True:
            request: dict[str, Any] = {"StreamArn": self.stream_arn}
            if start:
                request["ExclusiveStartShardId"] = start
            description = self._call("DescribeStream", request)["StreamDescription"]
            self.hash_key = next(
                (
                    k["AttributeName"]
                    for k in description.get("KeySchema") or []
                    if k.get("KeyType") == "HASH"
                ),
                self.hash_key,
            )
            shards.extend(description.get("Shards") or [])
            start = description.get("LastEvaluatedShardId")
            if not start:
                break
        latest = self._first_refresh and self.esm.starting_position == "LATEST"
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self.cursors:
                continue
            cursor = ShardCursor(shard_id, shard.get("ParentShardId"))
            closed = "EndingSequenceNumber" in (shard.get("SequenceNumberRange") or {})
            if latest:
                if closed:
                    cursor.finished = True
                else:
                    cursor.iterator = self._iterator(shard_id, "LATEST")
            self.cursors[shard_id] = cursor
        self._first_refresh = False
        self._refreshed_at = time.monotonic()

    def _iterator(self, shard_id: str, kind: str, sequence: str | None = None) -> str:
        request: dict[str, Any] = {
            "StreamArn": self.stream_arn,
            "ShardId": shard_id,
            "ShardIteratorType": kind,
        }
        if sequence is not None:
            request["SequenceNumber"] = sequence
        iterator: str = self._call("GetShardIterator", request)["ShardIterator"]
        return iterator

    def _readable(self) -> ShardCursor | None:
        """The shard to read now: unfinished, with its parent finished or unknown."""
        for cursor in self.cursors.values():
            if cursor.finished:
                continue
            parent = self.cursors.get(cursor.parent_id or "")
            if parent is None or parent.finished:
                return cursor
        return None

    def _read(self, limit: int) -> bool:
        """Read up to `limit` records into `pending`; whether anything new was read."""
        if not self.cursors or time.monotonic() - self._refreshed_at > SHARD_REFRESH_S:
            self._refresh_shards()
        cursor = self._readable()
        if cursor is None:
            self._refresh_shards()
            cursor = self._readable()
            if cursor is None:
                return False
        if cursor.iterator is None:
            cursor.iterator = (
                self._iterator(cursor.shard_id, "AFTER_SEQUENCE_NUMBER", cursor.last_read)
                if cursor.last_read
                else self._iterator(cursor.shard_id, "TRIM_HORIZON")
            )
        try:
            answer = self._call(
                "GetRecords",
                {"ShardIterator": cursor.iterator, "Limit": min(limit, GET_RECORDS_LIMIT)},
            )
        except EngineRequestError as error:
            if error.code in ("ExpiredIteratorException", "TrimmedDataAccessException"):
                if error.code == "TrimmedDataAccessException":
                    cursor.last_read = None
                cursor.iterator = None
                return True
            raise
        records = answer.get("Records") or []
        ttl.annotate(self.stream_arn, records, ttl.LAMBDA_EVENT_IDENTITY)  # TTL's REMOVEs
        now = time.monotonic()
        patterns = self._patterns()
        for record in records:
            record["awsRegion"] = self.esm.region
            record["eventSourceARN"] = self.esm.event_source_arn
            if not event_filter.matches_any(patterns, record):
                # Dropped by the mapping's FilterCriteria: checkpointed past, never invoked.
                self.filtered += 1
                self.delivered += 1
                continue
            self._read_count += 1
            pending = Pending(record, cursor.shard_id, now, self._read_count)
            self.lanes[self._lane_of(record)].queue.append(pending)
        if records:
            cursor.last_read = records[-1]["dynamodb"]["SequenceNumber"]
        cursor.iterator = answer.get("NextShardIterator")
        if cursor.iterator is None:
            cursor.finished = True
            self._refresh_shards()
            return True
        return bool(records)

    # -- the mapping -----------------------------------------------------------------------
    def _alive(self) -> bool:
        try:
            return _lambda_backend(self.esm).get_event_source_mapping(self.uuid) is self.esm
        except (KeyError, RuntimeError):
            return False

    def _batch_size(self) -> int:
        return int(self.esm.batch_size or 100)

    def _patterns(self) -> list[event_filter.Pattern]:
        """The mapping's filter patterns (parsed again only when they change)."""
        criteria = self.esm.filter_criteria
        # An update replaces the mapping's criteria object, so identity tells a change.
        if criteria is not self._filter_source:
            self._filter_source, self._filter_patterns = criteria, event_filter.parse(criteria)
        return self._filter_patterns

    def _factor(self) -> int:
        return max(1, min(MAX_PARALLELIZATION, int(self.esm.parallelization_factor or 1)))

    def _lane_of(self, record: dict[str, Any]) -> int:
        if len(self.lanes) == 1:
            return 0
        keys = record.get("dynamodb", {}).get("Keys") or {}
        key = keys.get(self.hash_key or "", keys)
        return zlib.crc32(json.dumps(key, sort_keys=True).encode()) % len(self.lanes)

    def _relane(self) -> None:
        """Match the lanes to the mapping's factor (when none is in flight), keeping order."""
        factor = self._factor()
        if (len(self.lanes) == factor and not self._resumed) or any(
            lane.in_flight for lane in self.lanes
        ):
            return
        waiting = self._resumed + sorted(
            (p for lane in self.lanes for p in lane.queue), key=lambda p: p.order
        )
        self._resumed = []
        self.lanes = [Lane(self._batch_size()) for _ in range(factor)]
        for pending in waiting:
            self.lanes[self._lane_of(pending.record)].queue.append(pending)
        if self._workers is not None:
            self._workers.shutdown(wait=False)
        self._workers = ThreadPoolExecutor(factor, thread_name_prefix=f"lane-{self.uuid[:8]}")

    def _buffered(self) -> int:
        return sum(len(lane.queue) for lane in self.lanes)

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and self._alive():
                self.wake.clear()
                self._done.clear()
                try:
                    self._step()
                except (EngineError, RuntimeError, KeyError) as error:
                    log.warning("stream mapping %s: %s; retrying", self.uuid, error)
                    self._stop.wait(1.0)
        finally:
            if self._stop.is_set():
                self._finish_in_flight()
            if self._workers is not None:
                self._workers.shutdown(wait=False)
        log.info("stream mapping %s stopped", self.uuid)

    def _finish_in_flight(self) -> None:
        """On shutdown, let the batches in flight end and checkpoint them (bounded wait)."""
        futures = [lane.in_flight for lane in self.lanes if lane.in_flight is not None]
        if futures:
            wait_for_futures(futures, timeout=FINISH_TIMEOUT_S)
            self._settle_finished()

    def _step(self) -> None:
        """Settle finished batches, read what fits, start what is ready, else wait."""
        self._settle_finished()
        if not _enabled(self.esm):
            self.wake.wait(IDLE_WAIT_S)
            return
        self._relane()
        # A lane that is free starts on what is buffered before the next read, which under
        # load waits its turn in the engine: records read while the lanes were busy do not
        # wait for it too.
        self._start_ready(time.monotonic())
        now = time.monotonic()
        room = self._batch_size() * len(self.lanes) - self._buffered()
        # While every lane is busy, new records only queue: read them now and then, not on
        # every write's wake-up.
        busy = all(lane.in_flight for lane in self.lanes)
        read_more = False
        if room > 0 and (not busy or now - self._read_at >= BUSY_READ_INTERVAL_S):
            self._read_at = now
            read_more = self._read(room)
        wait = self._start_ready(time.monotonic())
        if read_more:
            return
        if all(lane.in_flight for lane in self.lanes):
            # Only a finished batch (or the next read, if there is room) changes anything.
            self._done.wait(BUSY_READ_INTERVAL_S if room > 0 else IDLE_WAIT_S)
        else:
            self.wake.wait(wait)

    def _start_ready(self, now: float) -> float:
        """Start a batch in every idle lane that is ready; return how long to wait at most."""
        window = float(self.esm.max_batch_window or 0)
        wait = IDLE_WAIT_S
        for lane in self.lanes:
            if lane.in_flight or not lane.queue:
                continue
            due = max(lane.not_before, lane.queue[0].read_at + window)
            if len(lane.queue) < lane.limit and due > now:
                wait = min(wait, due - now)
                continue
            if lane.not_before > now:
                wait = min(wait, lane.not_before - now)
                continue
            batch = lane.queue[: lane.limit]
            lane.batch = [p for p in batch if p.shard_id == batch[0].shard_id]
            self.invocations += 1
            assert self._workers is not None
            lane.in_flight = self._workers.submit(self._invoke, [p.record for p in lane.batch])
            lane.in_flight.add_done_callback(self._finished)
        return wait

    def _finished(self, _: Future[Delivery]) -> None:
        self._done.set()
        self.wake.set()

    def _settle_finished(self) -> None:
        for lane in self.lanes:
            if lane.in_flight is not None and lane.in_flight.done():
                delivery = lane.in_flight.result()
                lane.in_flight = None
                self._settle(lane, delivery)

    def _settle(self, lane: Lane, delivery: Delivery) -> None:
        """Checkpoint, retry, bisect or give up on the lane's finished batch."""
        batch, lane.batch = lane.batch, []
        resume = failed_index(self.esm, [p.record for p in batch], delivery)
        if resume is None:
            self._advance(lane, len(batch))
            return
        if resume > 0:
            # Partial success: checkpoint before the first failed record, retry from it.
            self._advance(lane, resume, reset=False)
            batch = batch[resume:]
        log.warning(
            "stream batch for %s failed at record %d: %s",
            self.esm.function_arn,
            resume,
            delivery.error or "reported batchItemFailures",
        )
        if not delivery.ok and self.esm.bisect_on_error and len(batch) > 1:
            lane.limit = max(1, len(batch) // 2)
            return
        lane.attempts += 1
        if self._exhausted(batch, lane.attempts):
            self._on_failure(batch, lane.attempts, delivery)
            self._advance(lane, len(batch))
            return
        lane.not_before = time.monotonic() + min(MAX_BACKOFF_S, 0.05 * 2**lane.attempts)

    def _advance(self, lane: Lane, count: int, reset: bool = True) -> None:
        del lane.queue[:count]
        self.delivered += count
        if reset:
            lane.limit, lane.attempts, lane.not_before = self._batch_size(), 0, 0.0

    def _invoke(self, records: list[dict[str, Any]]) -> Delivery:
        try:
            backend = _lambda_backend(self.esm)
            fn = backend.get_function(self.esm.function_arn)
            outcome = lambda_runner.runner().invoke(fn, {"Records": records})
        except Exception as error:  # noqa: BLE001 - a vanished function must not kill the thread
            return Delivery(ok=False, request_id="", error=repr(error))
        return Delivery(
            ok=not outcome.function_error,
            request_id=outcome.request_id,
            error=outcome.payload.decode(errors="replace")[:1000] if outcome.function_error else "",
            payload=outcome.payload,
        )

    def _exhausted(self, batch: list[Pending], attempts: int) -> bool:
        retries = self.esm.max_retry_attempts
        if retries is not None and int(retries) >= 0 and attempts > int(retries):
            return True
        max_age = self.esm.max_record_age
        if max_age is not None and int(max_age) >= 0:
            # Age from when the poller read the record: the stream's own timestamp is
            # rounded to the minute.
            return time.monotonic() - batch[0].read_at > int(max_age)
        return False

    def _on_failure(self, batch: list[Pending], attempts: int, delivery: Delivery) -> None:
        esm = self.esm
        destination = ((esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
        log.warning(
            "dropping %d stream records for %s after %d attempts (destination %s)",
            len(batch),
            esm.function_arn,
            attempts,
            destination,
        )
        if not destination or ":sqs:" not in destination:
            return
        from moto.sqs.models import sqs_backends

        first, last = batch[0].record["dynamodb"], batch[-1].record["dynamodb"]

        def stamp(record: dict[str, Any]) -> str:
            created = record.get("ApproximateCreationDateTime")
            moment = datetime.fromtimestamp(float(created), UTC) if created else datetime.now(UTC)
            return moment.isoformat().replace("+00:00", "Z")

        body = {
            "requestContext": {
                "requestId": delivery.request_id or str(uuid.uuid4()),
                "functionArn": esm.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": batch[0].shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": stamp(first),
                "approximateArrivalOfLastRecord": stamp(last),
                "batchSize": len(batch),
                "streamArn": esm.event_source_arn,
            },
        }
        _, _, _, region, account, queue_name = destination.split(":", 5)
        sqs_backends[account][region].send_message(queue_name, json.dumps(body))


class StreamPoller:
    """Exactly one `MappingPoller` per DynamoDB-stream mapping of the server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pollers: dict[str, MappingPoller] = {}
        # Checkpoints restored from the state snapshot, for mappings not yet seen.
        self._saved: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._scan_wake = threading.Event()
        self._scanner = threading.Thread(target=self._scan_loop, name="stream-scan", daemon=True)
        self._scanner.start()

    def _mappings(self) -> list[EventSourceMapping]:
        from moto.awslambda.models import lambda_backends

        found = []
        for regions in list(lambda_backends.values()):
            for backend in list(regions.values()):
                for esm in list(backend._event_source_mappings.values()):
                    if is_dynamodb_stream(esm.event_source_arn):
                        found.append(esm)
        return found

    def ensure(self, esm: EventSourceMapping) -> MappingPoller:
        """The mapping's poller, started on first sight."""
        with self._lock:
            poller = self.pollers.get(esm.uuid)
            if poller is None or not poller.thread.is_alive():
                poller = MappingPoller(esm, self._stop, self._saved.pop(esm.uuid, None))
                poller.take_starting_position()
                self.pollers[esm.uuid] = poller
                poller.thread.start()
            return poller

    def _scan_loop(self) -> None:
        """Start pollers for new mappings; forget the ones whose mapping is gone."""
        while not self._stop.is_set():
            try:
                live = {esm.uuid: esm for esm in self._mappings()}
                for esm in live.values():
                    self.ensure(esm)
                with self._lock:
                    for key in [k for k, p in self.pollers.items() if not p.thread.is_alive()]:
                        if key not in live:
                            del self.pollers[key]
            except (RuntimeError, AttributeError, KeyError) as error:
                log.debug("stream scan skipped a pass: %r", error)
            self._scan_wake.wait(SCAN_INTERVAL_S)
            self._scan_wake.clear()

    def notify(self) -> None:
        """Something was written: wake every poller."""
        with self._lock:
            pollers = list(self.pollers.values())
        for poller in pollers:
            poller.wake.set()

    def counters(self) -> dict[str, dict[str, int]]:
        """Per mapping: records checkpointed past (delivered or filtered out), of them the
        ones its FilterCriteria dropped, and the invocations made."""
        with self._lock:
            pollers = dict(self.pollers)
        return {
            key: {
                "delivered": poller.delivered,
                "filtered": poller.filtered,
                "invocations": poller.invocations,
            }
            for key, poller in pollers.items()
        }

    def live_threads(self) -> int:
        """Delivery threads running now (one per mapping)."""
        return sum(
            1
            for t in threading.enumerate()
            if t.name.startswith("stream-") and t.name != "stream-scan"
        )

    def export(self) -> dict[str, dict[str, Any]]:
        """Every mapping's checkpoints (`MappingPoller.export`), for the state snapshot."""
        with self._lock:
            pollers = dict(self.pollers)
            saved = dict(self._saved)
        return {**saved, **{key: poller.export() for key, poller in pollers.items()}}

    def restore(self, saved: dict[str, dict[str, Any]]) -> None:
        """Resume each mapping from its saved checkpoints when its poller starts."""
        with self._lock:
            self._saved = dict(saved)

    def shutdown(self) -> None:
        """Stop every delivery thread; each finishes its batches in flight first."""
        self._stop.set()
        self._scan_wake.set()
        self.notify()
        with self._lock:
            pollers = list(self.pollers.values())
        for poller in pollers:
            if poller.thread is not threading.current_thread():
                poller.thread.join(timeout=FINISH_TIMEOUT_S + 1)


def create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
    """moto's, but a DynamoDB stream is looked up in DynamoDB Local, not moto's tables."""
    source = str(spec.get("EventSourceArn") or "")
    if not is_dynamodb_stream(source):
        result: EventSourceMapping = _CREATE_ESM.original(self, spec)
        return result
    if not spec.get("FunctionName"):
        raise RESTError("InvalidParameterValueException", "Missing FunctionName")
    _check_filters(spec)
    func = self._lambdas.get_function_by_name_or_arn_with_qualifier(spec["FunctionName"])
    try:
        service().client.call(
            "DescribeStream", {"StreamArn": arns.engine_arn(source)}, streams=True
        )
    except EngineRequestError as error:
        raise RESTError("InvalidParameterValueException", f"Stream not found: {source}") from error
    _check_role(func, source, spec)
    spec.update({"RegionName": self.region_name, "AccountId": self.account_id})
    spec["FunctionArn"] = func.function_arn
    esm = EventSourceMapping(spec)  # type: ignore[abstract]  # moto instantiates it too
    self._event_source_mappings[esm.uuid] = esm
    if _poller is not None:
        _poller.ensure(esm)
    return esm


STREAM_READ_ACTIONS = ("GetRecords", "GetShardIterator", "DescribeStream", "ListStreams")


def _check_role(func: Any, stream_arn: str, spec: dict[str, Any]) -> None:
    """Refuse a mapping whose function's role cannot read the stream or send to the
    on-failure queue, as Lambda does when the mapping is created (`LOCALCLOUD_IAM`)."""
    authorizer = iam.authorizer()
    if authorizer is None or authorizer.mode == iam.OFF or not func.role:
        return
    principal = iam.Principal(
        func.function_name, func.function_arn, str(func.role), str(func.account_id)
    )
    reads = [
        iam_policy.Request(f"dynamodb:{action}", "*" if action == "ListStreams" else stream_arn)
        for action in STREAM_READ_ACTIONS
    ]
    problems = []
    if not all(check.allowed for check in authorizer.check(principal, reads)):
        problems.append(
            f"Cannot access stream {stream_arn}. Please ensure the role can perform the "
            "GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your "
            "stream in IAM."
        )
    destination = ((spec.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    if destination and str(destination).startswith("arn:aws:sqs:"):
        (send,) = authorizer.check(principal, [iam_policy.Request("sqs:SendMessage", destination)])
        if not send.allowed:
            problems.append(
                "The provided execution role does not have permissions to call SendMessage on SQS"
            )
    if not problems:
        return
    if authorizer.mode == iam.AUDIT:
        for problem in problems:
            log.warning("IAM audit (allowed): %s", problem)
        return
    raise RESTError("InvalidParameterValueException", problems[0])


def _check_filters(spec: dict[str, Any]) -> None:
    try:
        event_filter.parse(spec.get("FilterCriteria"))
    except event_filter.FilterError as error:
        raise RESTError("InvalidParameterValueException", str(error)) from error


def update_event_source_mapping(
    self: LambdaBackend, uuid: str, spec: dict[str, Any]
) -> EventSourceMapping | None:
    """moto's, but a `FilterCriteria` Lambda would refuse is refused (moto keeps any), and
    so is an on-failure queue the function's role may not send to."""
    _check_filters(spec)
    esm = self._event_source_mappings.get(uuid)
    if (
        esm is not None
        and spec.get("DestinationConfig")
        and is_dynamodb_stream(esm.event_source_arn)
    ):
        func = self._lambdas.get_function_by_name_or_arn_with_qualifier(esm.function_arn)
        _check_role(func, esm.event_source_arn, spec)
    result: EventSourceMapping | None = _UPDATE_ESM.original(self, uuid, spec)
    return result


_CREATE_ESM = Patch(
    "streams.create_event_source_mapping.engine",
    LambdaBackend,
    "create_event_source_mapping",
    create_event_source_mapping,
)
_UPDATE_ESM = Patch(
    "streams.update_event_source_mapping.filters",
    LambdaBackend,
    "update_event_source_mapping",
    update_event_source_mapping,
)
PATCHES = PatchSet("streams", [_CREATE_ESM, _UPDATE_ESM])

_poller: StreamPoller | None = None


def poller() -> StreamPoller:
    """The installed poller."""
    if _poller is None:
        raise RuntimeError("the stream poller is not installed")
    return _poller


def install(settings: Settings) -> StreamPoller:
    """Start the poller and let mappings on DynamoDB Local's streams be created."""
    global _poller
    if _poller is None:
        _poller = StreamPoller(settings)
    PATCHES.install()
    return _poller


def uninstall() -> None:
    """Stop delivery and restore moto's mapping creation."""
    global _poller
    PATCHES.uninstall()
    if _poller is not None:
        _poller.shutdown()
        _poller = None
