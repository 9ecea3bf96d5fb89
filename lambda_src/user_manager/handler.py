"""Lambda entry point of user-manager: `{"action": ..., ...}` in, `{statusCode, body}` out.

Actions: CREATE, READ, UPDATE, DELETE, LIST, FIND_BY_EMAIL, BATCH_CREATE, BATCH_GET (see
`ACTIONS` for each one's fields). The handler only parses, calls `UserService` and shapes
the response; typed errors become 400/404/409/503 through `common.responses.run`.
"""

from __future__ import annotations

import functools
import os

from common.dispatch import Action, Event, dispatch, required
from common.dynamo import dynamodb_client
from common.responses import Response, json_response, run

from user_manager import models
from user_manager.errors import UserNotFound
from user_manager.repository import UserRepository
from user_manager.service import UserService
from user_manager.settings import Settings


def _version(event: Event) -> int | None:
    return models.version(event["version"]) if event.get("version") is not None else None


def _create(event: Event, service: UserService) -> Response:
    user = service.create(models.new_user(required(event, "data")))
    return json_response(201, {"message": "User created", "user": user})


def _read(event: Event, service: UserService) -> Response:
    return json_response(200, service.read(models.user_id(required(event, "userId"))))


def _update(event: Event, service: UserService) -> Response:
    user_id = models.user_id(required(event, "userId"))
    changes = models.profile_changes(required(event, "updates"))
    user = service.update(user_id, changes, _version(event))
    return json_response(200, {"message": "User updated", "user": user})


def _delete(event: Event, service: UserService) -> Response:
    user_id = models.user_id(required(event, "userId"))
    service.delete(user_id, _version(event))
    return json_response(200, {"message": "User deleted", "userId": user_id})


def _list(event: Event, service: UserService) -> Response:
    page = service.list_page(models.list_request(event))
    return json_response(
        200, {"count": len(page.users), "users": page.users, "cursor": page.cursor}
    )


def _find_by_email(event: Event, service: UserService) -> Response:
    email = models.email(required(event, "email"))
    user = service.find_by_email(email)
    if user is None:
        raise UserNotFound(email)
    return json_response(200, user)


def _batch_create(event: Event, service: UserService) -> Response:
    users = service.batch_create(models.new_users(required(event, "users")))
    return json_response(201, {"message": "Users created", "count": len(users), "users": users})


def _batch_get(event: Event, service: UserService) -> Response:
    ids = models.id_list(required(event, "userIds"), "userIds", maximum=models.MAX_BATCH_GET)
    found, missing = service.batch_get(ids)
    return json_response(200, {"users": found, "missing": missing})


ACTIONS: dict[str, Action[UserService]] = {
    "CREATE": Action(_create, ("data",)),
    "READ": Action(_read, ("userId",)),
    "UPDATE": Action(_update, ("userId", "updates", "version")),
    "DELETE": Action(_delete, ("userId", "version")),
    "LIST": Action(_list, ("limit", "cursor")),
    "FIND_BY_EMAIL": Action(_find_by_email, ("email",)),
    "BATCH_CREATE": Action(_batch_create, ("users",)),
    "BATCH_GET": Action(_batch_get, ("userIds",)),
}


def handle(event: object, service: UserService) -> Response:
    """Answer one event with `service`; every outcome is a JSON response."""
    return run(lambda: dispatch(event, ACTIONS, service))


@functools.cache
def service() -> UserService:
    """The container's service, built on the first invocation from the environment."""
    settings = Settings.from_environ(os.environ)
    repository = UserRepository(
        dynamodb_client(),
        table=settings.table,
        email_index=settings.email_index,
        ttl_attribute=settings.ttl_attribute,
    )
    return UserService(repository)


def lambda_handler(event: object, context: object) -> Response:
    """The Lambda entry point (`user_manager.handler.lambda_handler`)."""
    return run(lambda: dispatch(event, ACTIONS, service()))
