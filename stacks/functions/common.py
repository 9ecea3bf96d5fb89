"""What every function construct shares: the stage's function options and index grants."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from stacks.config import StageConfig
from stacks.constructs.conventions import log_retention
from stacks.constructs.lambda_code import HOT_RELOAD_SOURCE


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
