"""Typed errors the services raise; the handlers turn each into one HTTP-like status."""

from __future__ import annotations


class ServiceError(Exception):
    """An error a caller can be told about: a status code, a message and maybe a field."""

    status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(ServiceError):
    """The request is malformed; `field` names the offending input."""

    status = 400


class NotFoundError(ServiceError):
    """The item the request names does not exist."""

    status = 404


class ConflictError(ServiceError):
    """The request conflicts with the stored state (duplicate key, stale version, race)."""

    status = 409


class UnavailableError(ServiceError):
    """DynamoDB throttled us or left work unprocessed after our retries; try again later."""

    status = 503


class InternalError(ServiceError):
    """An unexpected failure in a dependency; the details go to the log, not the caller."""

    status = 500
