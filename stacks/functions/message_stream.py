"""message-stream: subscribed to the messages stream, moves a group's rows to its newest
message."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from datamodel.entities import MESSAGE_STREAM_FILTER
from datamodel.functions import STAGE, MessageStreamEnv
from datamodel.tables import MESSAGE_GROUP_INDEX
from stacks.constructs.queues import failure_queue
from stacks.functions.common import (
    FunctionConstruct,
    FunctionContext,
    StreamConsumer,
    grant_on_indexes,
)

# The stream processor re-reads a group row (Query on the table), finds a group's rows
# (Query on the GSI) and moves a row's `sk`, a key, with a Delete + Put transaction.
TABLE_ACTIONS = ("dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem")
INDEXES = (MESSAGE_GROUP_INDEX,)
INDEX_ACTIONS = ("dynamodb:Query",)


class MessageStreamFunction(StreamConsumer):
    """message-stream with its event source mapping and its on-failure queue.

    The queue (`failures`) is built in `scope`, beside the function, as it always was.
    """

    def __init__(self, scope: Construct, context: FunctionContext) -> None:
        config = context.config
        super().__init__(
            scope,
            "MessageStream",
            function_name=context.function_name,
            handler=context.spec.handler,
            description="Moves a message group's row to its newest message (messages stream)",
            environment={
                STAGE: config.name,
                MessageStreamEnv.TABLE: config.table("messages").table_name,
                MessageStreamEnv.GROUP_INDEX: MESSAGE_GROUP_INDEX,
            },
            wildcard_reasons=(
                "dynamodb:ListStreams (read by the stream event source mapping) does not "
                "support resource-level permissions.",
            ),
            reserved_concurrency=context.reserved_concurrency,
            **context.options,
        )
        messages = context.tables["messages"]  # with the stream ARN the data stack exports
        messages.grant(self.role, *TABLE_ACTIONS)
        grant_on_indexes(self.role, messages, INDEXES, INDEX_ACTIONS)
        self.failures = failure_queue(
            scope,
            "MessageStreamFailures",
            holds="messages-stream records the stream processor failed after all retries",
        )
        processing = config.stream_processing
        self.function.add_event_source(
            event_sources.DynamoEventSource(
                messages,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=processing.batch_size,
                parallelization_factor=processing.parallelization_factor,
                bisect_batch_on_error=processing.bisect_on_error,
                retry_attempts=processing.retry_attempts,
                max_record_age=Duration.seconds(processing.max_record_age_s),
                report_batch_item_failures=True,
                filters=[lambda_.FilterCriteria.filter(MESSAGE_STREAM_FILTER)],
                on_failure=event_sources.SqsDlq(self.failures),
            )
        )


CONSTRUCT: FunctionConstruct = MessageStreamFunction
