"""Compose the backend's stacks for one stage: the only place stacks are wired together."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Environment, Tags
from constructs import Construct

from stacks.config import StageConfig
from stacks.data_stack import DataStack
from stacks.functions_stack import FunctionsStack
from stacks.nag import apply_nag_checks


@dataclass(frozen=True)
class Backend:
    """The stacks of one stage."""

    data: DataStack
    functions: FunctionsStack


def build_backend(scope: Construct, config: StageConfig, *, nag: bool | None = None) -> Backend:
    """Add the stateful and stateless stacks of `config` to `scope` (an `App`).

    `nag` runs the cdk-nag packs in synth; by default the stage decides (`nag_on_synth`).

    The environment names only the region: the account stays unresolved, so synth never asks
    AWS for anything (no credentials needed) and the same template deploys to any account.
    """
    config.validate()
    env = Environment(region=config.region)
    data = DataStack(
        scope,
        f"{config.stack_prefix}-data",
        config=config,
        env=env,
        description=f"DynamoDB tables{' and DAX' if config.dax.enabled else ''} ({config.name})",
        termination_protection=config.deletion_protection,
    )
    functions = FunctionsStack(
        scope,
        f"{config.stack_prefix}-functions",
        config=config,
        messages_stream_arn=data.tables["messages"].table_stream_arn or "",
        encryption_key=data.encryption_key,
        dax=data.dax,
        env=env,
        description=f"Lambda functions over the DynamoDB tables ({config.name})",
    )
    # Tables are referenced by name, so the ordering must be said explicitly.
    functions.add_stack_dependency(data)
    for stack in (data, functions):
        Tags.of(stack).add("project", "dynamo-backend")
        Tags.of(stack).add("stage", config.name)
    if config.nag_on_synth if nag is None else nag:
        apply_nag_checks(scope)
    return Backend(data=data, functions=functions)
