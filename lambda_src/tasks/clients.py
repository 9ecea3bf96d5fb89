"""Which client serves the tasks table: DAX when the stage has a cluster, else DynamoDB."""

from __future__ import annotations

from typing import Any

from common.dynamo import CLIENT_CONFIG, dynamodb_client
from common.env import EnvironmentConfigError


def data_client(dax_endpoint: str | None) -> Any:
    """A low-level client for the tasks table's reads and writes.

    With a DAX endpoint, the DAX client (same API as boto3's DynamoDB client) serves every
    call, so reads hit the cache and writes go through it and keep it coherent. Without
    one, the container's plain DynamoDB client. `amazondax` is imported only when used: it
    is heavy, and stages without DAX never need it.
    """
    if dax_endpoint is None:
        return dynamodb_client()
    try:
        from amazondax import AmazonDaxClient
    except ImportError as error:
        raise EnvironmentConfigError(
            "DAX_ENDPOINT is set but the DAX client is not in the function's bundle "
            "(install lambda_src/requirements.txt into the asset)"
        ) from error
    return AmazonDaxClient(endpoint_url=dax_endpoint, config=CLIENT_CONFIG)
