"""Asynchronous DynamoDB stream delivery, as AWS does it, instead of moto's synchronous one.

moto 5.2.5 calls the mapped Lambda *inside* the write request (`StreamShard.add` ->
`send_dynamodb_items`) and then clears the shard: a stream handler that writes back to the
table deadlocks the request, and the records vanish from the Streams API. Here:

* `StreamShard.add` only appends the record (it stays readable with GetShardIterator /
  GetRecords) and wakes the poller;
* one delivery thread per event source mapping reads its shard in order from its own
  position (TRIM_HORIZON or LATEST), in batches of at most `BatchSize`, and calls
  `send_dynamodb_items`, which now invokes the function through the Lambda runner and
  reports whether the handler failed;
* with `ReportBatchItemFailures` the records before the first reported failure are
  checkpointed and delivery resumes from that record;
* a failed batch is retried (at-least-once) with a short backoff, halved first when
  `BisectBatchOnFunctionError` is set, until `MaximumRetryAttempts` (-1/absent: until
  `MaximumRecordAgeInSeconds`); then the batch's description goes to the `OnFailure` SQS
  destination, if any, and the position moves past it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.core.utils import unix_time
from moto.dynamodb.models.table import StreamRecord, StreamShard

from localcloud import lambda_runner
from localcloud.patches import Patch, PatchSet
from localcloud.settings import Settings

log = logging.getLogger("localcloud.streams")

IDLE_WAIT_S = 0.25
MAX_BACKOFF_S = 2.0


@dataclass
class Delivery:
    """What happened to one batch."""

    ok: bool
    request_id: str
    error: str = ""
    # The handler's response, for `ReportBatchItemFailures`.
    payload: bytes = b""


@dataclass
class _MappingState:
    esm: Any
    shard: StreamShard
    position: int
    wake: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


def _format_records(items: list[StreamRecord], region: str, source: str) -> list[dict[str, Any]]:
    """Stream records as a Lambda event's `Records` (what moto's `send_dynamodb_items` builds)."""
    records = []
    for item in items:
        record = item.to_json()
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = unix_time(created)
        records.append(
            {
                "eventID": record["eventID"],
                "eventName": record["eventName"],
                "eventVersion": record["eventVersion"],
                "eventSource": record["eventSource"],
                "awsRegion": region,
                "dynamodb": dynamodb,
                "eventSourceARN": source,
            }
        )
    return records


def send_dynamodb_items(
    self: LambdaBackend, function_arn: str, items: list[Any], source: str
) -> Delivery:
    """Invoke the mapped function with one batch; say whether the handler succeeded."""
    fn = self._lambdas.get_arn(function_arn)
    if fn is None:
        fn = self._lambdas.get_function_by_name_or_arn_with_qualifier(function_arn)
    event = {"Records": _format_records(items, self.region_name, source)}
    outcome = lambda_runner.runner().invoke(fn, event)
    return Delivery(
        ok=not outcome.function_error,
        request_id=outcome.request_id,
        error=outcome.payload.decode(errors="replace")[:1000] if outcome.function_error else "",
        payload=outcome.payload,
    )


def failed_index(esm: Any, batch: list[StreamRecord], delivery: Delivery) -> int | None:
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
    sequence_numbers = [r.to_json()["dynamodb"]["SequenceNumber"] for r in batch]
    indexes = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in sequence_numbers:
            return 0
        indexes.append(sequence_numbers.index(identifier))
    return min(indexes)


class StreamPoller:
    """Delivery threads for every DynamoDB-stream event source mapping of the server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._states: dict[tuple[str, int], _MappingState] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._scan_wake = threading.Event()
        self._scanner = threading.Thread(target=self._scan_loop, name="stream-scan", daemon=True)
        self._scanner.start()

    # -- registration --------------------------------------------------------------------
    def _state(self, esm: Any, shard: StreamShard) -> _MappingState:
        """The mapping's position in this shard, created at its starting position."""
        key = (esm.uuid, id(shard))
        with self._lock:
            state = self._states.get(key)
            if state is None:
                start = 0 if esm.starting_position == "TRIM_HORIZON" else len(shard.items)
                state = _MappingState(esm=esm, shard=shard, position=start)
                self._states[key] = state
                state.thread = threading.Thread(
                    target=self._deliver_loop,
                    args=(state,),
                    name=f"stream-{esm.uuid[:8]}",
                    daemon=True,
                )
                state.thread.start()
            return state

    def record_added(self, shard: StreamShard, old: Any, new: Any) -> None:
        """`StreamShard.add`: register positions *before* appending, then wake deliveries."""
        with self._lock:
            states = [
                self._state(esm, shard)
                for esm in list(shard.table.lambda_event_source_mappings.values())
            ]
            _append_only(shard, old, new)
        for state in states:
            state.wake.set()

    def _mappings(self) -> list[tuple[Any, StreamShard]]:
        from moto.dynamodb.models import dynamodb_backends

        found = []
        for regions in list(dynamodb_backends.values()):
            for backend in list(regions.values()):
                for table in list(backend.tables.values()):
                    shard = getattr(table, "stream_shard", None)
                    if shard is None:
                        continue
                    for esm in list(table.lambda_event_source_mappings.values()):
                        found.append((esm, shard))
        return found

    def _scan_loop(self) -> None:
        """Pick up mappings created on a table that has not been written since."""
        while not self._stop.is_set():
            try:
                for esm, shard in self._mappings():
                    self._state(esm, shard)
            except (RuntimeError, AttributeError, KeyError) as error:
                # A table or mapping changed under us (dict size, half-deleted); next pass.
                log.debug("stream scan skipped a pass: %r", error)
            self._scan_wake.wait(1.0)
            self._scan_wake.clear()

    # -- delivery ------------------------------------------------------------------------
    def _active(self, state: _MappingState) -> bool:
        table = state.shard.table
        return (
            table.stream_shard is state.shard
            and state.esm in table.lambda_event_source_mappings.values()
        )

    def _deliver_loop(self, state: _MappingState) -> None:
        esm = state.esm
        limit = int(esm.batch_size or 100)
        attempts = 0
        while not self._stop.is_set():
            if not self._active(state):
                with self._lock:
                    self._states.pop((esm.uuid, id(state.shard)), None)
                return
            batch = state.shard.items[state.position : state.position + limit]
            if not batch or not _enabled(esm):
                state.wake.wait(IDLE_WAIT_S)
                state.wake.clear()
                continue
            delivery = self._invoke(esm, batch)
            resume = failed_index(esm, batch, delivery)
            if resume is None:
                state.position += len(batch)
                limit = int(esm.batch_size or 100)
                attempts = 0
                continue
            if resume > 0:
                # Partial success: checkpoint before the first failed record, retry from it.
                state.position += resume
                batch = batch[resume:]
            log.warning(
                "stream batch for %s failed at record %d: %s",
                esm.function_arn,
                resume,
                delivery.error or "reported batchItemFailures",
            )
            if not delivery.ok and esm.bisect_on_error and len(batch) > 1:
                limit = max(1, len(batch) // 2)
                continue
            attempts += 1
            if self._exhausted(esm, batch, attempts):
                self._on_failure(esm, batch, attempts, delivery)
                state.position += len(batch)
                limit = int(esm.batch_size or 100)
                attempts = 0
                continue
            self._stop.wait(min(MAX_BACKOFF_S, 0.05 * 2**attempts))

    def _invoke(self, esm: Any, batch: list[StreamRecord]) -> Delivery:
        from moto.awslambda.utils import get_backend

        backend = get_backend(esm.account_id, esm.region)
        try:
            result: Any = backend.send_dynamodb_items(esm.function_arn, batch, esm.event_source_arn)
        except Exception as error:  # noqa: BLE001 - a vanished function must not kill the thread
            return Delivery(ok=False, request_id="", error=repr(error))
        if not isinstance(result, Delivery):  # the seam is not ours: moto's own delivery ran
            return Delivery(ok=True, request_id="")
        return result

    def _exhausted(self, esm: Any, batch: list[StreamRecord], attempts: int) -> bool:
        retries = esm.max_retry_attempts
        if retries is not None and int(retries) >= 0 and attempts > int(retries):
            return True
        max_age = esm.max_record_age
        if max_age is not None and int(max_age) >= 0:
            created = batch[0].to_json()["dynamodb"].get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                stamp = created.replace(tzinfo=UTC).timestamp()
                return time.time() - stamp > int(max_age)
        return False

    def _on_failure(
        self, esm: Any, batch: list[StreamRecord], attempts: int, delivery: Delivery
    ) -> None:
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

        first, last = batch[0].to_json()["dynamodb"], batch[-1].to_json()["dynamodb"]
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
                "shardId": batch[0].to_json().get("shardId", "shardId-00000001"),
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "batchSize": len(batch),
                "streamArn": esm.event_source_arn,
            },
        }
        _, _, _, region, account, queue_name = destination.split(":", 5)
        sqs_backends[account][region].send_message(queue_name, json.dumps(body))

    def shutdown(self) -> None:
        """Stop every delivery thread."""
        self._stop.set()
        self._scan_wake.set()
        with self._lock:
            states = list(self._states.values())
        for state in states:
            state.wake.set()


def _enabled(esm: Any) -> bool:
    enabled = esm.enabled
    if isinstance(enabled, str):
        return enabled.lower() != "false"
    return bool(enabled)


_poller: StreamPoller | None = None


def _add(self: StreamShard, old: Any, new: Any) -> None:
    """moto's seam: append the record, deliver later (never inside the write request)."""
    if _poller is None:
        _ADD.original(self, old, new)
        return
    _poller.record_added(self, old, new)


def _append_only(self: StreamShard, old: Any, new: Any) -> None:
    """moto's record bookkeeping without its synchronous delivery and clearing."""
    stream_type = self.table.stream_specification["StreamViewType"]  # type: ignore[index]
    if old is None:
        event_name = "INSERT"
    elif new is None:
        event_name = "REMOVE"
    else:
        event_name = "MODIFY"
    seq = len(self.items) + self.starting_sequence_number
    self.items.append(StreamRecord(self.table, stream_type, event_name, old, new, seq))


_ADD = Patch("streams.shard_add.async", StreamShard, "add", _add)

PATCHES = PatchSet(
    "streams",
    [
        _ADD,
        Patch(
            "streams.send_dynamodb_items.runner",
            LambdaBackend,
            "send_dynamodb_items",
            send_dynamodb_items,
        ),
    ],
)


def poller() -> StreamPoller:
    """The installed poller."""
    if _poller is None:
        raise RuntimeError("the stream poller is not installed")
    return _poller


def install(settings: Settings) -> StreamPoller:
    """Start the poller and put it behind moto's stream seams."""
    global _poller
    if _poller is None:
        _poller = StreamPoller(settings)
    PATCHES.install()
    return _poller


def uninstall() -> None:
    """Stop delivery and restore moto's synchronous behaviour."""
    global _poller
    PATCHES.uninstall()
    if _poller is not None:
        _poller.shutdown()
        _poller = None
