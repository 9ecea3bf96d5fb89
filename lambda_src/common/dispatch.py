"""The handlers' shared action dispatch: `{"action": NAME, ...}` to that action's function.

Each handler declares `ACTIONS = {NAME: Action(function, fields)}`; `dispatch` refuses a
non-object event, an unknown action and any field the action does not accept (400, naming
the field) before the function runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from common.errors import ValidationError
from common.responses import Response
from common.validation import expect_object, reject_unknown

Event = dict[str, Any]
Service = TypeVar("Service")


@dataclass(frozen=True)
class Action(Generic[Service]):
    """An action's implementation and the event fields it accepts besides `action`."""

    run: Callable[[Event, Service], Response]
    fields: tuple[str, ...]


def required(event: Event, key: str) -> object:
    """`event[key]`, or a 400 naming `key` when it is missing or null."""
    if event.get(key) is None:
        raise ValidationError(f"{key} is required", field=key)
    return event[key]


def dispatch(event: object, actions: Mapping[str, Action[Service]], service: Service) -> Response:
    """Run the event's action with `service`; validation errors raise `ValidationError`."""
    payload = expect_object(event, "event")
    name = payload.get("action")
    action = actions.get(name) if isinstance(name, str) else None
    if action is None:
        raise ValidationError(f"Invalid action; expected one of {sorted(actions)}", field="action")
    reject_unknown(payload, ("action", *action.fields), "")
    return action.run(payload, service)
