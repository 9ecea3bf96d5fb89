"""Read and validate a function's environment variables once per container."""

from __future__ import annotations

import re
from collections.abc import Mapping

from datamodel.functions import STAGE

_STAGE = re.compile(r"[a-z][a-z0-9-]{0,31}")
_TABLE_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}")


class EnvironmentConfigError(RuntimeError):
    """The function is deployed without a setting it needs; the message names the variable."""


def required(environ: Mapping[str, str], name: str) -> str:
    """The non-blank value of `name`, or `EnvironmentConfigError` naming it."""
    value = environ.get(name, "").strip()
    if not value:
        raise EnvironmentConfigError(f"environment variable {name} is required and is not set")
    return value


def optional(environ: Mapping[str, str], name: str) -> str | None:
    """The value of `name`, or `None` when it is unset or blank."""
    value = environ.get(name, "").strip()
    return value or None


def table_name(environ: Mapping[str, str], name: str) -> str:
    """A DynamoDB table or index name read from `name`, checked for DynamoDB's naming rule."""
    value = required(environ, name)
    if not _TABLE_NAME.fullmatch(value):
        raise EnvironmentConfigError(
            f"environment variable {name}={value!r} is not a valid DynamoDB name "
            "(3-255 characters of a-z A-Z 0-9 _ - .)"
        )
    return value


def stage(environ: Mapping[str, str]) -> str:
    """The deployment stage from `STAGE` (`local`, `prod`, ...)."""
    value = required(environ, STAGE)
    if not _STAGE.fullmatch(value):
        raise EnvironmentConfigError(
            f"environment variable STAGE={value!r} must be lowercase letters, digits and '-'"
        )
    return value
