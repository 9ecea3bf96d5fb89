"""The real message-stream function on a local cloud of its own, under concurrent writes.

One fresh local cloud for the module (its memory figures are this workload's alone): the
local stage's tables, `lambda_src/` deployed as the CDK asset ships it, the stack's stream
mapping with an SQS on-failure queue; then `bench.stress`'s workload: 2,000 messages from
32 threads over 50 conversations, 200 cancelled transactions (each would add a "ghost"
message newer than every real one) and 10 conversations created among the writes. The
tests check the outcome against the table and the stream themselves, not the workload's
own bookkeeping.

`python -m bench.stress` runs the same workload and records its timings and memory. Draining
is bounded by the handler: each group a batch touches is a group-index query and one
TransactWriteItems, which DynamoDB Local serializes with the writers' puts; the backlog
drains a few seconds after the last write on 2 cores (`bench/results/stream_lag.json`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest

from bench import stress
from bench.stress import Observation
from datamodel.tables import MESSAGE_GROUP_INDEX
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MESSAGES = 2000
THREADS = 32
CONVERSATIONS = 50
CANCELLED = 200
NEW_CONVERSATIONS = 10
# Bounded, not a timing: generous against the few seconds the backlog takes to drain.
CATCH_UP_TIMEOUT_S = 150.0
SERVER_RSS_LIMIT = int(1.5 * 2**30)
ENGINE_RSS_LIMIT = 2 * 2**30


@pytest.fixture(scope="module")
def stress_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """A local cloud for this module only (not the session's shared one)."""
    with LocalCloud(tmp_path_factory.mktemp("stress-cloud")) as local_cloud:
        yield local_cloud


@pytest.fixture(scope="module")
def seen(stress_cloud: LocalCloud) -> Observation:
    """The workload, run once, and everything observed after it."""
    return stress.observe(
        stress_cloud.endpoint,
        catch_up_timeout_s=CATCH_UP_TIMEOUT_S,
        messages=MESSAGES,
        threads=THREADS,
        conversations=CONVERSATIONS,
        cancelled=CANCELLED,
        new_conversations=NEW_CONVERSATIONS,
    )


def test_the_workload_ran_as_planned(seen: Observation) -> None:
    work = seen.work
    assert work.errors == []
    assert work.messages == MESSAGES
    assert work.cancelled == CANCELLED
    # Each cancelled transaction: the ghost's put passed, the duplicate's condition failed.
    assert work.cancellation_reasons == {"None": CANCELLED, "ConditionalCheckFailed": CANCELLED}
    assert work.new_conversations == NEW_CONVERSATIONS
    assert len(work.conversations) == CONVERSATIONS + NEW_CONVERSATIONS


def test_every_group_row_ends_at_its_conversations_newest_message(
    stress_cloud: LocalCloud, seen: Observation
) -> None:
    groups = [c.group_uuid for c in seen.work.conversations]
    truth = stress.newest_in_table(stress_cloud.endpoint, groups)
    # The table's newest messages are the ones written: no cancelled ghost among them.
    assert truth == seen.work.newest
    assert seen.catch_up_s is not None, (
        f"group rows still behind {CATCH_UP_TIMEOUT_S:.0f}s after the last write: "
        f"{stress.lagging(stress.group_rows(stress_cloud.endpoint), truth)[:5]}"
    )
    assert stress.lagging(stress.group_rows(stress_cloud.endpoint), truth) == []
    # As the function finds them: through the group index, one row per member.
    dynamodb = stress.aws("dynamodb", stress_cloud.endpoint)
    for conversation in seen.work.conversations:
        items = dynamodb.query(
            TableName=stress.MESSAGES.table_name,
            IndexName=MESSAGE_GROUP_INDEX,
            KeyConditionExpression="message_group_uuid = :g",
            ExpressionAttributeValues={":g": {"S": conversation.group_uuid}},
        )["Items"]
        sk, text = truth[conversation.group_uuid]
        assert sorted((i["pk"]["S"], i["sk"]["S"], i["message"]["S"]) for i in items) == sorted(
            (f"GRP#{member}", sk, text) for member in conversation.members
        )


def test_cancelled_transactions_left_nothing_in_the_stream(seen: Observation) -> None:
    first_messages = {(c.group_uuid, c.first_message["sk"]["S"]) for c in seen.work.conversations}
    # Every message written shows up exactly once, and nothing else (no ghost) does.
    assert seen.stream.message_inserts == dict.fromkeys(set(seen.work.sent) | first_messages, 1)
    assert seen.stream.other == {}


def test_no_record_failed(seen: Observation) -> None:
    assert seen.failure_queue == 0
    assert seen.handler.errors == []


def test_each_stream_record_is_delivered_once(stress_cloud: LocalCloud, seen: Observation) -> None:
    stream, handler = seen.stream, seen.handler
    # The handler logged every message record of the stream once: no replayed batch.
    assert handler.applied == stream.message_inserts
    # Every group-row move it reports is one Delete+Put in the stream, and vice versa.
    assert handler.moved == stream.group_removes
    created = 2 * len(seen.work.conversations)
    assert stream.group_inserts == stream.group_removes + created
    assert stream.records == (
        sum(stream.message_inserts.values()) + stream.group_inserts + stream.group_removes
    )
    # The poller's own counters: every record delivered (the last ones, the handler's own
    # group-row writes, may still be on their way), in batches of at most BatchSize.
    deadline = time.monotonic() + 30
    while True:
        counters = stress_cloud.health()["stream_mappings"][seen.deployment.mapping_uuid]
        if counters["delivered"] >= stream.records or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert counters["delivered"] == stream.records
    # The mapping's filter passed the new messages only: the group rows' moves never
    # reached the function.
    passed = sum(stream.message_inserts.values())
    assert counters["filtered"] == stream.group_inserts + stream.group_removes
    batch_size = stress.STAGE.stream_processing.batch_size
    assert math.ceil(passed / batch_size) <= counters["invocations"] <= passed


def test_exactly_one_poller_per_mapping(stress_cloud: LocalCloud, seen: Observation) -> None:
    # Sampled all through the writes (the cancelled transactions among them) and the drain.
    assert set(seen.samples.pollers) == {1}
    assert seen.samples.failures == 0
    assert seen.health["stream_pollers"] == 1
    mappings = stress.aws("lambda", stress_cloud.endpoint).list_event_source_mappings()
    assert [m["UUID"] for m in mappings["EventSourceMappings"]] == [seen.deployment.mapping_uuid]
    assert stress_cloud.health()["stream_pollers"] == 1


def test_memory_stays_bounded(seen: Observation) -> None:
    assert seen.server_rss < SERVER_RSS_LIMIT, f"server RSS {seen.server_rss / 2**20:.0f} MB"
    assert seen.engine_rss < ENGINE_RSS_LIMIT, (
        f"DynamoDB Local RSS {seen.engine_rss / 2**20:.0f} MB"
    )


def test_each_record_reached_an_invocation_after_its_write_and_before_it_was_applied(
    seen: Observation,
) -> None:
    # The write-to-handler figure of bench.stream_lag: every applied message has the start
    # of the invocation that got it, after its PutItem was sent and not after its log line.
    handler = seen.handler
    assert handler.received_at.keys() == handler.applied_at.keys()
    slack_s = 0.002  # log timestamps have millisecond resolution
    for key, sent in seen.work.sent.items():
        assert sent - slack_s <= handler.received_at[key] <= handler.applied_at[key] + slack_s
    assert len(seen.delivery_ms()) == len(seen.work.sent)
