"""The Provider's handlers: `on_event` starts a job; `is_complete` reports it done on the
third poll of a request (counted in the warm worker), `never` never does."""

from typing import Any

_polls: dict[str, int] = {}


def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"PhysicalResourceId": f"job-{event['ResourceProperties']['Name']}"}


def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    polls = _polls[event["RequestId"]] = _polls.get(event["RequestId"], 0) + 1
    if polls < 3:
        return {"IsComplete": False}
    return {"IsComplete": True, "Data": {"Polls": str(polls)}}


def never(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"IsComplete": event["RequestType"] == "Delete"}
