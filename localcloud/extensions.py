"""Install and stop every part of the local cloud beside moto."""

from __future__ import annotations

from dataclasses import dataclass

from localcloud import (
    cfn,
    cfn_apigateway,
    cfn_sns,
    cfn_tables,
    cfn_types,
    custom_resources,
    dynamodb,
    events,
    iam,
    lambda_runner,
    s3_notifications,
    state,
    stepfunctions,
    streams,
    ttl,
)
from localcloud.patches import PatchSet
from localcloud.settings import Settings

_installed: list[PatchSet] = []
_persister: state.Persister | None = None


@dataclass(frozen=True)
class Installed:
    """What the server needs of the installed parts."""

    dynamodb: dynamodb.DynamoDBService
    # moto requests hold its shared side; a state capture its exclusive side.
    requests: state.RequestLock
    # The state writer, when the server persists.
    persister: state.Persister | None


def _open_data_dir(settings: Settings) -> tuple[state.DataDir, dict[str, object] | None]:
    """Lock and check the data directory and read its snapshot before anything starts."""
    data_dir = state.DataDir(settings.data_dir)
    data_dir.open()
    try:
        return data_dir, data_dir.read_snapshot()
    except state.StateError:
        data_dir.close()
        raise


def install(settings: Settings) -> Installed:
    """Start the DynamoDB engine; install the CloudFormation fixes, the IAM authorizer, the
    Lambda runner, poller, TTL sweeper; when persisting, restore the last state and start
    writing it."""
    global _persister
    requests = state.RequestLock()
    data_dir, snapshot = _open_data_dir(settings) if settings.persist else (None, None)
    engine = dynamodb.install(
        db_path=data_dir.engine_dir if data_dir is not None else None,
        log_path=settings.state_dir / f"dynamodb-local-{settings.port}.log",
    )
    cfn.PATCHES.install()
    cfn_tables.PATCHES.install()
    cfn_types.PATCHES.install()
    cfn_apigateway.install()
    custom_resources.PATCHES.install()
    s3_notifications.install(settings)
    cfn_sns.install(settings)
    stepfunctions.install(settings)
    iam.install(settings.iam_mode)
    lambda_runner.install(settings)
    poller = streams.install(settings)
    ttl.install(settings, engine.client, on_delete=poller.notify)
    events.install(settings, requests)
    _installed[:] = [
        cfn.PATCHES,
        cfn_tables.PATCHES,
        cfn_types.PATCHES,
        custom_resources.PATCHES,
        s3_notifications.PATCHES,
        cfn_sns.PATCHES,
        stepfunctions.PATCHES,
        lambda_runner.PATCHES,
        streams.PATCHES,
        events.PATCHES,
    ]
    if data_dir is not None:
        _persister = state.Persister(data_dir, settings.snapshot_interval_s, requests)
        _persister.add(state.Part("table_extras", engine.extras.export, engine.extras.restore))
        _persister.add(state.Part("stream_checkpoints", poller.export, poller.restore))
        if snapshot is not None:
            _persister.restore(snapshot)
        _persister.start()
    return Installed(dynamodb=engine, requests=requests, persister=_persister)


def installed_names() -> list[str]:
    """Names of the installed overrides, for the health endpoint."""
    return [name for patch_set in _installed for name in patch_set.names()]


def shutdown() -> None:
    """Stop background threads, write the last state, stop workers and the engine.

    The stream poller stops (finishing its batches in flight) before the last state is
    written, so its checkpoints are final.
    """
    global _persister
    ttl.uninstall()
    events.uninstall()
    streams.uninstall()
    if _persister is not None:
        persister, _persister = _persister, None
        try:
            persister.stop()
        finally:
            persister.data_dir.close()
    lambda_runner.uninstall()
    s3_notifications.PATCHES.uninstall()
    cfn_sns.PATCHES.uninstall()
    custom_resources.PATCHES.uninstall()
    iam.uninstall()
    dynamodb.uninstall()
