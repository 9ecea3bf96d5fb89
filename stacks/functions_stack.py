"""The stateless stack: the three functions, the stream subscription, the grants and the
stage's monitoring (dashboard, stream alarm)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.config import (
    EMAIL_INDEX,
    MESSAGE_GROUP_INDEX,
    MESSAGE_STREAM_FILTER,
    StageConfig,
    TableSpec,
)
from stacks.constructs.dashboard import StageDashboard, WatchedFunction, WatchedStream
from stacks.constructs.dax import DaxCluster
from stacks.constructs.function import PythonFunction
from stacks.constructs.lambda_code import HOT_RELOAD_SOURCE, lambda_code
from stacks.constructs.queues import failure_queue
from stacks.constructs.stream_alarms import StreamAlarms
from stacks.data_stack import log_retention, pascal_case
from stacks.nag import acknowledge_table_key_actions

# Exactly what each handler calls (lambda_src/README.md), and nothing more. user-manager:
# seed 003's six actions plus BatchGetItem for BATCH_GET; its TransactWriteItems calls
# (CREATE, UPDATE, DELETE, BATCH_CREATE) are authorized as their Put/Update/Delete parts.
# Index access is granted index by index, never `<table>/index/*`: user-manager queries only
# EmailIndex (`find_by_email`, lambda_src/user_manager/repository.py).
USER_MANAGER_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
)
USER_MANAGER_INDEXES = (EMAIL_INDEX,)
USER_MANAGER_INDEX_ACTIONS = ("dynamodb:Query",)
# The stream processor re-reads a group row (Query on the table), finds a group's rows
# (Query on the GSI) and moves a row's `sk`, a key, with a Delete + Put transaction.
MESSAGE_STREAM_TABLE_ACTIONS = ("dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem")
MESSAGE_STREAM_INDEXES = (MESSAGE_GROUP_INDEX,)
MESSAGE_STREAM_INDEX_ACTIONS = ("dynamodb:Query",)
TASKS_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan")
TASKS_DAX_ACTIONS = ("dax:GetItem", "dax:PutItem", "dax:Scan")


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
        code = lambda_code(with_dependencies=config.bundle_dependencies)
        common: dict[str, Any] = {
            "code": code,
            "memory_mb": config.lambda_memory_mb,
            "timeout_s": config.lambda_timeout_s,
            "log_retention": log_retention(config.log_retention_days),
            "retain_logs": config.retain_data,
            "hot_reload_source": HOT_RELOAD_SOURCE if config.hot_reload else None,
        }
        users = self._table(config.table("users"))
        messages = self._table(config.table("messages"), stream_arn=messages_stream_arn)
        tasks = self._table(config.table("tasks"))

        users_spec = config.table("users")
        users_environment = {
            "STAGE": config.name,
            "USERS_TABLE": users_spec.table_name,
            "EMAIL_INDEX": EMAIL_INDEX,
        }
        if users_spec.ttl_attribute:
            # CREATE's expiresInDays writes the table's TTL attribute.
            users_environment["USERS_TTL_ATTRIBUTE"] = users_spec.ttl_attribute
        self.user_manager = PythonFunction(
            self,
            "UserManager",
            function_name=config.functions.user_manager,
            handler="user_manager.handler.lambda_handler",
            description="Users CRUD, batch and email lookup (EmailIndex)",
            environment=users_environment,
            reserved_concurrency=config.reserved_concurrency.user_manager,
            **common,
        )
        users.grant(self.user_manager.role, *USER_MANAGER_ACTIONS)
        grant_on_indexes(
            self.user_manager.role, users, USER_MANAGER_INDEXES, USER_MANAGER_INDEX_ACTIONS
        )

        self.message_stream = PythonFunction(
            self,
            "MessageStream",
            function_name=config.functions.message_stream,
            handler="message_stream.handler.lambda_handler",
            description="Moves a message group's row to its newest message (messages stream)",
            environment={
                "STAGE": config.name,
                "MESSAGES_TABLE": config.table("messages").table_name,
                "MESSAGE_GROUP_INDEX": MESSAGE_GROUP_INDEX,
            },
            wildcard_reasons=(
                "dynamodb:ListStreams (read by the stream event source mapping) does not "
                "support resource-level permissions.",
            ),
            reserved_concurrency=config.reserved_concurrency.message_stream,
            **common,
        )
        messages.grant(self.message_stream.role, *MESSAGE_STREAM_TABLE_ACTIONS)
        grant_on_indexes(
            self.message_stream.role, messages, MESSAGE_STREAM_INDEXES, MESSAGE_STREAM_INDEX_ACTIONS
        )
        self.stream_failures = failure_queue(
            self,
            "MessageStreamFailures",
            holds="messages-stream records the stream processor failed after all retries",
        )
        processing = config.stream_processing
        self.message_stream.function.add_event_source(
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
                on_failure=event_sources.SqsDlq(self.stream_failures),
            )
        )

        tasks_environment = {"STAGE": config.name, "TASKS_TABLE": config.table("tasks").table_name}
        if dax is not None:
            tasks_environment["DAX_ENDPOINT"] = dax.endpoint_url
        self.tasks = PythonFunction(
            self,
            "Tasks",
            function_name=config.functions.tasks,
            handler="tasks.handler.lambda_handler",
            description="TaskService: add, get and list tasks"
            + (" through DAX" if dax is not None else ""),
            environment=tasks_environment,
            vpc=dax.vpc if dax is not None else None,
            security_groups=[dax.client_security_group] if dax is not None else None,
            reserved_concurrency=config.reserved_concurrency.tasks,
            **common,
        )
        if dax is not None:
            dax.grant(self.tasks.role, *TASKS_DAX_ACTIONS)
        else:
            tasks.grant(self.tasks.role, *TASKS_TABLE_ACTIONS)

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


def grant_on_indexes(
    grantee: iam.IGrantable,
    table: dynamodb.ITable,
    index_names: Sequence[str],
    actions: Sequence[str],
) -> iam.Grant:
    """Allow `grantee` `actions` on the named indexes of `table`, and on no other index."""
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=list(actions),
        resource_arns=[f"{table.table_arn}/index/{name}" for name in index_names],
    )
