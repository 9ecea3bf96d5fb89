"""CloudWatch alarm for a stream event source mapping: the function falling behind its stream."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct


class StreamAlarms(Construct):
    """Alarm when `function`'s stream mapping reads records older than `max_iterator_age_s`.

    Lambda's `IteratorAge` is the age, in milliseconds, of the last record of each batch it
    read: the Maximum of a minute above the threshold means the function is that far behind
    (slow, throttled or retrying a failing batch), and records past the mapping's maximum
    record age are discarded. No data (no batches) is not lag.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        function_name: str,
        max_iterator_age_s: int,
        topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.iterator_age_alarm = cloudwatch.Alarm(
            self,
            "IteratorAgeAlarm",
            alarm_name=f"{function_name}-iterator-age",
            alarm_description=(
                f"{function_name} is more than {max_iterator_age_s} s behind its stream "
                "(IteratorAge, Maximum of a minute)"
            ),
            metric=function.metric("IteratorAge", statistic="Maximum", period=Duration.minutes(1)),
            threshold=max_iterator_age_s * 1000,  # IteratorAge is in milliseconds
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if topic is not None:
            self.iterator_age_alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
