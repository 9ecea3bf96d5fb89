"""The stateless stack: the functions (one construct each, `stacks/functions/`), their
table references and key grants, and the stage's monitoring (dashboard, stream alarms)."""

from __future__ import annotations

import importlib
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from datamodel import functions as function_specs
from datamodel.functions import FunctionSpec
from datamodel.tables import ConfigError, TableSpec
from stacks import functions as function_constructs
from stacks.config import StageConfig
from stacks.constructs.conventions import pascal_case
from stacks.constructs.dashboard import StageDashboard, WatchedFunction, WatchedStream
from stacks.constructs.dax import DaxCluster
from stacks.constructs.function import PythonFunction
from stacks.constructs.lambda_code import lambda_code
from stacks.constructs.stream_alarms import StreamAlarms
from stacks.functions.common import (
    FunctionConstruct,
    FunctionContext,
    StreamConsumer,
    function_options,
)
from stacks.nag import acknowledge_table_key_actions

# What `stacks/functions/<key>.py` names its construct class.
CONSTRUCT = "CONSTRUCT"


class MissingFunctionConstruct(ConfigError):
    """A declared function whose construct module or `CONSTRUCT` does not exist."""


def function_construct(spec: FunctionSpec) -> FunctionConstruct:
    """The `CONSTRUCT` of `stacks/functions/<key>.py`, which builds `spec`'s function."""
    module_name = f"{function_constructs.__name__}.{spec.key}"
    path = f"stacks/functions/{spec.key}.py"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise  # the module exists; something it imports does not
        raise MissingFunctionConstruct(
            f"function {spec.key!r} (lambda_src/datamodel/functions.py) has no construct: "
            f"create {path} and export its construct class as {CONSTRUCT}"
        ) from None
    construct: FunctionConstruct | None = getattr(module, CONSTRUCT, None)
    if not callable(construct):
        raise MissingFunctionConstruct(
            f"{path} must export the construct class of function {spec.key!r} as {CONSTRUCT}"
        )
    return construct


class FunctionsStack(Stack):
    """One function per `datamodel.functions.FUNCTIONS` entry, each granted only what its
    handler calls, with an output of its name; the dashboard and stream alarms cover them all.

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
        stream_arns = {"messages": messages_stream_arn}
        tables = {
            spec.key: self._table(spec, stream_arn=stream_arns.get(spec.key))
            for spec in config.tables
        }
        # Looked up first, so a missing construct fails before anything is built.
        constructs = [(spec, function_construct(spec)) for spec in function_specs.FUNCTIONS]
        # By function key, in declaration order.
        self.functions: dict[str, PythonFunction] = {
            spec.key: construct(
                self,
                FunctionContext(spec=spec, config=config, options=options, tables=tables, dax=dax),
            )
            for spec, construct in constructs
        }
        for function in self.functions.values():
            self._grant_table_key(function)
            CfnOutput(
                self,
                f"{function.node.id}FunctionName",
                value=function.function.function_name,
                description=f"Name of the {function.node.id} function",
            )
        self._monitor(config)

    def _monitor(self, config: StageConfig) -> None:
        """The stage's dashboard (`config.dashboard`) and stream alarms (`config.alarms`)."""
        consumers = {
            key: function
            for key, function in self.functions.items()
            if isinstance(function, StreamConsumer)
        }
        if config.alarms:
            topic = (
                sns.Topic.from_topic_arn(self, "AlarmTopic", config.alarm_topic_arn)
                if config.alarm_topic_arn
                else None
            )
            for key, consumer in consumers.items():
                StreamAlarms(
                    self,
                    f"{consumer.node.id}Alarms",
                    function=consumer.function,
                    function_name=config.functions[key],
                    max_iterator_age_s=config.stream_processing.iterator_age_alarm_s,
                    topic=topic,
                )
        if not config.dashboard:
            return
        watched = {
            key: WatchedFunction(
                name=config.functions[key],
                function=function.function,
                reserved_concurrency=config.reserved_concurrency[key],
                timeout_s=config.lambda_timeout_s,
            )
            for key, function in self.functions.items()
        }
        StageDashboard(
            self,
            "Dashboard",
            dashboard_name=config.stack_prefix,
            tables=config.tables,
            functions=list(watched.values()),
            streams=[
                WatchedStream(
                    function=watched[key],
                    failure_queue=consumer.failures,
                    iterator_age_alarm_s=(
                        config.stream_processing.iterator_age_alarm_s if config.alarms else None
                    ),
                )
                for key, consumer in consumers.items()
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
