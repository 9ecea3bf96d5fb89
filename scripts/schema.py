"""Turn the stage config's `TableSpec`s into DynamoDB `CreateTable` requests.

The stacks build tables through CDK; the tests, the benchmark and `python -m scripts` need
the same tables on a local endpoint (moto, DynamoDB Local), built from the same definitions.
"""

from __future__ import annotations

from typing import Any

from datamodel.tables import Capacity, IndexSpec, Projection, StreamView, TableSpec


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    if sort_key is not None:
        schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return schema


def _projection(spec: IndexSpec) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": spec.projection.value}
    if spec.projection is Projection.INCLUDE:
        projection["NonKeyAttributes"] = list(spec.non_key_attributes)
    return projection


def _throughput(capacity: Capacity) -> dict[str, int]:
    return {"ReadCapacityUnits": capacity.read, "WriteCapacityUnits": capacity.write}


def create_table_request(
    spec: TableSpec,
    *,
    table_name: str | None = None,
    with_stream: bool = True,
    with_indexes: bool = True,
) -> dict[str, Any]:
    """The `CreateTable` keyword arguments for `spec` (optionally renamed, without stream).

    Billing follows the spec: provisioned when it has a capacity, on-demand otherwise.
    `with_indexes=False` keeps only the table's own key schema (the attribute definitions
    shrink accordingly, since DynamoDB refuses definitions no key uses).
    """
    used = {spec.partition_key, spec.sort_key}
    if with_indexes:
        for index in (*spec.global_indexes, *spec.local_indexes):
            used.update((index.partition_key, index.sort_key))
    request: dict[str, Any] = {
        "TableName": table_name or spec.table_name,
        "KeySchema": _key_schema(spec.partition_key, spec.sort_key),
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind.value}
            for name, kind in spec.attributes
            if name in used
        ],
    }
    if spec.capacity is None:
        request["BillingMode"] = "PAY_PER_REQUEST"
    else:
        request["BillingMode"] = "PROVISIONED"
        request["ProvisionedThroughput"] = _throughput(spec.capacity)
    if with_indexes and spec.global_indexes:
        gsis: list[dict[str, Any]] = []
        for index in spec.global_indexes:
            gsi: dict[str, Any] = {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition_key, index.sort_key),
                "Projection": _projection(index),
            }
            if spec.capacity is not None:
                gsi["ProvisionedThroughput"] = _throughput(index.capacity or spec.capacity)
            gsis.append(gsi)
        request["GlobalSecondaryIndexes"] = gsis
    if with_indexes and spec.local_indexes:
        request["LocalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition_key, index.sort_key),
                "Projection": _projection(index),
            }
            for index in spec.local_indexes
        ]
    if with_stream and spec.stream is not None:
        view: StreamView = spec.stream
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view.value}
    return request
