"""Install and stop every part of the local cloud beside moto."""

from __future__ import annotations

from localcloud import cfn, cfn_tables, dynamodb, lambda_runner, streams
from localcloud.patches import PatchSet
from localcloud.settings import Settings

_installed: list[PatchSet] = []


def install(settings: Settings) -> dynamodb.DynamoDBService:
    """Start the DynamoDB engine; install the CloudFormation fixes, Lambda runner, poller."""
    engine = dynamodb.install(log_path=settings.state_dir / f"dynamodb-local-{settings.port}.log")
    cfn.PATCHES.install()
    cfn_tables.PATCHES.install()
    lambda_runner.install(settings)
    streams.install(settings)
    _installed[:] = [cfn.PATCHES, cfn_tables.PATCHES, lambda_runner.PATCHES, streams.PATCHES]
    return engine


def installed_names() -> list[str]:
    """Names of the installed overrides, for the health endpoint."""
    return [name for patch_set in _installed for name in patch_set.names()]


def shutdown() -> None:
    """Stop background threads, worker processes and the engine."""
    streams.uninstall()
    lambda_runner.uninstall()
    dynamodb.uninstall()
