"""The Provider's `on_event`: answers with a physical id and a greeting naming the property."""

from typing import Any


def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name = event["ResourceProperties"]["Name"]
    return {"PhysicalResourceId": f"greeting-{name}", "Data": {"Greeting": f"hello {name}"}}
