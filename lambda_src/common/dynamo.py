"""DynamoDB plumbing shared by the repositories: the client, (de)serialization, retries.

The repositories use the low-level client (what DAX also offers) with typed attribute values,
so this module converts between plain Python values and DynamoDB's `{"S": ...}` form.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from common.errors import InternalError, UnavailableError
from datamodel.retry import THROTTLED_REASONS, backoff_delay

Item = dict[str, Any]
Sleep = Callable[[float], None]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Standard retry mode retries throttling and transient errors with backoff; the timeouts
# stay well inside the functions' own timeout so a slow call fails instead of hanging.
# The pool holds a connection for each call a function makes at once (message-stream's
# concurrent group lookups); botocore's default is 10.
MAX_CALLS_IN_FLIGHT = 25
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=5,
    max_pool_connections=MAX_CALLS_IN_FLIGHT,
)

# DynamoDB's limits on one call.
BATCH_GET_LIMIT = 100


@functools.cache
def dynamodb_client() -> Any:
    """The container's DynamoDB client, created on first use (`AWS_ENDPOINT_URL` honoured)."""
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain item as DynamoDB attribute values."""
    return {name: _serializer.serialize(value) for name, value in item.items()}


def serialize_value(value: Any) -> dict[str, Any]:
    """One plain value as a DynamoDB attribute value."""
    result: dict[str, Any] = _serializer.serialize(value)
    return result


def deserialize(item: Mapping[str, Any]) -> Item:
    """DynamoDB attribute values as a plain item (numbers become `Decimal`)."""
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def error_code(error: ClientError) -> str:
    """The service error code of `error` (`ConditionalCheckFailedException`, ...)."""
    code: str = error.response.get("Error", {}).get("Code", "")
    return code


_REASONS_IN_MESSAGE = re.compile(r"\[([A-Za-z, ]+)\]")


def cancellation_reasons(error: ClientError) -> list[str]:
    """The per-item codes of a `TransactionCanceledException`, in request order.

    `"None"` marks an item that did not fail. The SDK exposes `CancellationReasons`; older
    emulators only list the codes in the message, which is parsed as a fallback.
    """
    reasons = error.response.get("CancellationReasons")
    if isinstance(reasons, list) and reasons:
        return [str(reason.get("Code", "None")) for reason in reasons]
    message = str(error.response.get("Error", {}).get("Message", ""))
    found = _REASONS_IN_MESSAGE.search(message)
    if found is None:
        return []
    return [part.strip() for part in found.group(1).split(",")]


def check_reasons(reasons: list[str], expected: frozenset[str]) -> None:
    """Raise for cancellation codes outside `expected` (and `"None"`).

    Throttling becomes `UnavailableError` (503, retry later); anything else (a validation
    error, an item too large) is a bug on our side and becomes `InternalError`.
    """
    unexpected = set(reasons) - expected - {"None"}
    if unexpected & THROTTLED_REASONS:
        raise UnavailableError("the database is busy; retry later")
    if unexpected:
        raise InternalError(f"transaction cancelled: {', '.join(sorted(unexpected))}")


def batch_get(
    client: Any,
    table: str,
    keys: list[dict[str, Any]],
    *,
    consistent: bool = True,
    max_attempts: int = 8,
    sleep: Sleep = time.sleep,
) -> list[Item]:
    """Read `keys` with `BatchGetItem`, 100 at a time, retrying unprocessed keys with backoff.

    Returns the plain items that exist, in no particular order.
    """
    found: list[Item] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        pending: dict[str, Any] = {
            table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": consistent}
        }
        for attempt in range(max_attempts):
            response = client.batch_get_item(RequestItems=pending)
            found.extend(deserialize(item) for item in response.get("Responses", {}).get(table, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
            sleep(backoff_delay(attempt))
        else:
            left = sum(len(request["Keys"]) for request in pending.values())
            raise UnavailableError(
                f"{left} read(s) were still unprocessed after {max_attempts} attempts; retry"
            )
    return found
