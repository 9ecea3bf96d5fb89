"""The tasks function's environment, validated once per container."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from common import env

from datamodel.functions import TasksEnv

# Only the TLS port of the cluster is open, so only the encrypted scheme can connect.
_DAX_ENDPOINT = re.compile(r"daxs://[A-Za-z0-9.-]+(?::\d{1,5})?")


@dataclass(frozen=True)
class Settings:
    """`TASKS_TABLE`, `STAGE`, and `DAX_ENDPOINT` when the stage enables DAX."""

    table: str
    stage: str
    dax_endpoint: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read the settings; `EnvironmentConfigError` names the first bad variable."""
        dax_endpoint = env.optional(environ, TasksEnv.DAX_ENDPOINT)
        if dax_endpoint is not None and not _DAX_ENDPOINT.fullmatch(dax_endpoint):
            raise env.EnvironmentConfigError(
                f"environment variable DAX_ENDPOINT={dax_endpoint!r} must be a cluster "
                "discovery endpoint like daxs://my-cluster.abc123.dax-clusters.us-east-1."
                "amazonaws.com"
            )
        return cls(
            table=env.table_name(environ, TasksEnv.TABLE),
            stage=env.stage(environ),
            dax_endpoint=dax_endpoint,
        )
