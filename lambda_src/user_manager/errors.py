"""The user-manager's errors: what its service and repository refuse, each with its status."""

from __future__ import annotations

from common.errors import ConflictError, NotFoundError


class UserNotFound(NotFoundError):
    """No live user has this id."""

    def __init__(self, user_id: str) -> None:
        super().__init__(f"User not found: {user_id}", field="userId")


class UserAlreadyExists(ConflictError):
    """A live user already has this id."""

    def __init__(self, user_ids: list[str]) -> None:
        super().__init__(f"user already exists: {', '.join(user_ids)}", field="userId")


class EmailInUse(ConflictError):
    """Another live user already has this email."""

    def __init__(self, emails: list[str]) -> None:
        super().__init__(f"email already in use: {', '.join(emails)}", field="email")


class VersionMismatch(ConflictError):
    """The caller's expected version is not the stored one."""

    def __init__(self, user_id: str, expected: int, actual: int | None = None) -> None:
        found = f", it is at version {actual}" if actual is not None else ""
        super().__init__(
            f"user {user_id} is not at version {expected}{found}; read it again", field="version"
        )


class ConcurrentUpdate(ConflictError):
    """Other requests kept changing the same rows; nothing was written."""

    def __init__(self, user_id: str) -> None:
        super().__init__(
            f"user {user_id} is being changed by concurrent requests; retry", field="userId"
        )
