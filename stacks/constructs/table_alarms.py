"""CloudWatch alarms for one table: throttled requests and DynamoDB system errors."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns
from constructs import Construct

# Operations whose SystemErrors are watched. A metric-math alarm takes at most 10 metrics.
WATCHED_OPERATIONS = (
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.UPDATE_ITEM,
    dynamodb.Operation.DELETE_ITEM,
    dynamodb.Operation.QUERY,
    dynamodb.Operation.SCAN,
    dynamodb.Operation.BATCH_GET_ITEM,
    dynamodb.Operation.BATCH_WRITE_ITEM,
    dynamodb.Operation.TRANSACT_WRITE_ITEMS,
)


class TableAlarms(Construct):
    """Alarm when a table throttles requests or returns system errors (5xx) in a 5-minute window.

    Throttling sums `ReadThrottleEvents` + `WriteThrottleEvents` of the table and of each
    GSI (CloudWatch reports a GSI's throttling under its own `GlobalSecondaryIndexName`
    dimension, not the table's); system errors sum `SystemErrors` over `WATCHED_OPERATIONS`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        table_name: str,
        global_index_names: tuple[str, ...] = (),
        topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(5)
        throttle_metrics: dict[str, cloudwatch.IMetric] = {}
        scopes: list[dict[str, str]] = [{"TableName": table_name}]
        scopes += [
            {"TableName": table_name, "GlobalSecondaryIndexName": i} for i in global_index_names
        ]
        for number, dimensions in enumerate(scopes):
            for kind in ("Read", "Write"):
                throttle_metrics[f"{kind.lower()}{number}"] = cloudwatch.Metric(
                    namespace="AWS/DynamoDB",
                    metric_name=f"{kind}ThrottleEvents",
                    dimensions_map=dimensions,
                    statistic="Sum",
                    period=period,
                )
        throttles = cloudwatch.MathExpression(
            # SUM over the series adds whatever datapoints exist; "a + b" would be empty
            # whenever one of them (an idle index) has no datapoint.
            expression=f"SUM([{', '.join(throttle_metrics)}])",
            using_metrics=throttle_metrics,
            label=f"{table_name} throttle events",
            period=period,
        )
        system_errors = table.metric_system_errors_for_operations(
            operations=list(WATCHED_OPERATIONS), period=period
        )
        self.throttle_alarm = self._any_in_five_minutes(
            "ThrottleAlarm",
            name=f"{table_name}-throttled-requests",
            description=f"{table_name}: requests were throttled in the last 5 minutes",
            metric=throttles,
        )
        self.system_errors_alarm = self._any_in_five_minutes(
            "SystemErrorsAlarm",
            name=f"{table_name}-system-errors",
            description=f"{table_name}: DynamoDB returned system errors (HTTP 500)",
            metric=system_errors,
        )
        if topic is not None:
            for alarm in (self.throttle_alarm, self.system_errors_alarm):
                alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))

    def _any_in_five_minutes(
        self, construct_id: str, *, name: str, description: str, metric: cloudwatch.IMetric
    ) -> cloudwatch.Alarm:
        """An alarm that fires on a single event in one 5-minute period; silence is fine."""
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=name,
            alarm_description=description,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
