"""Install and stop every moto extension of the local cloud."""

from __future__ import annotations

from localcloud import cfn, dynamodb, lambda_runner, streams
from localcloud.patches import PatchSet
from localcloud.settings import Settings

_installed: list[PatchSet] = []


def install(settings: Settings) -> None:
    """Install the CloudFormation fixes, DynamoDB write lock, Lambda runner and stream poller."""
    cfn.PATCHES.install()
    dynamodb.PATCHES.install()
    lambda_runner.install(settings)
    streams.install(settings)
    _installed[:] = [cfn.PATCHES, dynamodb.PATCHES, lambda_runner.PATCHES, streams.PATCHES]


def installed_names() -> list[str]:
    """Names of the installed overrides, for the health endpoint."""
    return [name for patch_set in _installed for name in patch_set.names()]


def shutdown() -> None:
    """Stop background threads and worker processes."""
    streams.uninstall()
    lambda_runner.uninstall()
