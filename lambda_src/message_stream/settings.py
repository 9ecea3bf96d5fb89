"""The message-stream function's environment, validated once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from common import env

from datamodel.functions import MessageStreamEnv


@dataclass(frozen=True)
class Settings:
    """`MESSAGES_TABLE`, `MESSAGE_GROUP_INDEX` and `STAGE`."""

    table: str
    group_index: str
    stage: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read the settings; `EnvironmentConfigError` names the first missing variable."""
        return cls(
            table=env.table_name(environ, MessageStreamEnv.TABLE),
            group_index=env.table_name(environ, MessageStreamEnv.GROUP_INDEX),
            stage=env.stage(environ),
        )
