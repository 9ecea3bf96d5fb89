"""What every function construct shares: the context it is built from, the stage's function
options and index grants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from datamodel.functions import FunctionSpec
from stacks.config import StageConfig
from stacks.constructs.conventions import log_retention
from stacks.constructs.dax import DaxCluster
from stacks.constructs.function import PythonFunction
from stacks.constructs.lambda_code import HOT_RELOAD_SOURCE


@dataclass(frozen=True)
class FunctionContext:
    """What `FunctionsStack` hands the construct of function `spec`: the stage, the options
    every function takes (`function_options`), the tables by key (with their stream ARN
    where the data stack passes it) and the DAX cluster, if the stage has one."""

    spec: FunctionSpec
    config: StageConfig
    options: Mapping[str, Any]
    tables: Mapping[str, dynamodb.ITable]
    dax: DaxCluster | None

    @property
    def function_name(self) -> str:
        """The function's physical name on this stage."""
        return self.config.functions[self.spec.key]

    @property
    def reserved_concurrency(self) -> int:
        """The executions this stage reserves for the function."""
        return self.config.reserved_concurrency[self.spec.key]


class FunctionConstruct(Protocol):
    """What `stacks/functions/<key>.py` exports as `CONSTRUCT`: it builds the function."""

    def __call__(self, scope: Construct, context: FunctionContext) -> PythonFunction: ...


class StreamConsumer(PythonFunction):
    """A function fed by a stream event source mapping: the stack alarms on its iterator age
    and draws the mapping with `failures`, the mapping's on-failure queue."""

    failures: sqs.IQueue


def function_options(config: StageConfig, code: lambda_.Code) -> dict[str, Any]:
    """The `PythonFunction` arguments every function of `config`'s stage takes."""
    return {
        "code": code,
        "memory_mb": config.lambda_memory_mb,
        "timeout_s": config.lambda_timeout_s,
        "log_retention": log_retention(config.log_retention_days),
        "retain_logs": config.retain_data,
        "hot_reload_source": HOT_RELOAD_SOURCE if config.hot_reload else None,
    }


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
