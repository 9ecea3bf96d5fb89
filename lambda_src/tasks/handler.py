"""Lambda entry point of tasks: `add_task`, `get_task`, `list_tasks` (the tutorial's TaskDB).

Events: `{"action": "add_task", "data": {"id": ..., "name": ...}}`,
`{"action": "get_task", "id": ...}`, `{"action": "list_tasks", "limit": ..., "cursor": ...}`.
Responses are `{"statusCode": ..., "body": "<json>"}` like user-manager's.
"""

from __future__ import annotations

import functools
import os

from common.dispatch import Action, Event, dispatch, required
from common.responses import Response, json_response, run

from tasks import models
from tasks.clients import data_client
from tasks.repository import TaskRepository
from tasks.service import TaskService
from tasks.settings import Settings


def _add_task(event: Event, service: TaskService) -> Response:
    task = service.add_task(models.new_task(required(event, "data")))
    return json_response(201, {"message": "Task added", "task": task})


def _get_task(event: Event, service: TaskService) -> Response:
    return json_response(200, {"task": service.get_task(models.task_id(required(event, "id")))})


def _list_tasks(event: Event, service: TaskService) -> Response:
    page = service.list_tasks(models.list_request(event))
    return json_response(
        200, {"count": len(page.tasks), "tasks": page.tasks, "cursor": page.cursor}
    )


ACTIONS: dict[str, Action[TaskService]] = {
    "add_task": Action(_add_task, ("data",)),
    "get_task": Action(_get_task, ("id",)),
    "list_tasks": Action(_list_tasks, ("limit", "cursor")),
}


def handle(event: object, service: TaskService) -> Response:
    """Answer one event with `service`; every outcome is a JSON response."""
    return run(lambda: dispatch(event, ACTIONS, service))


@functools.cache
def service() -> TaskService:
    """The container's service (and its cache), built on first use from the environment."""
    settings = Settings.from_environ(os.environ)
    return TaskService(TaskRepository(data_client(settings.dax_endpoint), settings.table))


def lambda_handler(event: object, context: object) -> Response:
    """The Lambda entry point (`tasks.handler.lambda_handler`)."""
    # The service is built inside `run`, so an unreachable DAX cluster is a 5xx response.
    return run(lambda: dispatch(event, ACTIONS, service()))
