"""The stateless stack: the functions (one construct each, `stacks/functions/`), their
table references and key grants, and the stage's monitoring (dashboard, stream alarm)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from datamodel.tables import TableSpec
from stacks.config import StageConfig
from stacks.constructs.conventions import pascal_case
from stacks.constructs.dashboard import StageDashboard, WatchedFunction, WatchedStream
from stacks.constructs.dax import DaxCluster
from stacks.constructs.function import PythonFunction
from stacks.constructs.lambda_code import lambda_code
from stacks.constructs.stream_alarms import StreamAlarms
from stacks.functions.common import function_options
from stacks.functions.message_stream import MessageStreamFunction
from stacks.functions.tasks import TasksFunction
from stacks.functions.user_manager import UserManagerFunction
from stacks.nag import acknowledge_table_key_actions


class FunctionsStack(Stack):
    """user-manager, message-stream and tasks, each granted only what its handler calls.

    Tables are referenced by their physical names from the stage config, so the only value
    imported from the data stack is the messages stream ARN (and the table key and DAX
    resources when those are enabled). The dashboard, too, addresses the tables by name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        messages_stream_arn: str,
        encryption_key: kms.IKey | None,
        dax: DaxCluster | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self._encryption_key = encryption_key
        options = function_options(
            config, lambda_code(with_dependencies=config.bundle_dependencies)
        )
        users = self._table(config.table("users"))
        messages = self._table(config.table("messages"), stream_arn=messages_stream_arn)
        tasks = self._table(config.table("tasks"))
        self.user_manager = UserManagerFunction(self, config=config, users=users, options=options)
        self.message_stream = MessageStreamFunction(
            self, config=config, messages=messages, options=options
        )
        self.stream_failures = self.message_stream.failures
        self.tasks = TasksFunction(self, config=config, tasks=tasks, dax=dax, options=options)

        for function in (self.user_manager, self.message_stream, self.tasks):
            self._grant_table_key(function)
            CfnOutput(
                self,
                f"{function.node.id}FunctionName",
                value=function.function.function_name,
                description=f"Name of the {function.node.id} function",
            )
        self._monitor(config)

    def _monitor(self, config: StageConfig) -> None:
        """The stage's dashboard (`config.dashboard`) and stream alarm (`config.alarms`)."""
        if config.alarms:
            topic = (
                sns.Topic.from_topic_arn(self, "AlarmTopic", config.alarm_topic_arn)
                if config.alarm_topic_arn
                else None
            )
            StreamAlarms(
                self,
                "MessageStreamAlarms",
                function=self.message_stream.function,
                function_name=config.functions.message_stream,
                max_iterator_age_s=config.stream_processing.iterator_age_alarm_s,
                topic=topic,
            )
        if not config.dashboard:
            return
        names, reserved = config.functions, config.reserved_concurrency
        user_manager, message_stream, tasks = (
            WatchedFunction(
                name=name,
                function=function.function,
                reserved_concurrency=concurrency,
                timeout_s=config.lambda_timeout_s,
            )
            for function, name, concurrency in (
                (self.user_manager, names.user_manager, reserved.user_manager),
                (self.message_stream, names.message_stream, reserved.message_stream),
                (self.tasks, names.tasks, reserved.tasks),
            )
        )
        StageDashboard(
            self,
            "Dashboard",
            dashboard_name=config.stack_prefix,
            tables=config.tables,
            functions=(user_manager, message_stream, tasks),
            streams=[
                WatchedStream(
                    function=message_stream,
                    failure_queue=self.stream_failures,
                    iterator_age_alarm_s=(
                        config.stream_processing.iterator_age_alarm_s if config.alarms else None
                    ),
                )
            ],
        )

    def _grant_table_key(self, function: PythonFunction) -> None:
        """With customer-managed table encryption, the function also needs the key."""
        if self._encryption_key is None:
            return
        self._encryption_key.grant_encrypt_decrypt(function.role)
        acknowledge_table_key_actions(function.role)

    def _table(self, spec: TableSpec, *, stream_arn: str | None = None) -> dynamodb.ITable:
        """The data stack's table, referenced by its physical name (no cross-stack export).

        Its indexes are left undeclared on purpose: a table that knows it has indexes adds
        `<table>/index/*` to every grant, and each function gets only the indexes it queries
        (`grant_on_indexes`).
        """
        return dynamodb.Table.from_table_attributes(
            self,
            f"{pascal_case(spec.key)}Table",
            table_name=spec.table_name,
            table_stream_arn=stream_arn,
            encryption_key=self._encryption_key,
        )
