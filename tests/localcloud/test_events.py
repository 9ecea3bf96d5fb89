"""EventBridge in the local cloud: schedule expressions and their fire times (pure), what a
target receives, and against a fresh local cloud scheduled rules firing Lambda and SQS
targets, `PutEvents` reaching the targets of matching rules only, disabled and deleted
rules staying quiet, Scheduler schedules, and a CDK app's `Schedule.rate` rule."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError

from localcloud import events
from tests.localcloud.conftest import client, create_function, module_cloud
from tests.support.fixture_apps import FixtureApp, outputs_of
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# rate(1 minute) fires every 2 s in the cloud of these tests.
SPEEDUP = 30
PERIOD_S = 60 / SPEEDUP
T = TypeVar("T")

# The target function's test double: each event it is given, as a row of LOG_TABLE.
RECORDER = """
import json
import os

import boto3

ddb = boto3.client("dynamodb")


def handler(event, context):
    ddb.put_item(
        TableName=os.environ["LOG_TABLE"],
        Item={"id": {"S": event.get("id") or str(context.aws_request_id)},
              "event": {"S": json.dumps(event)}},
    )
"""


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _next(expression: str, after: str) -> str | None:
    found = events.parse_schedule(expression).next_after(_at(after))
    if found is None:
        return None
    return datetime.fromtimestamp(found, UTC).strftime("%Y-%m-%dT%H:%M")


# -- schedule expressions (pure) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("rate(1 minute)", "2024-06-01T00:00:30", "2024-06-01T00:01"),
        ("rate(5 minutes)", "2024-06-01T00:01:00", "2024-06-01T00:05"),
        ("rate(1 hour)", "2024-06-01T00:00:00", "2024-06-01T01:00"),
        ("rate(2 days)", "2024-06-01T12:00:00", "2024-06-02T00:00"),
        ("cron(0 10 * * ? *)", "2024-03-01T10:00:00", "2024-03-02T10:00"),
        ("cron(0/15 * * * ? *)", "2024-03-01T10:07:00", "2024-03-01T10:15"),
        ("cron(5,35 14 * * ? *)", "2024-03-01T14:06:00", "2024-03-01T14:35"),
        ("cron(0 18 ? * MON-FRI *)", "2024-03-01T19:00:00", "2024-03-04T18:00"),
        ("cron(0 8 1 * ? *)", "2024-03-01T10:07:00", "2024-04-01T08:00"),
        ("cron(0 0 1 JAN,JUL ? *)", "2024-03-01T00:00:00", "2024-07-01T00:00"),
        ("cron(0 12 ? * 1 *)", "2024-06-01T00:00:00", "2024-06-02T12:00"),  # 1 is Sunday
        ("cron(0 0 L * ? *)", "2024-02-01T00:00:00", "2024-02-29T00:00"),
        ("cron(0 0 1W * ? *)", "2024-06-01T00:00:00", "2024-06-03T00:00"),  # Sat 1 -> Mon 3
        ("cron(15 10 ? * 6L 2024)", "2024-03-01T00:00:00", "2024-03-29T10:15"),  # last Fri
        ("cron(0 0 ? * 3#2 *)", "2024-06-01T00:00:00", "2024-06-11T00:00"),  # 2nd Tuesday
        ("cron(0 0 ? * * 2030)", "2024-06-01T00:00:00", "2030-01-01T00:00"),
        ("cron(0 0 29 2 ? 2025-2027)", "2024-06-01T00:00:00", None),
    ],
)
def test_next_fire_time_in_utc(expression: str, after: str, expected: str | None) -> None:
    assert _next(expression, after) == expected


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "plural"),
        ("rate(0 minutes)", "above 0"),
        ("rate(5 weeks)", "unit"),
        ("cron(0 10 * * *)", "6 fields"),
        ("cron(* * * * * *)", "'?'"),
        ("cron(0 10 ? * ? *)", "'?'"),
        ("cron(60 * * * ? *)", "0-59"),
        ("cron(0 24 * * ? *)", "0-23"),
        ("cron(0 0 ? * 8 *)", "1-7"),
        ("cron(0 0 ? FOO * *)", "not a value"),
        ("cron(0 0 5-1 * ? *)", "backwards"),
        ("cron(0 0 L-2 * ? *)", "day-of-month"),
        ("every 5 minutes", "rate() or cron()"),
    ],
)
def test_invalid_expressions_are_refused_with_the_reason(expression: str, reason: str) -> None:
    with pytest.raises(events.ScheduleError, match=re.escape(reason)):
        events.parse_schedule(expression)


def test_speedup_divides_rate_periods() -> None:
    rate = events.parse_schedule("rate(1 minute)")
    assert rate.next_after(100.5, speedup=30) == 102.0


def test_scheduler_time_zone_and_at() -> None:
    cron = events.parse_schedule("cron(0 9 * * ? *)", "Europe/Berlin")
    fire = cron.next_after(_at("2024-06-01T00:00:00"))
    assert fire == _at("2024-06-01T07:00:00")  # 09:00 CEST
    once = events.parse_schedule("at(2024-06-01T12:00:00)", allow_at=True)
    assert once.next_after(_at("2024-06-01T11:00:00")) == _at("2024-06-01T12:00:00")
    assert once.next_after(_at("2024-06-01T12:00:00")) is None
    with pytest.raises(events.ScheduleError):
        events.parse_schedule("at(2024-06-01T12:00:00)")  # rules have no at()


# -- what a target receives (pure) ---------------------------------------------------------

EVENT = {
    "version": "0",
    "id": "e-1",
    "detail-type": "Order Placed",
    "source": "app.orders",
    "account": "123456789012",
    "time": "2024-06-01T00:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:s3:::b"],
    "detail": {"order": {"id": "o-1", "total": 120}, "tags": ["a", "b"]},
}
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/orders"


def _input(target: dict[str, Any]) -> Any:
    return json.loads(events.target_input(target, EVENT, RULE_ARN, "orders"))


def test_target_input_shapes() -> None:
    assert _input({}) == EVENT
    assert _input({"Input": '{"fixed": true}'}) == {"fixed": True}
    assert _input({"InputPath": "$.detail.order"}) == {"id": "o-1", "total": 120}
    assert _input({"InputPath": "$.resources[0]"}) == "arn:aws:s3:::b"
    transformed = _input(
        {
            "InputTransformer": {
                "InputPathsMap": {
                    "id": "$.detail.order.id",
                    "total": "$.detail.order.total",
                    "type": "$.detail-type",
                    "gone": "$.detail.nothing",
                },
                # CDK's RuleTargetInput.fromObject: fields outside quotes, text inside.
                "InputTemplate": '{"order": <id>, "total": <total>, '
                '"text": "<type> \\"<id>\\" for <total>", "gone": <gone>, '
                '"rule": <aws.events.rule-arn>, "name": <aws.events.rule-name>, '
                '"whole": <aws.events.event.json>}',
            }
        }
    )
    assert transformed == {
        "order": "o-1",
        "total": 120,
        "text": 'Order Placed "o-1" for 120',
        "gone": None,
        "rule": RULE_ARN,
        "name": "orders",
        "whole": EVENT,
    }
    # RuleTargetInput.fromText: a JSON string template.
    text = {"InputPathsMap": {"id": "$.detail.order.id"}, "InputTemplate": '"order <id>"'}
    assert _input({"InputTransformer": text}) == "order o-1"


def test_lambda_resource_policy_decides() -> None:
    fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    cdk_permission = {
        "Sid": "s",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": fn,
        "FunctionName": fn,  # moto keeps CloudFormation's properties in the statement
        "Condition": {"ArnLike": {"AWS:SourceArn": RULE_ARN}},
    }
    assert events.lambda_permits([cdk_permission], fn, RULE_ARN, "123456789012")
    assert not events.lambda_permits([cdk_permission], fn, RULE_ARN + "-other", "123456789012")
    other_service = cdk_permission | {"Principal": {"Service": "sns.amazonaws.com"}}
    assert not events.lambda_permits([other_service], fn, RULE_ARN, "123456789012")
    assert not events.lambda_permits([], fn, RULE_ARN, "123456789012")


# -- against a local cloud -----------------------------------------------------------------


# rate() schedules run SPEEDUP times faster.
cloud = module_cloud("events", {"LOCALCLOUD_SCHEDULE_SPEEDUP": str(SPEEDUP)})


def _deadline(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = probe()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {what}")


def _queue(endpoint: str) -> tuple[str, str]:
    sqs = client("sqs", endpoint)
    url: str = sqs.create_queue(QueueName=f"events-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _receive(endpoint: str, url: str, wait_s: int = 1) -> list[Any]:
    answer = client("sqs", endpoint).receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s
    )
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


def _drain(endpoint: str, url: str, seconds: float) -> list[Any]:
    """Every message the queue gets within `seconds`."""
    got: list[Any] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got.extend(_receive(endpoint, url))
    return got


def _log_table(endpoint: str) -> str:
    name = f"events-log-{uuid.uuid4().hex[:8]}"
    client("dynamodb", endpoint).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _logged(endpoint: str, table: str) -> list[dict[str, Any]]:
    items = client("dynamodb", endpoint).scan(TableName=table, ConsistentRead=True)["Items"]
    return [json.loads(item["event"]["S"]) for item in items]


def _recorder(endpoint: str, table: str, *, permit_rule: str | None) -> str:
    name = f"events-fn-{uuid.uuid4().hex[:8]}"
    arn = create_function(endpoint, name, RECORDER, env={"LOG_TABLE": table})
    if permit_rule is not None:
        client("lambda", endpoint).add_permission(
            FunctionName=name,
            StatementId="events",
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=permit_rule,
        )
    return arn


def _rule_arn(endpoint: str, name: str) -> str:
    arn: str = client("events", endpoint).describe_rule(Name=name)["Arn"]
    return arn


def _assert_scheduled_event(event: dict[str, Any], rule_arn: str) -> None:
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert event["version"] == "0"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["account"] == "123456789012"
    assert event["region"] == "us-east-1"
    assert event["resources"] == [rule_arn]
    assert event["detail"] == {}
    uuid.UUID(event["id"])
    fired = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(fired.timestamp() - time.time()) < 60
    assert fired.timestamp() % PERIOD_S == 0  # a scheduled moment, not when it was sent


def test_rate_rule_fires_its_lambda_and_queue(cloud: LocalCloud) -> None:
    endpoint = cloud.endpoint
    rules = client("events", endpoint)
    name = f"tick-{uuid.uuid4().hex[:8]}"
    rules.put_rule(Name=name, ScheduleExpression="rate(1 minute)")
    rule_arn = _rule_arn(endpoint, name)
    table = _log_table(endpoint)
    fn_arn = _recorder(endpoint, table, permit_rule=rule_arn)
    url, queue_arn = _queue(endpoint)
    rules.put_targets(
        Rule=name, Targets=[{"Id": "fn", "Arn": fn_arn}, {"Id": "queue", "Arn": queue_arn}]
    )

    messages = _deadline(lambda: _receive(endpoint, url), what="a scheduled event in the queue")
    _assert_scheduled_event(messages[0], rule_arn)
    logged = _deadline(lambda: _logged(endpoint, table), what="the function's record")
    _assert_scheduled_event(logged[0], rule_arn)
    # It keeps firing: one event per scheduled moment, never two for one.
    later = _drain(endpoint, url, 3 * PERIOD_S)
    times = [m["time"] for m in messages + later]
    assert len(later) >= 2
    assert len(times) == len(set(times))
    health = cloud.health()["events"]
    assert health["speedup"] == SPEEDUP
    assert health["rules_scheduled"] >= 1
    assert health["fired"] >= 3
    rules.remove_targets(Rule=name, Ids=["fn", "queue"])
    rules.delete_rule(Name=name)


def test_disabled_and_deleted_rules_do_not_fire(cloud: LocalCloud) -> None:
    endpoint = cloud.endpoint
    rules = client("events", endpoint)
    name = f"off-{uuid.uuid4().hex[:8]}"
    url, queue_arn = _queue(endpoint)
    rules.put_rule(Name=name, ScheduleExpression="rate(1 minute)", State="DISABLED")
    rules.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    assert _drain(endpoint, url, 3 * PERIOD_S) == []

    rules.enable_rule(Name=name)
    _deadline(lambda: _receive(endpoint, url), what="an event once enabled")
    rules.disable_rule(Name=name)
    time.sleep(PERIOD_S)  # one may have been on its way
    _drain(endpoint, url, 0.5)
    assert _drain(endpoint, url, 3 * PERIOD_S) == []

    rules.enable_rule(Name=name)
    _deadline(lambda: _receive(endpoint, url), what="an event once enabled again")
    rules.remove_targets(Rule=name, Ids=["queue"])
    rules.delete_rule(Name=name)
    time.sleep(PERIOD_S)
    _drain(endpoint, url, 0.5)
    assert _drain(endpoint, url, 3 * PERIOD_S) == []


def test_put_events_reach_the_targets_of_matching_rules(cloud: LocalCloud) -> None:
    endpoint = cloud.endpoint
    rules = client("events", endpoint)
    suffix = uuid.uuid4().hex[:8]
    pattern = {"source": ["app.orders"], "detail": {"total": [{"numeric": [">", 100]}]}}
    name = f"big-orders-{suffix}"
    rules.put_rule(Name=name, EventPattern=json.dumps(pattern))
    rule_arn = _rule_arn(endpoint, name)
    table = _log_table(endpoint)
    fn_arn = _recorder(endpoint, table, permit_rule=rule_arn)
    url, queue_arn = _queue(endpoint)
    shaped_url, shaped_arn = _queue(endpoint)
    transformer = {
        "InputPathsMap": {"order": "$.detail.order", "total": "$.detail.total"},
        "InputTemplate": '{"order": <order>, "summary": "order <order>: <total>"}',
    }
    rules.put_targets(
        Rule=name,
        Targets=[
            {"Id": "fn", "Arn": fn_arn},
            {"Id": "queue", "Arn": queue_arn},
            {"Id": "shaped", "Arn": shaped_arn, "InputTransformer": transformer},
        ],
    )
    # Rules that must not get these events: a disabled one, a schedule-only one.
    off_url, off_arn = _queue(endpoint)
    rules.put_rule(Name=f"off-{suffix}", EventPattern=json.dumps(pattern), State="DISABLED")
    rules.put_targets(Rule=f"off-{suffix}", Targets=[{"Id": "q", "Arn": off_arn}])
    rules.put_rule(Name=f"daily-{suffix}", ScheduleExpression="cron(0 3 * * ? *)")
    rules.put_targets(Rule=f"daily-{suffix}", Targets=[{"Id": "q", "Arn": off_arn}])

    def order(order_id: str, total: int, source: str = "app.orders") -> dict[str, str]:
        detail = json.dumps({"order": order_id, "total": total})
        return {"Source": source, "DetailType": "Order Placed", "Detail": detail}

    answer = client("events", endpoint).put_events(
        Entries=[order("big", 150), order("small", 50), order("elsewhere", 500, "app.other")]
    )
    assert answer["FailedEntryCount"] == 0
    big_id = answer["Entries"][0]["EventId"]

    delivered = _deadline(lambda: _receive(endpoint, url), what="the matching event")
    assert [e["detail"]["order"] for e in delivered] == ["big"]
    event = delivered[0]
    assert event["id"] == big_id
    assert event["source"] == "app.orders"
    assert event["detail-type"] == "Order Placed"
    datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert "ingestion-time" not in event
    logged = _deadline(lambda: _logged(endpoint, table), what="the function's record")
    assert [e["detail"]["order"] for e in logged] == ["big"]
    assert _receive(endpoint, shaped_url) == [{"order": "big", "summary": "order big: 150"}]
    assert _drain(endpoint, url, 1) == []
    assert _drain(endpoint, off_url, 1) == []
    assert cloud.health()["events"]["events_matched"] >= 1


def test_lambda_without_permission_is_not_invoked(cloud: LocalCloud) -> None:
    endpoint = cloud.endpoint
    rules = client("events", endpoint)
    name = f"no-permission-{uuid.uuid4().hex[:8]}"
    rules.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    table = _log_table(endpoint)
    fn_arn = _recorder(endpoint, table, permit_rule=None)
    rules.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": fn_arn}])
    failed_before = cloud.health()["events"]["failed_deliveries"]
    answer = rules.put_events(Entries=[{"Source": name, "DetailType": "x", "Detail": "{}"}])
    assert answer["FailedEntryCount"] == 0  # accepted; the delivery fails, as on AWS
    _deadline(
        lambda: cloud.health()["events"]["failed_deliveries"] > failed_before,
        what="a failed delivery",
    )
    assert "resource policy" in cloud.health()["events"]["last_error"]
    time.sleep(1)
    assert _logged(endpoint, table) == []


def test_invalid_schedule_is_refused_at_put_rule(cloud: LocalCloud) -> None:
    rules = client("events", cloud.endpoint)
    with pytest.raises(ClientError) as raised:
        rules.put_rule(Name=f"bad-{uuid.uuid4().hex[:8]}", ScheduleExpression="cron(0 10 * * * *)")
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("Parameter ScheduleExpression is not valid.")


def test_scheduler_schedule_sends_its_input(cloud: LocalCloud) -> None:
    endpoint = cloud.endpoint
    url, queue_arn = _queue(endpoint)
    name = f"sched-{uuid.uuid4().hex[:8]}"
    client("scheduler", endpoint).create_schedule(
        Name=name,
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": queue_arn,
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
            "Input": '{"job": "nightly"}',
        },
    )
    got = _deadline(lambda: _receive(endpoint, url), what="the schedule's input")
    assert got[0] == {"job": "nightly"}
    client("scheduler", endpoint).delete_schedule(Name=name)


def test_cdk_schedule_rule_fires_its_function_and_queue(cloud: LocalCloud, tmp_path: Path) -> None:
    outputs = FixtureApp(Path("tests/fixture_apps/schedule"), tmp_path).deploy(cloud)
    endpoint = cloud.endpoint
    rule_arn = outputs_of(outputs, "RuleArn")
    table = outputs_of(outputs, "TableName")
    url = outputs_of(outputs, "QueueUrl")
    messages = _deadline(lambda: _receive(endpoint, url), what="a tick in the queue")
    _assert_scheduled_event(messages[0], rule_arn)
    logged = _deadline(lambda: _logged(endpoint, table), what="the function's record")
    _assert_scheduled_event(logged[0], rule_arn)


def test_restored_rule_fires_again_without_repeating_a_moment(tmp_path: Path) -> None:
    """Fire times come from the clock: after a restart a restored rule goes on firing,
    and no scheduled moment is delivered twice."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOCALCLOUD_SCHEDULE_SPEEDUP", str(SPEEDUP))
        local = LocalCloud(tmp_path / "cloud", persist=True)
        local.start()
        try:
            endpoint = local.endpoint
            url, queue_arn = _queue(endpoint)
            rules = client("events", endpoint)
            rules.put_rule(Name="restored", ScheduleExpression="rate(1 minute)")
            rules.put_targets(Rule="restored", Targets=[{"Id": "q", "Arn": queue_arn}])
            before = _deadline(lambda: _receive(endpoint, url), what="an event before")
            time.sleep(3)  # the state writer's interval
            local.stop()
            local.start(local.port)
            after = _drain(local.endpoint, url, 4 * PERIOD_S)
        finally:
            local.stop()
    times = [m["time"] for m in before + after]
    assert len(times) == len(set(times))
    latest_before = max(m["time"] for m in before)
    assert any(m["time"] > latest_before for m in after)
