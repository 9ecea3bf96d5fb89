"""Typed errors of the data tooling: each carries the one line the CLI prints.

The CLI turns every `ToolError` into `error: <message>` on stderr and a non-zero exit code,
never a traceback. Library callers catch the specific subclass they expect.
"""

from __future__ import annotations

from collections.abc import Sequence


class ToolError(Exception):
    """A failure the user can act on; `str(error)` is the whole explanation."""

    exit_code = 1


class UsageError(ToolError):
    """The command line asks for something contradictory or impossible."""

    exit_code = 2


class DeployFailed(ToolError):
    """A deploy or destroy step failed, or was refused; the message names the step."""

    exit_code = 2


class EndpointUnreachable(ToolError):
    """Nothing answers at the DynamoDB endpoint."""

    exit_code = 3


class TableNotFound(ToolError):
    """The table does not exist at the endpoint."""


class IndexNotFound(ToolError):
    """The table has no index of that name."""


class InvalidRequest(ToolError):
    """DynamoDB refused the request (bad expression, wrong key type, ...)."""


class InvalidInput(ToolError):
    """Input failed validation before anything was sent.

    `problems` are one-line reasons (`file:line: reason` for data files), in input order;
    `note` is printed after them (seeding says that nothing was written).
    """

    def __init__(
        self, problems: Sequence[str], *, note: str | None = None, shown: int = 20
    ) -> None:
        self.problems = list(problems)
        lines = self.problems[:shown]
        more = len(self.problems) - len(lines)
        if more > 0:
            lines.append(f"... and {more} more problem(s)")
        if note and len(lines) == 1:
            lines = [f"{lines[0]} ({note})"]
        elif note:
            lines.append(note)
        super().__init__("\n".join(lines))


class ConfirmationRequired(ToolError):
    """A destructive action against `prod` was not confirmed."""


class DeletionProtected(ToolError):
    """The table has deletion protection enabled; `drop` refuses it."""


class NotFound(ToolError):
    """An entity an access pattern needs (user, conversation) does not exist."""


class SeedIncomplete(ToolError):
    """Writing stopped part-way; `written` items of `total` are known to be stored."""

    def __init__(self, table: str, written: int, total: int, reason: str) -> None:
        self.table = table
        self.written = written
        self.total = total
        super().__init__(
            f"seeding {table} stopped after {written} of {total} items: {reason}; "
            "re-run the same command to finish (writes are idempotent)"
        )
