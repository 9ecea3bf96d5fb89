"""A fourth function, declared and built only by the tests: its `FunctionSpec` and the
module `stacks/functions/message_audit.py` would hold, stream consumer included.

`tests/infrastructure/test_function_registry.py` adds `MESSAGE_AUDIT` to `FUNCTIONS` and
registers this module as `stacks.functions.message_audit`, and nothing else.
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from datamodel.functions import STAGE, FunctionSpec
from stacks.constructs.queues import failure_queue
from stacks.functions.common import FunctionConstruct, FunctionContext, StreamConsumer

MESSAGE_AUDIT = FunctionSpec(
    "message_audit", "message-audit", "message_audit.handler.lambda_handler"
)


class MessageAuditFunction(StreamConsumer):
    """message-audit: subscribed to the messages stream, as a second consumer would be."""

    def __init__(self, scope: Construct, context: FunctionContext) -> None:
        super().__init__(
            scope,
            "MessageAudit",
            function_name=context.function_name,
            handler=context.spec.handler,
            description="Records every change of the messages table (tests only)",
            environment={STAGE: context.config.name},
            wildcard_reasons=(
                "dynamodb:ListStreams (read by the stream event source mapping) does not "
                "support resource-level permissions.",
            ),
            reserved_concurrency=context.reserved_concurrency,
            **context.options,
        )
        self.failures = failure_queue(
            scope, "MessageAuditFailures", holds="messages-stream records the audit gave up on"
        )
        self.function.add_event_source(
            event_sources.DynamoEventSource(
                context.tables["messages"],
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                on_failure=event_sources.SqsDlq(self.failures),
            )
        )


CONSTRUCT: FunctionConstruct = MessageAuditFunction
