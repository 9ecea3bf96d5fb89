"""The local cloud's DynamoDB: the supervised engine and what is kept beside it.

`install()` starts DynamoDB Local (`localcloud.engine`) and the table extras once per
server; the front door, the CloudFormation table resources and the stream poller reach them
through `service()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from localcloud.engine import Engine, EngineClient
from localcloud.table_extras import TableExtras


@dataclass
class DynamoDBService:
    """The engine process, a client of it, and the tags/PITR it lacks."""

    engine: Engine
    extras: TableExtras

    @property
    def client(self) -> EngineClient:
        return self.engine.client


_service: DynamoDBService | None = None


def install(*, db_path: Path | None = None, log_path: Path | None = None) -> DynamoDBService:
    """Start the engine (idempotent) and return the service."""
    global _service
    if _service is None:
        engine = Engine(db_path=db_path, log_path=log_path)
        engine.start()
        _service = DynamoDBService(engine=engine, extras=TableExtras(engine.client))
    return _service


def service() -> DynamoDBService:
    """The installed service; `RuntimeError` before `install()`."""
    if _service is None:
        raise RuntimeError("the local cloud's DynamoDB engine is not installed")
    return _service


def uninstall() -> None:
    """Stop the engine."""
    global _service
    if _service is not None:
        _service.engine.stop()
        _service = None
