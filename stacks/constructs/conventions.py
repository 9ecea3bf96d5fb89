"""Small conventions the stacks share: construct ids from logical keys, log retention."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

from stacks.config import LOG_RETENTION


def log_retention(days: int) -> logs.RetentionDays:
    """The `RetentionDays` member for a number of days the stage config accepted."""
    return logs.RetentionDays[LOG_RETENTION[days]]


def pascal_case(key: str) -> str:
    """`messages` -> `Messages`: construct ids name the thing."""
    return "".join(part.capitalize() for part in key.replace("-", "_").split("_"))
