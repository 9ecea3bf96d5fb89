"""The Lambda functions as data: each one's key, name, handler and the environment it reads.

The stacks (`stacks/functions/<key>.py`) set these variables and the handlers' settings
(`lambda_src/<key>/settings.py`) read them, by the same names. `FUNCTIONS` is the one list
of functions: the stage config derives their names and reservations from it and the
functions stack builds one construct per entry, so a function's `key` names its source
folder, its construct module and its entry in `FunctionNames` and `FunctionConcurrency`.
"""

from __future__ import annotations

from dataclasses import dataclass

# Every function reads its stage from here.
STAGE = "STAGE"


class UserManagerEnv:
    """The environment of user-manager."""

    TABLE = "USERS_TABLE"
    EMAIL_INDEX = "EMAIL_INDEX"
    TTL_ATTRIBUTE = "USERS_TTL_ATTRIBUTE"  # optional


class MessageStreamEnv:
    """The environment of message-stream."""

    TABLE = "MESSAGES_TABLE"
    GROUP_INDEX = "MESSAGE_GROUP_INDEX"


class TasksEnv:
    """The environment of tasks."""

    TABLE = "TASKS_TABLE"
    DAX_ENDPOINT = "DAX_ENDPOINT"  # only when the stage enables DAX


@dataclass(frozen=True)
class FunctionSpec:
    """One function: its key (`user_manager`), its physical name in the tutorials and the
    local stage (`user-manager`; other stages append theirs) and its handler, as Lambda
    imports it."""

    key: str
    name: str
    handler: str


USER_MANAGER = FunctionSpec("user_manager", "user-manager", "user_manager.handler.lambda_handler")
MESSAGE_STREAM = FunctionSpec(
    "message_stream", "message-stream", "message_stream.handler.lambda_handler"
)
TASKS = FunctionSpec("tasks", "tasks", "tasks.handler.lambda_handler")

FUNCTIONS: tuple[FunctionSpec, ...] = (USER_MANAGER, MESSAGE_STREAM, TASKS)
