"""JSON responses in the tutorial's shape, `{"statusCode": ..., "body": "<json>"}`.

`run` is the boundary every action handler goes through: it maps typed service errors and
the AWS SDK's errors to a response and never lets a traceback reach the caller.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from common.errors import InternalError, ServiceError, UnavailableError
from datamodel.retry import BUSY_ERRORS

logger = logging.getLogger(__name__)

Response = dict[str, Any]


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, bytes | bytearray):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: object) -> str:
    """`value` as compact JSON; DynamoDB `Decimal`s become ints or floats."""
    return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False)


def json_response(status: int, body: object) -> Response:
    """A response with `status` and `body` encoded as JSON."""
    return {"statusCode": status, "body": to_json(body)}


def error_response(error: ServiceError) -> Response:
    """The response for a typed service error: `{"error": message[, "field": name]}`."""
    body: dict[str, Any] = {"error": error.message}
    if error.field is not None:
        body["field"] = error.field
    return json_response(error.status, body)


# The DAX client's codes for a cluster it cannot reach (yet): retrying later may work.
UNREACHABLE_CODES = frozenset({"NoRouteException", "ConnectionException"})


def translate_client_error(error: ClientError) -> ServiceError:
    """Map an AWS SDK error we did not expect at the call site to a 503 or a 500."""
    code = error.response.get("Error", {}).get("Code", "")
    if code in BUSY_ERRORS:
        return UnavailableError("the database is busy; retry later")
    if code in UNREACHABLE_CODES:
        return UnavailableError("the database could not be reached; retry later")
    return InternalError("internal error")


def run(action: Callable[[], Response]) -> Response:
    """Call `action`, turning typed errors and AWS SDK failures into JSON error responses."""
    try:
        return action()
    except InternalError as error:
        # The message may describe internals; it goes to the log, the caller gets the class.
        logger.error("request failed: %s", error.message)
        return error_response(InternalError("internal error"))
    except ServiceError as error:
        if error.status >= 500:
            logger.warning("request failed: %s", error.message)
        return error_response(error)
    except ClientError as error:
        # Log the full error for the operator; the caller only learns the class of failure.
        logger.exception("DynamoDB request failed")
        return error_response(translate_client_error(error))
    except BotoCoreError:
        logger.exception("could not reach DynamoDB")
        return error_response(UnavailableError("the database could not be reached; retry later"))
