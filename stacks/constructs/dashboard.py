"""The stage's CloudWatch dashboard: its tables, its functions and the messages stream mapping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from datamodel.tables import TableSpec
from stacks.constructs.table_alarms import WATCHED_OPERATIONS

# The operations whose latency is drawn: every single-item and read call the handlers make.
LATENCY_OPERATIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")
GRAPH_HEIGHT = 6
DASHBOARD_WIDTH = 24  # CloudWatch's grid is 24 columns wide


@dataclass(frozen=True)
class WatchedFunction:
    """A function as the dashboard draws it: its literal name for titles, its limits as lines."""

    name: str
    function: lambda_.IFunction
    reserved_concurrency: int
    timeout_s: int


@dataclass(frozen=True)
class WatchedStream:
    """A stream event source mapping: the function it invokes and where failed batches go."""

    function: WatchedFunction
    failure_queue: sqs.IQueue
    # The iterator-age alarm's threshold, drawn on the graph when the stage has alarms.
    iterator_age_alarm_s: int | None = None


class StageDashboard(Construct):
    """One CloudWatch dashboard named `dashboard_name`: a section per concern, a row per thing.

    Tables (addressed by physical name, so no cross-stack reference): consumed against
    provisioned capacity (provisioned lines only for provisioned tables), throttle events of
    the table and of each GSI (reported under `GlobalSecondaryIndexName`), request latency
    and system errors; the account-level `UserErrors` once. Functions: invocations and
    errors, duration p50/p99 against the timeout, throttles, concurrency against the
    reservation. Streams: the mapping's iterator age and its on-failure queue.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        tables: Sequence[TableSpec],
        functions: Sequence[WatchedFunction],
        streams: Sequence[WatchedStream] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.hours(3),
        )
        self.dashboard.add_widgets(_header("DynamoDB tables", "per-second capacity, sums"))
        self.dashboard.add_widgets(_user_errors())
        for spec in tables:
            self.dashboard.add_widgets(*_table_row(spec))
        self.dashboard.add_widgets(_header("Lambda functions", "sums, except where a line says"))
        for watched in functions:
            self.dashboard.add_widgets(*_function_row(watched))
        if streams:
            self.dashboard.add_widgets(_header("Stream mappings", "DynamoDB stream to Lambda"))
            for stream in streams:
                self.dashboard.add_widgets(*_stream_row(stream))


def _header(title: str, note: str) -> cloudwatch.TextWidget:
    return cloudwatch.TextWidget(markdown=f"## {title}\n{note}", width=DASHBOARD_WIDTH, height=2)


def _graph(
    title: str,
    left: Sequence[cloudwatch.IMetric],
    *,
    width: int,
    label: str,
    annotations: Sequence[cloudwatch.HorizontalAnnotation] = (),
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        left=list(left),
        left_y_axis=cloudwatch.YAxisProps(min=0, label=label, show_units=False),
        left_annotations=list(annotations),
        width=width,
        height=GRAPH_HEIGHT,
    )


def _dynamodb(
    metric_name: str, dimensions: dict[str, str], statistic: str, label: str
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/DynamoDB",
        metric_name=metric_name,
        dimensions_map=dimensions,
        statistic=statistic,
        label=label,
    )


def _user_errors() -> cloudwatch.GraphWidget:
    # UserErrors (HTTP 400s other than throttling and failed conditions) has no TableName
    # dimension: one series for the account and region, not one per table.
    return _graph(
        "DynamoDB UserErrors (every table of the account in this region)",
        [_dynamodb("UserErrors", {}, "Sum", "UserErrors")],
        width=DASHBOARD_WIDTH,
        label="requests",
    )


def _table_row(spec: TableSpec) -> list[cloudwatch.IWidget]:
    """Read capacity, write capacity, throttles, latency and system errors of one table."""
    name = spec.table_name
    scopes: list[tuple[str, dict[str, str]]] = [("table", {"TableName": name})]
    scopes += [
        (index.name, {"TableName": name, "GlobalSecondaryIndexName": index.name})
        for index in spec.global_indexes
    ]
    provisioned = spec.capacity is not None
    capacity: list[cloudwatch.IWidget] = []
    for kind in ("Read", "Write"):
        lines: list[cloudwatch.IMetric] = []
        for number, (label, dimensions) in enumerate(scopes):
            consumed = _dynamodb(
                f"Consumed{kind}CapacityUnits", dimensions, "Sum", f"{label} consumed"
            )
            # Consumed is a sum per period; per second it compares with provisioned units.
            lines.append(
                cloudwatch.MathExpression(
                    expression=f"consumed{number} / PERIOD(consumed{number})",
                    using_metrics={f"consumed{number}": consumed},
                    label=f"{label} consumed",
                )
            )
            if provisioned:
                lines.append(
                    _dynamodb(
                        f"Provisioned{kind}CapacityUnits",
                        dimensions,
                        "Average",
                        f"{label} provisioned",
                    )
                )
        capacity.append(_graph(f"{name}: {kind.lower()} capacity", lines, width=6, label="units/s"))
    throttles = [
        _dynamodb(f"{kind}ThrottleEvents", dimensions, "Sum", f"{label} {kind.lower()}")
        for label, dimensions in scopes
        for kind in ("Read", "Write")
    ]
    latency = [
        _dynamodb(
            "SuccessfulRequestLatency",
            {"TableName": name, "Operation": operation},
            "Average",
            operation,
        )
        for operation in LATENCY_OPERATIONS
    ]
    system_errors = {
        f"errors{number}": _dynamodb(
            "SystemErrors",
            {"TableName": name, "Operation": operation.value},
            "Sum",
            operation.value,
        )
        for number, operation in enumerate(WATCHED_OPERATIONS)
    }
    return [
        *capacity,
        _graph(f"{name}: throttle events", throttles, width=4, label="requests"),
        _graph(f"{name}: latency (average)", latency, width=4, label="ms"),
        _graph(
            f"{name}: SystemErrors",
            [
                cloudwatch.MathExpression(
                    # SUM over the series: "a + b" is empty when one operation is idle.
                    expression=f"SUM([{', '.join(system_errors)}])",
                    using_metrics=system_errors,
                    label="SystemErrors (all operations)",
                )
            ],
            width=4,
            label="requests",
        ),
    ]


def _function_row(watched: WatchedFunction) -> list[cloudwatch.IWidget]:
    """Invocations and errors, duration, throttles and concurrency of one function."""
    function = watched.function
    name = watched.name
    return [
        _graph(
            f"{name}: invocations and errors",
            [
                function.metric_invocations(label="Invocations"),
                function.metric_errors(label="Errors", color=cloudwatch.Color.RED),
            ],
            width=6,
            label="count",
        ),
        _graph(
            f"{name}: duration",
            [
                function.metric_duration(statistic="p50", label="p50"),
                function.metric_duration(statistic="p99", label="p99"),
            ],
            width=6,
            label="ms",
            annotations=[
                cloudwatch.HorizontalAnnotation(
                    value=watched.timeout_s * 1000, label="timeout", color=cloudwatch.Color.RED
                )
            ],
        ),
        _graph(
            f"{name}: throttles",
            [function.metric_throttles(label="Throttles")],
            width=6,
            label="count",
        ),
        _graph(
            f"{name}: concurrent executions",
            [function.metric("ConcurrentExecutions", statistic="Maximum", label="Maximum")],
            width=6,
            label="executions",
            annotations=[
                cloudwatch.HorizontalAnnotation(
                    value=watched.reserved_concurrency, label="reserved concurrency"
                )
            ],
        ),
    ]


def _stream_row(stream: WatchedStream) -> list[cloudwatch.IWidget]:
    """How far the mapping lags behind its stream, and what it gave up on."""
    name = stream.function.name
    annotations = (
        [
            cloudwatch.HorizontalAnnotation(
                value=stream.iterator_age_alarm_s * 1000,
                label="iterator-age alarm",
                color=cloudwatch.Color.RED,
            )
        ]
        if stream.iterator_age_alarm_s is not None
        else []
    )
    return [
        _graph(
            f"{name}: iterator age (age of the newest record of a batch)",
            [stream.function.function.metric("IteratorAge", statistic="Maximum", label="Maximum")],
            width=12,
            label="ms",
            annotations=annotations,
        ),
        _graph(
            f"{name}: records given up on (on-failure queue)",
            [
                stream.failure_queue.metric_approximate_number_of_messages_visible(
                    statistic="Maximum", label="messages waiting"
                )
            ],
            width=12,
            label="messages",
        ),
    ]
