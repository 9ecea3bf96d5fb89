"""message-stream on real stream records from moto's server and DynamoDB Local.

The records come from the table's own stream (`dynamodbstreams` on the same endpoint), so
their shape, keys, images and sequence numbers are what each engine really emits.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError
from common.dynamo import serialize
from message_stream.handler import handle
from message_stream.models import MalformedRecord, NewMessage, parse_record
from message_stream.repository import (
    ROWS_PER_TRANSACTION,
    GroupMove,
    MessageRepository,
    shared_transactions,
)
from message_stream.service import MessageStreamService

from datamodel.tables import MESSAGE_GROUP_INDEX
from stacks.config import StageConfig
from tests.functions.helpers import StreamTap, no_sleep, scan_all, stream_arn
from tests.support.backends import dynamodb_client

T0 = "2026-03-01T10:00:00.000000+00:00"
T1 = "2026-03-01T11:00:00.000000+00:00"
T2 = "2026-03-01T12:00:00.000000+00:00"
T3 = "2026-03-01T13:00:00.000000+00:00"


def group_row(owner: str, other: str, group: str, sk: str, message: str) -> dict[str, Any]:
    return {
        "pk": f"GRP#{owner}",
        "sk": sk,
        "message_group_uuid": group,
        "message": message,
        "user_uuid": other,
        "user_display_name": other.title(),
        "user_handle": other,
    }


class World:
    """The messages table on one backend, its stream, and the function's service."""

    def __init__(self, endpoint: str, config: StageConfig) -> None:
        self.client = dynamodb_client(endpoint)
        self.table = config.table("messages").table_name
        self.repository = MessageRepository(
            self.client, table=self.table, group_index=MESSAGE_GROUP_INDEX, sleep=no_sleep
        )
        self.service = MessageStreamService(self.repository)
        for row in (
            group_row("alice", "bob", "g1", T0, "first"),
            group_row("bob", "alice", "g1", T0, "first"),
            group_row("alice", "carol", "g2", T1, "carol says hi"),
        ):
            self.put(row)
        self.tap = StreamTap(endpoint, stream_arn(self.client, self.table))

    def put(self, item: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table, Item=serialize(item))

    def send_message(self, group: str, sk: str, text: str, sender: str = "alice") -> None:
        self.put({"pk": f"MSG#{group}", "sk": sk, "message": text, "user_uuid": sender,
                  "message_uuid": f"m-{sk}", "user_handle": sender})  # fmt: skip

    def conversations(self, owner: str) -> list[tuple[str, str, str]]:
        """The tutorial's list-conversations: newest group first."""
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"GRP#{owner}"}},
            ScanIndexForward=False,
            ConsistentRead=True,
        )
        return [
            (i["message_group_uuid"]["S"], i["sk"]["S"], i["message"]["S"])
            for i in response["Items"]
        ]

    def snapshot(self) -> list[dict[str, Any]]:
        return scan_all(self.client, self.table)


@pytest.fixture
def world(stage_tables: StageConfig, ddb_endpoint: str) -> World:
    return World(ddb_endpoint, stage_tables)


def test_insert_moves_both_group_rows_to_the_new_message(world: World) -> None:
    assert world.conversations("alice")[0][0] == "g2"  # g2 is newer before the message
    world.send_message("g1", T2, "hello bob")
    event = world.tap.event()
    assert [r["eventName"] for r in event["Records"]] == ["INSERT"]
    assert handle(event, world.service) == {"batchItemFailures": []}
    assert world.conversations("alice") == [("g1", T2, "hello bob"), ("g2", T1, "carol says hi")]
    assert world.conversations("bob") == [("g1", T2, "hello bob")]
    moved = world.client.get_item(
        TableName=world.table, Key={"pk": {"S": "GRP#bob"}, "sk": {"S": T2}}
    )["Item"]
    # every other attribute of the group row survives the move
    assert moved["user_display_name"] == {"S": "Alice"} and moved["user_handle"] == {"S": "alice"}


def test_the_moves_own_stream_records_and_a_redelivery_change_nothing(world: World) -> None:
    world.send_message("g1", T2, "hello")
    event = world.tap.event()
    handle(event, world.service)
    after = world.snapshot()
    echoes = world.tap.event()  # the REMOVE + INSERT of the group rows we just moved
    assert {r["eventName"] for r in echoes["Records"]} == {"INSERT", "REMOVE"}
    assert handle(echoes, world.service) == {"batchItemFailures": []}
    assert handle(copy.deepcopy(event), world.service) == {"batchItemFailures": []}  # redelivery
    assert world.snapshot() == after
    assert world.tap.records() == []  # and nothing was written, so nothing new on the stream


def test_an_older_message_arriving_late_does_not_move_the_group_back(world: World) -> None:
    world.send_message("g1", T3, "newest")
    newest = world.tap.event()
    world.send_message("g1", T2, "older")
    older = world.tap.event()
    handle(newest, world.service)
    before = world.snapshot()
    handle(older, world.service)
    assert world.snapshot() == before
    assert world.conversations("bob") == [("g1", T3, "newest")]


def test_modify_and_remove_of_messages_are_ignored(world: World) -> None:
    world.send_message("g1", T2, "typo")
    world.tap.event()  # the INSERT, deliberately not processed
    before = world.snapshot()
    world.client.update_item(
        TableName=world.table,
        Key={"pk": {"S": "MSG#g1"}, "sk": {"S": T2}},
        UpdateExpression="SET message = :m",
        ExpressionAttributeValues={":m": {"S": "fixed"}},
    )
    world.client.delete_item(TableName=world.table, Key={"pk": {"S": "MSG#g1"}, "sk": {"S": T2}})
    event = world.tap.event()
    assert [r["eventName"] for r in event["Records"]] == ["MODIFY", "REMOVE"]
    expected = [item for item in before if item["pk"]["S"] != "MSG#g1"]
    assert handle(event, world.service) == {"batchItemFailures": []}
    assert world.snapshot() == expected  # only our own update/delete happened


def test_a_batch_mixing_groups_and_non_message_rows(world: World) -> None:
    world.put(group_row("dave", "erin", "g3", T0, "x"))  # a group row INSERT: ignored
    world.send_message("g2", T2, "carol again")
    world.send_message("g1", T3, "bob again")
    event = world.tap.event()
    assert len(event["Records"]) == 3
    assert handle(event, world.service) == {"batchItemFailures": []}
    assert world.conversations("alice") == [("g1", T3, "bob again"), ("g2", T2, "carol again")]
    assert world.conversations("dave") == [("g3", T0, "x")]


def throttled_on(world: World, throttled_group: str) -> MessageStreamService:
    """The service over a repository whose group-index query of `throttled_group` is throttled."""

    class FlakyRepository(MessageRepository):
        def group_rows(self, group_uuid: str) -> list[dict[str, Any]]:
            if group_uuid == throttled_group:
                raise ClientError(
                    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}},
                    "Query",
                )
            return super().group_rows(group_uuid)

    return MessageStreamService(
        FlakyRepository(world.client, table=world.table, group_index=MESSAGE_GROUP_INDEX)
    )


def test_only_the_failed_record_is_reported(world: World) -> None:
    flaky = throttled_on(world, "g2")
    world.send_message("g2", T2, "will fail")
    world.send_message("g1", T3, "will work")
    event = world.tap.event()
    failed_seq = event["Records"][0]["dynamodb"]["SequenceNumber"]
    assert handle(event, flaky) == {"batchItemFailures": [{"itemIdentifier": failed_seq}]}
    assert world.conversations("bob") == [("g1", T3, "will work")]
    # the retry (Lambda resends from the failed record) completes the work, idempotently
    assert handle(event, world.service) == {"batchItemFailures": []}
    assert world.conversations("alice") == [("g1", T3, "will work"), ("g2", T2, "will fail")]


def test_a_batch_moves_each_group_row_once_to_its_newest_message(world: World) -> None:
    for sk, text in ((T1, "one"), (T3, "three"), (T2, "two")):
        world.send_message("g1", sk, text)
    world.send_message("g2", T2, "carol again")
    event = world.tap.event()
    assert len(event["Records"]) == 4
    assert handle(event, world.service) == {"batchItemFailures": []}
    assert world.conversations("bob") == [("g1", T3, "three")]
    assert world.conversations("alice") == [("g1", T3, "three"), ("g2", T2, "carol again")]
    # one Delete+Put per group row: g1's two rows and g2's one, not one per message
    echoes = world.tap.records()
    assert sorted(r["eventName"] for r in echoes) == ["INSERT"] * 3 + ["REMOVE"] * 3


def test_a_failed_group_reports_every_record_it_covers(world: World) -> None:
    flaky = throttled_on(world, "g1")
    world.send_message("g1", T2, "older")
    world.send_message("g2", T2, "works")
    world.send_message("g1", T3, "newer")
    event = world.tap.event()
    sequence = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    failures = handle(event, flaky)["batchItemFailures"]
    assert sorted(f["itemIdentifier"] for f in failures) == sorted([sequence[0], sequence[2]])
    assert world.conversations("bob") == [("g1", T0, "first")]
    assert world.conversations("alice")[0] == ("g2", T2, "works")


def test_a_stale_index_view_is_resolved_against_the_table(world: World) -> None:
    """The group index is eventually consistent: moving a row it still shows at its old key."""
    stale = world.repository.group_rows("g1")
    world.send_message("g1", T2, "hello")
    handle(world.tap.event(), world.service)
    before = world.snapshot()
    message = NewMessage(group_uuid="g1", sort_key=T2, text="hello", sequence_number="1")
    assert world.repository.move_all(stale, message) == 0
    assert world.snapshot() == before
    # and a newer message still moves rows that the stale view showed at their old key
    newer = NewMessage(group_uuid="g1", sort_key=T3, text="newer", sequence_number="2")
    assert world.repository.move_all(stale, newer) == 2
    assert world.conversations("bob") == [("g1", T3, "newer")]


def test_a_group_larger_than_one_transaction_moves_every_row(world: World) -> None:
    members = [f"member{n:02d}" for n in range(60)]  # 60 rows: more than 100 actions
    for member in members:
        world.put(group_row(member, "host", "big", T0, "welcome"))
    world.put(group_row("member07", "host", "big", T3, "ahead"))  # already past the message
    world.client.delete_item(
        TableName=world.table, Key={"pk": {"S": "GRP#member07"}, "sk": {"S": T0}}
    )
    world.tap.records()
    world.send_message("big", T2, "hello all")
    assert handle(world.tap.event(), world.service) == {"batchItemFailures": []}
    for member in members:
        expected = (T3, "ahead") if member == "member07" else (T2, "hello all")
        assert [(sk, text) for _, sk, text in world.conversations(member)] == [expected]


class CountingClient:
    """A DynamoDB client that counts the `TransactWriteItems` calls made through it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.transactions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **params: Any) -> Any:
        self.transactions += 1
        return self._client.transact_write_items(**params)


def counted(world: World, repository: type[MessageRepository] = MessageRepository) -> Any:
    """A service over `repository` whose client counts transactions (as `.client`)."""
    client = CountingClient(world.client)
    service = MessageStreamService(
        repository(client, table=world.table, group_index=MESSAGE_GROUP_INDEX, sleep=no_sleep)
    )
    return service, client


def test_a_batch_moves_all_its_groups_in_one_transaction(world: World) -> None:
    world.put(group_row("carol", "alice", "g2", T1, "carol says hi"))
    world.put(group_row("dave", "erin", "g3", T0, "x"))
    world.tap.records()
    for group, sk in (("g1", T2), ("g2", T3), ("g3", T2)):
        world.send_message(group, sk, f"news in {group}")
    service, client = counted(world)
    assert handle(world.tap.event(), service) == {"batchItemFailures": []}
    assert client.transactions == 1
    assert world.conversations("alice") == [("g2", T3, "news in g2"), ("g1", T2, "news in g1")]
    assert world.conversations("carol") == [("g2", T3, "news in g2")]
    assert world.conversations("dave") == [("g3", T2, "news in g3")]


def test_a_group_that_cancels_the_shared_transaction_does_not_hold_the_others(
    world: World,
) -> None:
    """g1's index view is stale (its rows moved since): g2 still moves, and so does g1."""
    stale = world.repository.group_rows("g1")
    world.send_message("g1", "2026-03-01T10:30:00.000000+00:00", "moved meanwhile")
    handle(world.tap.event(), world.service)

    class StaleView(MessageRepository):
        def group_rows(self, group_uuid: str) -> list[dict[str, Any]]:
            return stale if group_uuid == "g1" else super().group_rows(group_uuid)

    service, client = counted(world, StaleView)
    world.send_message("g1", T3, "newest")
    world.send_message("g2", T2, "carol again")
    assert handle(world.tap.event(), service) == {"batchItemFailures": []}
    # the shared one (cancelled), then g1 and g2 each on their own
    assert client.transactions == 3
    assert world.conversations("bob") == [("g1", T3, "newest")]
    assert world.conversations("alice") == [("g1", T3, "newest"), ("g2", T2, "carol again")]


def test_a_shared_transaction_refused_as_a_whole_is_retried_a_group_at_a_time(
    world: World,
) -> None:
    """A request error (here: invalid, for g2's actions) fails g2 alone, not g1 with it."""

    class RefusesG2(CountingClient):
        def transact_write_items(self, **params: Any) -> Any:
            self.transactions += 1
            if any("g2" in json.dumps(item) for item in params["TransactItems"]):
                raise ClientError(
                    {"Error": {"Code": "ValidationException", "Message": "too large"}},
                    "TransactWriteItems",
                )
            return self._client.transact_write_items(**params)

    client = RefusesG2(world.client)
    service = MessageStreamService(
        MessageRepository(client, table=world.table, group_index=MESSAGE_GROUP_INDEX)
    )
    world.send_message("g1", T2, "fine")
    world.send_message("g2", T3, "refused")
    event = world.tap.event()
    g2_record = event["Records"][1]["dynamodb"]["SequenceNumber"]
    assert handle(event, service) == {"batchItemFailures": [{"itemIdentifier": g2_record}]}
    assert client.transactions == 3  # the shared one, then g1 and g2 each alone
    assert world.conversations("bob") == [("g1", T2, "fine")]
    assert world.conversations("alice")[1] == ("g2", T1, "carol says hi")


def test_group_lookups_run_concurrently(world: World) -> None:
    """Three lookups meet at a barrier: looked up one after another, they would time out."""
    barrier = threading.Barrier(3, timeout=10)

    class Rendezvous(MessageRepository):
        def group_rows(self, group_uuid: str) -> list[dict[str, Any]]:
            barrier.wait()
            return super().group_rows(group_uuid)

    repository = Rendezvous(world.client, table=world.table, group_index=MESSAGE_GROUP_INDEX)
    found = repository.group_rows_of(["g1", "g2", "nobody"])
    assert [sorted(str(row["pk"]) for row in rows) for rows in found] == [  # type: ignore[union-attr]
        ["GRP#alice", "GRP#bob"],
        ["GRP#alice"],
        [],
    ]


def move(group: str, sk: str, *owners_at: tuple[str, str]) -> GroupMove:
    rows = [group_row(owner, "x", group, at, "old") for owner, at in owners_at]
    return GroupMove(rows, NewMessage(group, sk, "new", "1"))


def test_shared_transactions_take_whole_groups_and_never_one_item_twice() -> None:
    small = move("g1", T2, ("alice", T0), ("bob", T0))
    clash = move("g2", T2, ("alice", T1))  # alice's new g2 row would have g1's new key
    done = move("g3", T1, ("carol", T2))  # already past its message: nothing to move
    big = move("g4", T3, *((f"m{n}", T0) for n in range(ROWS_PER_TRANSACTION + 1)))
    fills = [move(f"f{n}", T3, (f"u{n}", T0)) for n in range(ROWS_PER_TRANSACTION - 1)]
    packs, alone = shared_transactions([small, clash, done, big, *fills])
    assert alone == [3]
    assert packs[0] == [0]  # g2 cannot join g1
    assert packs[1] == [1, *range(4, 4 + ROWS_PER_TRANSACTION - 1)]  # 1 + 49 rows
    assert len(packs) == 2


def test_malformed_records_are_skipped_and_change_nothing(world: World) -> None:
    world.send_message("g1", T2, "hello")
    good = world.tap.event()["Records"][0]
    bad_records: list[Any] = [None, "x", {"eventName": "INSERT"}]
    for path, value in (
        (("dynamodb", "NewImage"), None),
        (("dynamodb", "SequenceNumber"), None),
        (("dynamodb", "Keys", "sk"), {"N": "1"}),
        (("dynamodb", "NewImage", "message"), {"N": "1"}),
        (("dynamodb", "Keys", "pk"), {"S": "MSG#"}),
    ):
        record = copy.deepcopy(good)
        target = record
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        bad_records.append(record)
    before = world.snapshot()
    assert handle({"Records": bad_records}, world.service) == {"batchItemFailures": []}
    assert handle({"NotRecords": []}, world.service) == {"batchItemFailures": []}
    assert handle(None, world.service) == {"batchItemFailures": []}
    assert world.snapshot() == before


@pytest.mark.parametrize(
    "record",
    [
        {"eventName": "MODIFY"},
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "GRP#x"}, "sk": {"S": "1"}}}},
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"N": "1"}}}},
    ],
)
def test_parse_record_ignores_what_is_not_a_new_message(record: dict[str, Any]) -> None:
    assert parse_record(record) is None


def test_the_mappings_filter_passes_exactly_the_records_the_function_acts_on(
    world: World,
) -> None:
    from datamodel.entities import MESSAGE_STREAM_FILTER
    from localcloud.event_filter import matches_any, parse

    patterns = parse({"Filters": [{"Pattern": json.dumps(MESSAGE_STREAM_FILTER)}]})
    world.send_message("g1", T2, "hello")
    records = world.tap.records()
    handle({"Records": records}, world.service)
    records += world.tap.records()  # the group rows' moves: REMOVE + INSERT
    world.client.update_item(
        TableName=world.table,
        Key={"pk": {"S": "MSG#g1"}, "sk": {"S": T2}},
        UpdateExpression="SET message = :m",
        ExpressionAttributeValues={":m": {"S": "edited"}},
    )
    world.client.delete_item(TableName=world.table, Key={"pk": {"S": "MSG#g1"}, "sk": {"S": T2}})
    world.send_message("g2", T3, "again")
    records += world.tap.records()
    assert {r["eventName"] for r in records} == {"INSERT", "MODIFY", "REMOVE"}
    for record in records:
        assert matches_any(patterns, record) is (parse_record(record) is not None), record


def test_parse_record_reads_a_new_message() -> None:
    record = {
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"pk": {"S": "MSG#g9"}, "sk": {"S": T1}},
            "NewImage": {"pk": {"S": "MSG#g9"}, "sk": {"S": T1}, "message": {"S": "hey"}},
            "SequenceNumber": "42",
        },
    }
    assert parse_record(record) == NewMessage("g9", T1, "hey", "42")
    del record["dynamodb"]["NewImage"]  # type: ignore[attr-defined]
    with pytest.raises(MalformedRecord, match="NewImage"):
        parse_record(record)


def test_a_throttled_move_is_reported_for_retry() -> None:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    service = MessageStreamService(
        MessageRepository(client, table="cruddur-messages", group_index=MESSAGE_GROUP_INDEX)
    )
    record = {
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"pk": {"S": "MSG#g1"}, "sk": {"S": T2}},
            "NewImage": {"message": {"S": "hi"}},
            "SequenceNumber": "77",
        },
    }
    row = serialize(group_row("alice", "bob", "g1", T0, "old"))
    with Stubber(client) as stub:
        stub.add_response("query", {"Items": [row]})
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields={"CancellationReasons": [{"Code": "ThrottlingError"}, {"Code": "None"}]},
        )
        assert handle({"Records": [record]}, service) == {
            "batchItemFailures": [{"itemIdentifier": "77"}]
        }
