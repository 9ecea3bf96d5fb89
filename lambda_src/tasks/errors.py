"""The tasks function's errors: what its service and repository refuse, each with its status."""

from __future__ import annotations

from common.errors import ConflictError, NotFoundError


class TaskExists(ConflictError):
    """A task with this id is already stored."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task already exists: {task_id}", field="data.id")


class TaskNotFound(NotFoundError):
    """No task has this id."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task not found: {task_id}", field="id")
