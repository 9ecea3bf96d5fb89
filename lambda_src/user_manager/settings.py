"""The user-manager's environment, validated once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from common import env

from datamodel.functions import UserManagerEnv
from datamodel.uniqueness import DEFAULT_TTL_ATTRIBUTE


@dataclass(frozen=True)
class Settings:
    """`USERS_TABLE`, `EMAIL_INDEX`, `STAGE`; optional `USERS_TTL_ATTRIBUTE`."""

    table: str
    email_index: str
    stage: str
    ttl_attribute: str = DEFAULT_TTL_ATTRIBUTE

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read the settings; `EnvironmentConfigError` names the first missing variable."""
        return cls(
            table=env.table_name(environ, UserManagerEnv.TABLE),
            email_index=env.table_name(environ, UserManagerEnv.EMAIL_INDEX),
            stage=env.stage(environ),
            ttl_attribute=env.optional(environ, UserManagerEnv.TTL_ATTRIBUTE)
            or DEFAULT_TTL_ATTRIBUTE,
        )
