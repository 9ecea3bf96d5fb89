"""Records each event it is given in TABLE_NAME, keyed by the event's id."""

import json
import os
from typing import Any

import boto3

_table: Any = None


def handler(event: dict[str, Any], context: Any) -> None:
    global _table
    if _table is None:
        _table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    _table.put_item(Item={"id": event["id"], "event": json.dumps(event)})
