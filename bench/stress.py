"""Stress: the real message-stream function behind the messages table's stream, under load.

On a fresh local cloud: the local stage's `Users` and `cruddur-messages` tables (from
`stacks.config` through `scripts.schema`), `lambda_src/` zipped as the CDK asset ships it
and deployed as `message-stream` (the stack's handler, environment, JSON logs), and the
stack's event source mapping on the table's stream (batch size, bisect, retries, record
age, `ReportBatchItemFailures`, an SQS on-failure queue). Then 32 threads write 2,000
messages (`scripts.patterns.Patterns.create_message`, increasing timestamps per
conversation) over 50 conversations, interleaved with 200 cancelled `TransactWriteItems`
(a new "ghost" message plus a duplicate of a conversation's first message: the condition
fails, so nothing may be written or streamed) and 10 successful ones (`create_conversation`).

Recorded in `bench/results/stress.json`: server start to healthy (moto and DynamoDB Local),
the write phase, the catch-up time after the last write (until every group row is at its
conversation's newest message), write-to-applied latency (a message's `PutItem` to the
handler's log line for it), the stream and handler counts (every message record handled
once), the pollers seen, and the RSS of the server and of DynamoDB Local afterwards.
The building blocks are shared with `bench.stream_lag` and `tests/localcloud/test_stress.py`.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import random
import re
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatch
from itertools import combinations
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from bench._cloud import (
    REGION,
    REPO,
    create_role,
    health,
    local_cloud_on_free_port,
    percentile,
    rss_bytes,
    write_result,
)
from datamodel.entities import MESSAGE, MESSAGE_STREAM_FILTER, USER, iso
from datamodel.functions import MESSAGE_STREAM as MESSAGE_STREAM_FUNCTION
from datamodel.functions import STAGE as FUNCTION_STAGE
from datamodel.functions import MessageStreamEnv
from datamodel.patterns import PUT_MESSAGE
from datamodel.tables import MESSAGE_GROUP_INDEX
from scripts.codec import WireItem, to_wire
from scripts.errors import NotFound
from scripts.patterns import Patterns
from scripts.schema import create_table_request
from scripts.target import Target
from stacks.config import stage_config

STAGE = stage_config("local")
MESSAGES = STAGE.table("messages")
USERS = STAGE.table("users")
FUNCTION_NAME = STAGE.functions.message_stream
# As stacks/functions/message_stream.py declares the function.
HANDLER = MESSAGE_STREAM_FUNCTION.handler
FUNCTION_ENV = {
    FUNCTION_STAGE: STAGE.name,
    MessageStreamEnv.TABLE: MESSAGES.table_name,
    MessageStreamEnv.GROUP_INDEX: MESSAGE_GROUP_INDEX,
}
LAMBDA_SOURCE = REPO / "lambda_src"
LAMBDA_CODE = REPO / "stacks" / "constructs" / "lambda_code.py"
BASE_TIME = datetime(2025, 3, 1, 12, tzinfo=UTC)
# Cancelled transactions carry a message this far after every real one: if it were written
# (or streamed), its conversation's group rows would end there.
GHOST_OFFSET = timedelta(days=1)
# message_stream.service's log line for every message record it applies.
APPLIED = re.compile(r"message group (\S+) at (\S+): (\d+) group row\(s\) moved")
REPORT_DURATION = re.compile(r"\tDuration: ([0-9.]+) ms")

# How often the group rows are read while waiting for them (a consistent scan).
POLL_S = 0.25

DEFAULT_MESSAGES = 2000
DEFAULT_THREADS = 32
DEFAULT_CONVERSATIONS = 50
DEFAULT_USERS = 20
DEFAULT_CANCELLED = 200
DEFAULT_NEW_CONVERSATIONS = 10


def aws(service: str, endpoint: str, pool: int = DEFAULT_THREADS) -> Any:
    """A boto3 client for the local cloud: fake credentials, no retries (failures show)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="stress",
        aws_secret_access_key="stress",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=pool,
            read_timeout=60,
        ),
    )


# ---------------------------------------------------------------- deployment


def asset_excludes() -> tuple[str, ...]:
    """`EXCLUDED` of stacks/constructs/lambda_code.py, read without importing aws_cdk."""
    tree = ast.parse(LAMBDA_CODE.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "EXCLUDED" for target in node.targets
        ):
            return tuple(str(pattern) for pattern in ast.literal_eval(node.value))
    raise RuntimeError(f"no EXCLUDED in {LAMBDA_CODE}")


def package_lambda_src() -> bytes:
    """`lambda_src/` as the CDK asset holds it: everything but the excluded patterns."""
    patterns = asset_excludes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(LAMBDA_SOURCE.rglob("*")):
            relative = path.relative_to(LAMBDA_SOURCE)
            excluded = any(fnmatch(part, p) for part in relative.parts for p in patterns)
            if path.is_file() and not excluded:
                archive.write(path, relative.as_posix())
    return buffer.getvalue()


@dataclass(frozen=True)
class Deployment:
    """What `deploy` created."""

    endpoint: str
    stream_arn: str
    function_arn: str
    mapping_uuid: str
    queue_url: str


def deploy(endpoint: str) -> Deployment:
    """The tables, the failure queue, the function and its stream mapping."""
    dynamodb = aws("dynamodb", endpoint)
    for spec in (USERS, MESSAGES):
        dynamodb.create_table(**create_table_request(spec))
    stream_arn: str = dynamodb.describe_table(TableName=MESSAGES.table_name)["Table"][
        "LatestStreamArn"
    ]
    sqs = aws("sqs", endpoint)
    queue_url: str = sqs.create_queue(QueueName=f"{FUNCTION_NAME}-stream-failures")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    role = create_role(endpoint, FUNCTION_NAME)
    lambda_client = aws("lambda", endpoint)
    function_arn: str = lambda_client.create_function(
        FunctionName=FUNCTION_NAME,
        Runtime="python3.12",
        Role=role,
        Handler=HANDLER,
        Code={"ZipFile": package_lambda_src()},
        Timeout=STAGE.lambda_timeout_s,
        MemorySize=STAGE.lambda_memory_mb,
        Environment={"Variables": dict(FUNCTION_ENV)},
        LoggingConfig={"LogFormat": "JSON"},
    )["FunctionArn"]
    processing = STAGE.stream_processing
    mapping = lambda_client.create_event_source_mapping(
        FunctionName=FUNCTION_NAME,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=processing.batch_size,
        ParallelizationFactor=processing.parallelization_factor,
        FilterCriteria={"Filters": [{"Pattern": json.dumps(MESSAGE_STREAM_FILTER)}]},
        BisectBatchOnFunctionError=processing.bisect_on_error,
        MaximumRetryAttempts=processing.retry_attempts,
        MaximumRecordAgeInSeconds=processing.max_record_age_s,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    return Deployment(endpoint, stream_arn, function_arn, mapping["UUID"], queue_url)


# ---------------------------------------------------------------- the workload


@dataclass(frozen=True)
class Conversation:
    """A message group, its two members and its first message (as written)."""

    group_uuid: str
    members: tuple[str, str]
    first_message: WireItem


class Clock:
    """Distinct timestamps, one millisecond apart, in the order they are asked for."""

    def __init__(self, start: datetime = BASE_TIME) -> None:
        self._start = start
        self._next = 0
        self._lock = threading.Lock()

    def next(self) -> datetime:
        with self._lock:
            self._next += 1
            return self._start + timedelta(milliseconds=self._next)


class _StampedClient:
    """A DynamoDB client that remembers (per thread) when its last `put_item` was sent and
    when it was acknowledged."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **params: Any) -> Any:
        self._local.sent = time.time()
        answer = self._client.put_item(**params)
        self._local.acknowledged = time.time()
        return answer

    @property
    def last_sent(self) -> float:
        return float(self._local.sent)

    @property
    def last_acknowledged(self) -> float:
        return float(self._local.acknowledged)


def seed_users(endpoint: str, count: int) -> list[str]:
    """`count` user rows (the sample data's shape); their uuids."""
    dynamodb = aws("dynamodb", endpoint)
    users = [f"00000000-0000-4000-8000-{n:012d}" for n in range(count)]
    for n, user in enumerate(users):
        row = USER.item(
            {"user_uuid": user},
            {
                "email": f"user{n}@example.com",
                "handle": f"user{n}",
                "name": f"User {n}",
                "createdAt": iso(BASE_TIME),
            },
        )
        dynamodb.put_item(TableName=USERS.table_name, Item=to_wire(row))
    return users


def _create_conversation(
    patterns: Patterns, pair: tuple[str, str], text: str, now: datetime
) -> Conversation:
    result = patterns.create_conversation(pair[0], pair[1], text, now=now)
    message = result.items[-1]
    return Conversation(message["pk"]["S"].removeprefix("MSG#"), pair, message)


@dataclass
class Workload:
    """What the writers did, and when."""

    conversations: list[Conversation]
    # Per group: the newest message written (sort key, text).
    newest: dict[str, tuple[str, str]]
    # Per (group, sort key) of each workload message: when its PutItem was sent (epoch s).
    sent: dict[tuple[str, str], float]
    # The same messages: when their PutItem was answered.
    acknowledged: dict[tuple[str, str], float] = field(default_factory=dict)
    threads: int = 0
    messages: int = 0
    cancelled: int = 0
    new_conversations: int = 0
    cancellation_reasons: Counter[str] = field(default_factory=Counter)
    membership_retries: int = 0
    errors: list[str] = field(default_factory=list)
    write_s: float = 0.0
    # time.monotonic() when the last write was acknowledged.
    last_write_at: float = 0.0


def run_workload(
    endpoint: str,
    *,
    messages: int = DEFAULT_MESSAGES,
    threads: int = DEFAULT_THREADS,
    conversations: int = DEFAULT_CONVERSATIONS,
    users: int = DEFAULT_USERS,
    cancelled: int = DEFAULT_CANCELLED,
    new_conversations: int = DEFAULT_NEW_CONVERSATIONS,
    seed: int = 7,
) -> Workload:
    """Seed users and conversations, then run the concurrent write phase."""
    rng = random.Random(seed)
    clock = Clock()
    stamped = _StampedClient(aws("dynamodb", endpoint, pool=threads))
    patterns = Patterns(Target(STAGE, endpoint), client=stamped)
    pairs = list(combinations(seed_users(endpoint, users), 2))
    rng.shuffle(pairs)
    if len(pairs) < conversations + new_conversations:
        raise ValueError("not enough users for that many distinct conversations")
    work = Workload(conversations=[], newest={}, sent={}, threads=threads)
    for n, pair in enumerate(pairs[:conversations]):
        now = clock.next()
        work.conversations.append(_create_conversation(patterns, pair, f"hello {n}", now))
    for conversation in work.conversations:
        first = conversation.first_message
        work.newest[conversation.group_uuid] = (first["sk"]["S"], first["message"]["S"])
    initial = list(work.conversations)
    lock = threading.Lock()

    def message(n: int, conversation: Conversation, author: str) -> None:
        text = f"message {n} from {author[-4:]}"
        for attempt in range(5):
            now = clock.next()
            try:
                result = patterns.create_message(conversation.group_uuid, author, text, now=now)
                break
            except NotFound:
                # The group index did not show the member's row (being moved); try again.
                with lock:
                    work.membership_retries += 1
                time.sleep(0.01 * (attempt + 1))
        else:
            raise RuntimeError(f"{conversation.group_uuid}: the author's group row stayed gone")
        sk = result.items[0]["sk"]["S"]
        with lock:
            work.messages += 1
            work.sent[(conversation.group_uuid, sk)] = stamped.last_sent
            work.acknowledged[(conversation.group_uuid, sk)] = stamped.last_acknowledged
            if sk > work.newest[conversation.group_uuid][0]:
                work.newest[conversation.group_uuid] = (sk, text)

    def cancel(n: int, conversation: Conversation, author: str) -> None:
        ghost_at = iso(clock.next() + GHOST_OFFSET)
        ghost = MESSAGE.item(
            {"message_group_uuid": conversation.group_uuid, "created_at": ghost_at},
            {
                "created_at": ghost_at,
                "message_uuid": f"ghost-{n}",
                "message": f"ghost {n}: this transaction is cancelled",
                "user_uuid": author,
                "user_display_name": "ghost",
                "user_handle": "ghost",
            },
        )
        duplicate = conversation.first_message
        try:
            stamped.transact_write_items(
                TransactItems=[
                    {"Put": PUT_MESSAGE.put(STAGE, to_wire(ghost))},
                    {"Put": PUT_MESSAGE.put(STAGE, duplicate)},
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            with lock:
                work.cancelled += 1
                work.cancellation_reasons.update(str(r.get("Code")) for r in reasons)
            return
        raise RuntimeError(f"transaction {n} with a duplicate message was not cancelled")

    def converse(n: int, pair: tuple[str, str]) -> None:
        created = _create_conversation(patterns, pair, f"new conversation {n}", clock.next())
        first = created.first_message
        with lock:
            work.conversations.append(created)
            work.new_conversations += 1
            work.newest[created.group_uuid] = (first["sk"]["S"], first["message"]["S"])

    tasks: list[tuple[str, int]] = [("message", n) for n in range(messages)]
    tasks += [("cancel", n) for n in range(cancelled)]
    tasks += [("converse", n) for n in range(new_conversations)]
    rng.shuffle(tasks)
    plan = []
    for kind, n in tasks:
        conversation = rng.choice(initial)
        plan.append((kind, n, conversation, rng.choice(conversation.members)))
    extra_pairs = pairs[conversations:]

    def run(step: tuple[str, int, Conversation, str]) -> None:
        kind, n, conversation, author = step
        try:
            if kind == "message":
                message(n, conversation, author)
            elif kind == "cancel":
                cancel(n, conversation, author)
            else:
                converse(n, extra_pairs[n])
        except Exception as error:  # noqa: BLE001 - every failure is reported, none stops the run
            with lock:
                work.errors.append(f"{kind} {n}: {error!r}")
        with lock:
            work.last_write_at = max(work.last_write_at, time.monotonic())

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="writer") as pool:
        list(pool.map(run, plan))
    work.write_s = time.monotonic() - started
    return work


# ---------------------------------------------------------------- observations


def group_rows(endpoint: str) -> dict[str, list[dict[str, str]]]:
    """Every group row (`GRP#...`), by conversation, read consistently from the table."""
    dynamodb = aws("dynamodb", endpoint)
    request: dict[str, Any] = {
        "TableName": MESSAGES.table_name,
        "ConsistentRead": True,
        "FilterExpression": "begins_with(pk, :grp)",
        "ExpressionAttributeValues": {":grp": {"S": "GRP#"}},
        "ProjectionExpression": "pk, sk, message, message_group_uuid",
    }
    rows: dict[str, list[dict[str, str]]] = {}
    while True:
        page = dynamodb.scan(**request)
        for item in page.get("Items", []):
            row = {name: value["S"] for name, value in item.items()}
            rows.setdefault(row["message_group_uuid"], []).append(row)
        if not page.get("LastEvaluatedKey"):
            return rows
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def lagging(rows: dict[str, list[dict[str, str]]], newest: dict[str, tuple[str, str]]) -> list[str]:
    """The conversations whose group rows are not exactly two, both at the newest message."""
    behind = []
    for group, (sk, text) in newest.items():
        found = rows.get(group, [])
        if len(found) != 2 or any(r["sk"] != sk or r["message"] != text for r in found):
            behind.append(group)
    return behind


def wait_caught_up(
    endpoint: str, newest: dict[str, tuple[str, str]], timeout_s: float
) -> float | None:
    """Poll until every group row is at its newest message; when (monotonic), or `None`."""
    deadline = time.monotonic() + timeout_s
    while True:
        if not lagging(group_rows(endpoint), newest):
            return time.monotonic()
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL_S)


def newest_in_table(endpoint: str, groups: list[str]) -> dict[str, tuple[str, str]]:
    """Each conversation's newest message as the table holds it (the ground truth)."""
    dynamodb = aws("dynamodb", endpoint)
    newest: dict[str, tuple[str, str]] = {}
    for group in groups:
        items = dynamodb.query(
            TableName=MESSAGES.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"MSG#{group}"}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )["Items"]
        if items:
            newest[group] = (items[0]["sk"]["S"], items[0]["message"]["S"])
    return newest


@dataclass
class StreamCounts:
    """The stream as read from the start of every shard."""

    records: int = 0
    shards: int = 0
    message_inserts: Counter[tuple[str, str]] = field(default_factory=Counter)
    group_removes: int = 0
    group_inserts: int = 0
    other: Counter[str] = field(default_factory=Counter)


def read_stream(endpoint: str, stream_arn: str) -> StreamCounts:
    """Count every record in the stream (each shard from TRIM_HORIZON to its end)."""
    streams = aws("dynamodbstreams", endpoint)
    shards: list[dict[str, Any]] = []
    request: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        description = streams.describe_stream(**request)["StreamDescription"]
        shards += description.get("Shards", [])
        if not description.get("LastEvaluatedShardId"):
            break
        request["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]
    counts = StreamCounts(shards=len(shards))
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in page.get("Records", []):
                counts.records += 1
                keys = record["dynamodb"]["Keys"]
                pk, sk, event = keys["pk"]["S"], keys["sk"]["S"], record["eventName"]
                if pk.startswith("MSG#") and event == "INSERT":
                    counts.message_inserts[(pk.removeprefix("MSG#"), sk)] += 1
                elif pk.startswith("GRP#") and event == "INSERT":
                    counts.group_inserts += 1
                elif pk.startswith("GRP#") and event == "REMOVE":
                    counts.group_removes += 1
                else:
                    counts.other[f"{event} {pk.split('#')[0]}"] += 1
            if not page.get("Records"):
                break
            iterator = page.get("NextShardIterator")
    return counts


@dataclass
class HandlerLog:
    """What the function's CloudWatch log says it did."""

    invocations: int = 0
    # The sum of the REPORT lines' durations (time spent in the handler), in seconds.
    busy_s: float = 0.0
    # Per (group, sort key): how often the handler applied that message record.
    applied: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Per (group, sort key): when it was first applied (epoch seconds, ms resolution).
    applied_at: dict[tuple[str, str], float] = field(default_factory=dict)
    # Per (group, sort key): when the invocation that first applied it started (epoch s).
    received_at: dict[tuple[str, str], float] = field(default_factory=dict)
    moved: int = 0
    errors: list[str] = field(default_factory=list)


def _epoch(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def read_handler_log(endpoint: str, function_name: str = FUNCTION_NAME) -> HandlerLog:
    """Invocations (REPORT lines), applied message records and errors, from the log group."""
    logs = aws("logs", endpoint)
    result = HandlerLog()
    # An invocation's log is saved when it ends: it started its REPORT's duration earlier.
    started: dict[str, float] = {}
    first_by: dict[tuple[str, str], str] = {}
    request: dict[str, Any] = {"logGroupName": f"/aws/lambda/{function_name}"}
    while True:
        page = logs.filter_log_events(**request)
        for event in page.get("events", []):
            line: str = event["message"]
            if line.startswith("REPORT RequestId"):
                result.invocations += 1
                duration = REPORT_DURATION.search(line)
                busy_s = float(duration.group(1)) / 1000 if duration else 0.0
                result.busy_s += busy_s
                request_id = line.split()[2]
                started[request_id] = event["timestamp"] / 1000 - busy_s
                continue
            if not line.startswith("{"):
                if "[ERROR]" in line or "Traceback" in line:
                    result.errors.append(line)
                continue
            record = json.loads(line)
            if record.get("level") in ("ERROR", "CRITICAL"):
                result.errors.append(str(record.get("message")))
            match = APPLIED.search(str(record.get("message", "")))
            if match:
                key = (match.group(1), match.group(2))
                result.applied[key] += 1
                result.moved += int(match.group(3))
                at = _epoch(str(record["timestamp"]))
                if at < result.applied_at.get(key, float("inf")):
                    result.applied_at[key] = at
                    first_by[key] = str(record.get("requestId", ""))
        token = page.get("nextToken")
        if not token or not page.get("events"):
            break
        request["nextToken"] = token
    for key, request_id in first_by.items():
        if request_id in started:
            result.received_at[key] = started[request_id]
    return result


def failure_messages(endpoint: str, queue_url: str) -> int:
    """Messages in the on-failure queue (visible and in flight)."""
    attributes = aws("sqs", endpoint).get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def threads_of(pid: int) -> int:
    """OS threads of process `pid`."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


@dataclass
class HealthSamples:
    """The health document sampled while the workload ran."""

    pollers: Counter[int] = field(default_factory=Counter)
    max_server_threads: int = 0
    failures: int = 0


@contextmanager
def sample_health(endpoint: str, interval_s: float = 0.25) -> Iterator[HealthSamples]:
    """Sample `stream_pollers` and the server's thread count until the block ends."""
    samples = HealthSamples()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                document = health(endpoint)
                samples.pollers[int(document["stream_pollers"])] += 1
                threads = threads_of(int(document["pid"]))
                samples.max_server_threads = max(samples.max_server_threads, threads)
            except (OSError, ValueError, KeyError):
                samples.failures += 1
            stop.wait(interval_s)

    thread = threading.Thread(target=loop, name="health-sampler", daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


@dataclass
class Observation:
    """Everything one stress run saw."""

    deployment: Deployment
    work: Workload
    samples: HealthSamples
    # Seconds from the last acknowledged write until every group row was at its newest.
    catch_up_s: float | None
    stream: StreamCounts
    handler: HandlerLog
    failure_queue: int
    health: dict[str, Any]
    server_rss: int
    engine_rss: int
    server_threads: int

    def latencies_ms(self) -> list[float]:
        """Write (PutItem sent) to applied (the handler's log line), per workload message."""
        return self._elapsed_ms(self.handler.applied_at)

    def delivery_ms(self) -> list[float]:
        """Write (PutItem sent) to the start of the invocation that got it, per message."""
        return self._elapsed_ms(self.handler.received_at)

    def delivery_after_acknowledged_ms(self) -> list[float]:
        """From the PutItem's answer to the start of the invocation that got it, per message
        (negative when the invocation started before the answer reached the writer)."""
        return self._elapsed_ms(self.handler.received_at, since=self.work.acknowledged)

    def put_item_ms(self) -> list[float]:
        """Each workload message's PutItem, sent to answered (the engine's queue included)."""
        return self._elapsed_ms(self.work.acknowledged)

    def _elapsed_ms(
        self, at: dict[tuple[str, str], float], since: dict[tuple[str, str], float] | None = None
    ) -> list[float]:
        """Per workload message in both: `at` less `since` (default: when it was sent)."""
        since = self.work.sent if since is None else since
        return [(at[key] - start) * 1000 for key, start in since.items() if key in at]


def _settled_log(endpoint: str, expected: int, timeout_s: float = 10.0) -> HandlerLog:
    """The handler log, once it holds `expected` applied records (or the timeout passed)."""
    deadline = time.monotonic() + timeout_s
    while True:
        log = read_handler_log(endpoint)
        if sum(log.applied.values()) >= expected or time.monotonic() > deadline:
            return log
        time.sleep(0.2)


def observe(endpoint: str, *, catch_up_timeout_s: float = 180.0, **workload: Any) -> Observation:
    """Deploy, run the workload, wait for the group rows, then collect every count."""
    deployment = deploy(endpoint)
    with sample_health(endpoint) as samples:
        work = run_workload(endpoint, **workload)
        caught_up = wait_caught_up(endpoint, work.newest, catch_up_timeout_s)
    catch_up_s = None if caught_up is None else max(0.0, caught_up - work.last_write_at)
    stream = read_stream(endpoint, deployment.stream_arn)
    handler = _settled_log(endpoint, sum(stream.message_inserts.values()))
    # Until the poller has delivered the stream's last records (the handler's own writes).
    deadline = time.monotonic() + 60
    while True:
        document = health(endpoint)
        counters = document["stream_mappings"].get(deployment.mapping_uuid, {})
        if counters.get("delivered", 0) >= stream.records or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    server_pid, engine_pid = int(document["pid"]), int(document["dynamodb"]["pid"])
    return Observation(
        deployment=deployment,
        work=work,
        samples=samples,
        catch_up_s=catch_up_s,
        stream=stream,
        handler=handler,
        failure_queue=failure_messages(endpoint, deployment.queue_url),
        health=document,
        server_rss=rss_bytes(server_pid),
        engine_rss=rss_bytes(engine_pid),
        server_threads=threads_of(server_pid),
    )


def _percentile_or_none(values: list[float], pct: float) -> float | None:
    """`percentile`, or `None` when there are too few values for one."""
    return percentile(values, pct) if len(values) > 1 else None


def summary(seen: Observation) -> dict[str, Any]:
    """The JSON-able figures of a run."""
    work, stream, handler = seen.work, seen.stream, seen.handler
    lags = seen.latencies_ms()
    delivered = seen.delivery_ms()
    after_ack = seen.delivery_after_acknowledged_ms()
    put_items = seen.put_item_ms()
    replayed = sum(count - 1 for count in handler.applied.values() if count > 1)
    return {
        "messages": work.messages,
        "threads": work.threads,
        "conversations": len(work.conversations),
        "cancelled_transactions": work.cancelled,
        "cancellation_reasons": dict(work.cancellation_reasons),
        # Every conversation is one create_conversation transaction; the new ones ran
        # among the writes.
        "successful_transactions": len(work.conversations),
        "successful_transactions_during_writes": work.new_conversations,
        "write_errors": len(work.errors),
        "membership_retries": work.membership_retries,
        "write_phase_s": round(work.write_s, 2),
        "writes_per_s": round(work.messages / work.write_s, 1) if work.write_s else None,
        "catch_up_s": None if seen.catch_up_s is None else round(seen.catch_up_s, 2),
        "caught_up": seen.catch_up_s is not None,
        # Message records applied per second from the first write until caught up.
        "applied_per_s": (
            round(sum(handler.applied.values()) / (work.write_s + seen.catch_up_s), 1)
            if seen.catch_up_s is not None
            else None
        ),
        "write_to_applied_p50_ms": _percentile_or_none(lags, 50),
        "write_to_applied_p95_ms": _percentile_or_none(lags, 95),
        "write_to_applied_max_ms": round(max(lags), 2) if lags else None,
        # The "write-to-handler": until the invocation holding the record started.
        "write_to_handler_p50_ms": _percentile_or_none(delivered, 50),
        "write_to_handler_p95_ms": _percentile_or_none(delivered, 95),
        # The same, from the PutItem's answer: the stream's own lag, without the write's
        # wait in the engine behind the other writers (`put_item_*`).
        "acknowledged_to_handler_p50_ms": _percentile_or_none(after_ack, 50),
        "acknowledged_to_handler_p95_ms": _percentile_or_none(after_ack, 95),
        "put_item_p50_ms": _percentile_or_none(put_items, 50),
        "put_item_p95_ms": _percentile_or_none(put_items, 95),
        "stream_records": stream.records,
        "stream_shards": stream.shards,
        "stream_message_inserts": sum(stream.message_inserts.values()),
        "stream_group_moves": stream.group_removes,
        # The poller's own count (REPORT lines read back from moto's logs undercount).
        "handler_invocations": seen.health["stream_mappings"][seen.deployment.mapping_uuid][
            "invocations"
        ],
        "handler_busy_s": round(handler.busy_s, 2),
        "handler_applied_records": sum(handler.applied.values()),
        "handler_replayed_records": replayed,
        "handler_group_moves": handler.moved,
        "handler_errors": len(handler.errors),
        "failure_queue_messages": seen.failure_queue,
        "stream_pollers_seen": sorted(seen.samples.pollers),
        "stream_pollers_after": seen.health["stream_pollers"],
        "server_threads_max": seen.samples.max_server_threads,
        "server_threads_after": seen.server_threads,
        "server_rss_mb": round(seen.server_rss / 2**20, 1),
        "dynamodb_local_rss_mb": round(seen.engine_rss / 2**20, 1),
    }


def request_costs(endpoint: str, requests: int = 200) -> dict[str, float]:
    """Median ms of the handler's two requests (find a group's rows; move both in one
    transaction), one at a time on a scratch table: through the front door, to DynamoDB
    Local directly (its own port), and directly while `DEFAULT_THREADS` writers put items
    into DynamoDB Local as the workload's writers do."""
    engine = f"http://127.0.0.1:{health(endpoint)['dynamodb']['port']}"
    table = "stress-request-costs"
    door = aws("dynamodb", endpoint, pool=1)
    door.create_table(**create_table_request(MESSAGES, table_name=table, with_stream=False))
    direct = aws("dynamodb", engine, pool=1)
    costs: dict[str, float] = {}
    for name, client in (("door", door), ("direct", direct)):
        costs.update(_costs(client, table, name, requests))
    stop = threading.Event()
    writers = aws("dynamodb", engine, pool=DEFAULT_THREADS)

    def write(n: int) -> None:
        count = 0
        while not stop.is_set():
            writers.put_item(TableName=table, Item=_cost_key(f"MSG#w{n}", f"{count:08d}"))
            count += 1

    with ThreadPoolExecutor(DEFAULT_THREADS) as pool:
        for n in range(DEFAULT_THREADS):
            pool.submit(write, n)
        try:
            costs.update(_costs(direct, table, f"direct_{DEFAULT_THREADS}_writers", requests // 2))
        finally:
            stop.set()
    door.delete_table(TableName=table)
    return costs


def _costs(client: Any, table: str, name: str, requests: int) -> dict[str, float]:
    costs = {}
    for kind in ("group_index_query", "transact_move_group"):
        times = []
        for n in range(requests + 20):  # the first 20 warm up
            started = time.perf_counter()
            _cost_request(client, table, kind, f"{name}-{kind}", n)
            if n >= 20:
                times.append((time.perf_counter() - started) * 1000)
        costs[f"{kind}_{name}_p50_ms"] = percentile(times, 50)
    return costs


_COST_GROUP = {"message_group_uuid": {"S": "g"}}


def _cost_key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _cost_request(client: Any, table: str, kind: str, prefix: str, n: int) -> None:
    """One request as the handler makes it: find the group rows, or move both of them."""
    if kind == "group_index_query":
        client.query(
            TableName=table,
            IndexName=MESSAGE_GROUP_INDEX,
            KeyConditionExpression="message_group_uuid = :g",
            ExpressionAttributeValues={":g": {"S": "g"}},
        )
        return
    actions: list[dict[str, Any]] = []
    for member in ("a", "b"):
        old = _cost_key(f"GRP#{prefix}-{member}", f"{n:05d}")
        new = _cost_key(f"GRP#{prefix}-{member}", f"{n + 1:05d}")
        actions += [
            {"Delete": {"TableName": table, "Key": old}},
            {"Put": {"TableName": table, "Item": {**new, **_COST_GROUP}}},
        ]
    client.transact_write_items(TransactItems=actions)


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def measure(**workload: Any) -> dict[str, Any]:
    """One stress run on a fresh local cloud; its figures."""
    load_before = _load()
    started = time.monotonic()
    with local_cloud_on_free_port() as endpoint:
        startup_s = time.monotonic() - started
        document = health(endpoint)
        if not document["dynamodb"]["healthy"]:
            raise RuntimeError(f"the local cloud answered but DynamoDB Local is not: {document}")
        seen = observe(endpoint, **workload)
        costs = request_costs(endpoint)
    return {
        "server_start_to_healthy_s": round(startup_s, 2),
        **summary(seen),
        "request_costs": costs,
        "load_average_before": load_before,
        "load_average_after": _load(),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write its result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    args = parser.parse_args(argv)
    write_result("stress", measure(messages=args.messages, threads=args.threads))


if __name__ == "__main__":
    main()
