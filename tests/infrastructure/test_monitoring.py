"""Intent: the stage's dashboard (tables, functions, stream mapping) and the iterator-age alarm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from datamodel.functions import FUNCTIONS
from stacks.config import stage_config
from tests.infrastructure.cfn import function_by_name, render
from tests.support.synth import SynthesizedStage, synthesize

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:dynamo-backend-alerts"


@pytest.fixture(scope="module")
def quiet_local(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedStage:
    """`local` with `-c dashboard=false`, and alarms on with a topic (local has them off)."""
    config = stage_config(
        "local", {"dashboard": "false", "alarms": "true", "alarm_topic_arn": TOPIC_ARN}
    )
    return synthesize(config, Path(tmp_path_factory.mktemp("cdk-quiet-local")))


def dashboard(stage: SynthesizedStage) -> tuple[str, list[dict[str, Any]]]:
    """The one dashboard's name and widgets, its body's `Fn::Join` rendered (Refs as `${Id}`)."""
    found = stage.functions.find_resources("AWS::CloudWatch::Dashboard")
    assert len(found) == 1, f"expected one dashboard, found {len(found)}"
    ((_, resource),) = found.items()
    properties = resource["Properties"]
    widgets: list[dict[str, Any]] = json.loads(render(properties["DashboardBody"]))["widgets"]
    return properties["DashboardName"], widgets


def graph(widgets: list[dict[str, Any]], title: str) -> dict[str, Any]:
    """The properties of the graph called `title`."""
    found = [w["properties"] for w in widgets if w["properties"].get("title") == title]
    assert len(found) == 1, f"expected one widget {title!r}, found {len(found)}"
    properties: dict[str, Any] = found[0]
    return properties


def metrics(properties: dict[str, Any]) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """A graph's metrics as (metric name, dimensions, options); math expressions left out."""
    found = []
    for line in properties["metrics"]:
        *fields, options = line if isinstance(line[-1], dict) else (*line, {})
        if not fields:
            continue  # an expression: [{"expression": ...}]
        _, name, *pairs = fields
        found.append((name, dict(zip(pairs[::2], pairs[1::2], strict=True)), options))
    return found


def function_names(stage: SynthesizedStage) -> list[str]:
    return list(stage.config.functions.all())


def test_each_stage_has_one_dashboard_named_after_its_stacks(stage: SynthesizedStage) -> None:
    name, widgets = dashboard(stage)
    assert name == stage.config.stack_prefix
    headers = [w["properties"]["markdown"] for w in widgets if w["type"] == "text"]
    assert [h.splitlines()[0] for h in headers] == [
        "## DynamoDB tables",
        "## Lambda functions",
        "## Stream mappings",
    ]
    for widget in widgets:  # the grid is 24 columns: nothing hangs off its right edge
        assert widget["x"] + widget["width"] <= 24


def test_every_table_has_capacity_throttle_latency_and_error_graphs(
    stage: SynthesizedStage,
) -> None:
    _, widgets = dashboard(stage)
    for spec in stage.config.tables:
        name = spec.table_name
        for suffix in ("read capacity", "write capacity", "throttle events", "latency (average)"):
            for metric_name, dimensions, _ in metrics(graph(widgets, f"{name}: {suffix}")):
                assert dimensions["TableName"] == name, (suffix, metric_name)
        latency = metrics(graph(widgets, f"{name}: latency (average)"))
        assert {"GetItem", "PutItem", "Query"} <= {d["Operation"] for _, d, _ in latency}
        assert {m for m, _, _ in latency} == {"SuccessfulRequestLatency"}
        errors = metrics(graph(widgets, f"{name}: SystemErrors"))
        assert {m for m, _, _ in errors} == {"SystemErrors"}
        assert {d["TableName"] for _, d, _ in errors} == {name}


def test_provisioned_lines_only_for_provisioned_tables(stage: SynthesizedStage) -> None:
    _, widgets = dashboard(stage)
    for spec in stage.config.tables:
        for kind in ("Read", "Write"):
            lines = metrics(graph(widgets, f"{spec.table_name}: {kind.lower()} capacity"))
            consumed = [d for m, d, _ in lines if m == f"Consumed{kind}CapacityUnits"]
            provisioned = [d for m, d, _ in lines if m == f"Provisioned{kind}CapacityUnits"]
            indexes = {i.name for i in spec.global_indexes}
            assert {d.get("GlobalSecondaryIndexName") for d in consumed} == {None, *indexes}
            if spec.capacity is None:
                assert provisioned == []
            else:
                assert provisioned == consumed  # one provisioned line per consumed one


def test_stages_differ_in_provisioned_lines(
    local: SynthesizedStage, prod: SynthesizedStage
) -> None:
    # Guards the test above against both stages changing billing at once.
    assert all(spec.capacity is not None for spec in local.config.tables)
    assert all(spec.capacity is None for spec in prod.config.tables)


def test_throttles_of_each_gsi_are_drawn_under_its_own_dimension(stage: SynthesizedStage) -> None:
    _, widgets = dashboard(stage)
    for spec in stage.config.tables:
        lines = metrics(graph(widgets, f"{spec.table_name}: throttle events"))
        expected = {
            (kind, index)
            for kind in ("ReadThrottleEvents", "WriteThrottleEvents")
            for index in (None, *(i.name for i in spec.global_indexes))
        }
        assert {(m, d.get("GlobalSecondaryIndexName")) for m, d, _ in lines} == expected
        assert {options["stat"] for _, _, options in lines} == {"Sum"}


def test_user_errors_are_drawn_once_for_the_account(stage: SynthesizedStage) -> None:
    _, widgets = dashboard(stage)
    user_errors = [
        (dimensions, title)
        for widget in widgets
        if widget["type"] == "metric"
        for name, dimensions, _ in metrics(widget["properties"])
        if name == "UserErrors"
        for title in [widget["properties"]["title"]]
    ]
    assert len(user_errors) == 1
    ((dimensions, title),) = user_errors
    assert dimensions == {}  # UserErrors has no TableName dimension
    assert not any(spec.table_name in title for spec in stage.config.tables)


def test_every_function_has_its_own_graphs_of_its_own_metrics(stage: SynthesizedStage) -> None:
    _, widgets = dashboard(stage)
    for name in function_names(stage):
        logical_id, _ = function_by_name(stage.functions, name)
        drawn: dict[str, set[str]] = {}
        for suffix in ("invocations and errors", "duration", "throttles", "concurrent executions"):
            for metric_name, dimensions, options in metrics(graph(widgets, f"{name}: {suffix}")):
                assert dimensions == {"FunctionName": f"${{{logical_id}}}"}, (name, suffix)
                drawn.setdefault(metric_name, set()).add(options.get("stat", "Average"))
        assert drawn == {
            "Invocations": {"Sum"},
            "Errors": {"Sum"},
            "Duration": {"p50", "p99"},
            "Throttles": {"Sum"},
            "ConcurrentExecutions": {"Maximum"},
        }


def test_the_stream_mapping_draws_the_iterator_age_of_message_stream(
    stage: SynthesizedStage,
) -> None:
    _, widgets = dashboard(stage)
    name = stage.config.functions.message_stream
    logical_id, _ = function_by_name(stage.functions, name)
    title = f"{name}: iterator age (age of the newest record of a batch)"
    iterator_age = graph(widgets, title)
    ((metric_name, dimensions, options),) = metrics(iterator_age)
    assert (metric_name, dimensions) == ("IteratorAge", {"FunctionName": f"${{{logical_id}}}"})
    assert options["stat"] == "Maximum"
    iterator_age_graphs = [
        w
        for w in widgets
        if w["type"] == "metric" and any(m == "IteratorAge" for m, _, _ in metrics(w["properties"]))
    ]
    assert len(iterator_age_graphs) == 1  # only message-stream has a stream mapping
    annotations = iterator_age.get("annotations", {}).get("horizontal", [])
    if stage.config.alarms:
        threshold_ms = stage.config.stream_processing.iterator_age_alarm_s * 1000
        assert [a["value"] for a in annotations] == [threshold_ms]
    else:
        assert annotations == []


def test_the_iterator_age_alarm_exists_only_with_alarms(stage: SynthesizedStage) -> None:
    alarms = stage.functions.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "IteratorAge"}}
    )
    assert len(alarms) == (1 if stage.config.alarms else 0)
    stage.functions.resource_count_is("AWS::CloudWatch::Alarm", len(alarms))


def test_the_iterator_age_alarm_watches_message_stream_in_milliseconds(
    prod: SynthesizedStage,
) -> None:
    name = prod.config.functions.message_stream
    logical_id, _ = function_by_name(prod.functions, name)
    prod.functions.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{name}-iterator-age",
            "Namespace": "AWS/Lambda",
            "MetricName": "IteratorAge",
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": logical_id}}],
            "Statistic": "Maximum",
            "Period": Match.any_value(),
            "Threshold": prod.config.stream_processing.iterator_age_alarm_s * 1000,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": Match.absent(),  # prod names no topic by default
        },
    )
    (alarm,) = prod.functions.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "IteratorAge"}}
    ).values()
    assert alarm["Properties"]["Period"] in (60, 300)


def test_dashboard_false_removes_only_the_dashboard(quiet_local: SynthesizedStage) -> None:
    quiet_local.functions.resource_count_is("AWS::CloudWatch::Dashboard", 0)
    quiet_local.functions.resource_count_is("AWS::Lambda::Function", len(FUNCTIONS))
    quiet_local.functions.resource_count_is("AWS::Lambda::EventSourceMapping", 1)


def test_the_iterator_age_alarm_notifies_the_alarm_topic(quiet_local: SynthesizedStage) -> None:
    # Alarms on without a dashboard: the alarm does not depend on it.
    quiet_local.functions.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{quiet_local.config.functions.message_stream}-iterator-age",
            "AlarmActions": [TOPIC_ARN],
        },
    )
