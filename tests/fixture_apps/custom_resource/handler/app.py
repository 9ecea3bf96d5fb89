"""A custom resource's function: answers the response URL as CloudFormation expects.

`Data` holds, per property, the type of the value it got (`str:true` for a string "true"),
nested values as JSON of their types; the properties `Answer: FAILED` and `Reason` make it
answer FAILED. Each request is printed (`REQUEST {json}`) and recorded in TABLE_NAME (when set).
"""

import json
import os
import urllib.request
from typing import Any

import boto3


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_types(item) for item in value]
    return f"{type(value).__name__}:{value}"


def _record(event: dict[str, Any]) -> None:
    table = os.environ.get("TABLE_NAME")
    if table:
        boto3.client("dynamodb").put_item(
            TableName=table,
            Item={"id": {"S": event["RequestId"]}, "event": {"S": json.dumps(event)}},
        )


def handler(event: dict[str, Any], context: Any) -> None:
    print("REQUEST " + json.dumps(event))
    _record(event)
    properties = event["ResourceProperties"]
    data = {
        key: json.dumps(_types(value)) if isinstance(value, (dict, list)) else _types(value)
        for key, value in properties.items()
        if key != "ServiceToken"
    }
    failed = properties.get("Answer") == "FAILED"
    physical_id = event.get("PhysicalResourceId") or f"echo-{properties.get('Version', 'x')}"
    body = {
        "Status": "FAILED" if failed else "SUCCESS",
        "Reason": properties.get("Reason", "see the logs"),
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {} if failed else data,
    }
    request = urllib.request.Request(
        event["ResponseURL"],
        data=json.dumps(body).encode(),
        headers={"Content-Type": ""},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
