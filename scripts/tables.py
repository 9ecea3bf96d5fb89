"""`list-tables`, `describe`, `create-tables` and `drop`: table-level operations."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from scripts.errors import ConfirmationRequired, DeletionProtected, ToolError, UsageError
from scripts.schema import create_table_request
from scripts.target import Target, error_code, translated_errors


@dataclass(frozen=True)
class KeyAttribute:
    """One key attribute: name, DynamoDB type (`S`, `N`, `B`) and role (`HASH`/`RANGE`)."""

    name: str
    type: str
    role: str


@dataclass(frozen=True)
class IndexInfo:
    """A secondary index as `DescribeTable` reports it."""

    name: str
    kind: str  # "GSI" or "LSI"
    keys: tuple[KeyAttribute, ...]
    projection: str
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableInfo:
    """What `describe` shows: keys, indexes, stream, item count and billing."""

    name: str
    status: str
    keys: tuple[KeyAttribute, ...]
    indexes: tuple[IndexInfo, ...]
    stream: str | None
    item_count: int
    size_bytes: int
    billing: str
    read_capacity: int | None
    write_capacity: int | None
    deletion_protection: bool
    arn: str

    def index(self, name: str) -> IndexInfo | None:
        """The index called `name`, if the table has one."""
        return next((index for index in self.indexes if index.name == name), None)

    @property
    def key_names(self) -> tuple[str, ...]:
        """The table's key attribute names, partition key first."""
        return tuple(key.name for key in self.keys)

    def key_types(self) -> dict[str, str]:
        """Every key attribute of the table and its indexes, with its type."""
        types = {key.name: key.type for key in self.keys}
        for index in self.indexes:
            types.update({key.name: key.type for key in index.keys})
        return types

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "status": self.status,
            "keys": [vars(k) for k in self.keys],
            "indexes": [
                {
                    "name": i.name,
                    "kind": i.kind,
                    "keys": [vars(k) for k in i.keys],
                    "projection": i.projection,
                    "non_key_attributes": list(i.non_key_attributes),
                }
                for i in self.indexes
            ],
            "stream": self.stream,
            "item_count": self.item_count,
            "size_bytes": self.size_bytes,
            "billing": self.billing,
            "read_capacity": self.read_capacity,
            "write_capacity": self.write_capacity,
            "deletion_protection": self.deletion_protection,
            "arn": self.arn,
        }


def _keys(schema: list[dict[str, str]], types: dict[str, str]) -> tuple[KeyAttribute, ...]:
    return tuple(
        KeyAttribute(k["AttributeName"], types.get(k["AttributeName"], "?"), k["KeyType"])
        for k in schema
    )


def parse_description(table: dict[str, Any]) -> TableInfo:
    """A `TableInfo` from the `Table` of a `DescribeTable` response."""
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    indexes: list[IndexInfo] = []
    for kind, field_name in (("GSI", "GlobalSecondaryIndexes"), ("LSI", "LocalSecondaryIndexes")):
        for index in table.get(field_name, []) or []:
            projection = index.get("Projection", {})
            indexes.append(
                IndexInfo(
                    name=index["IndexName"],
                    kind=kind,
                    keys=_keys(index["KeySchema"], types),
                    projection=projection.get("ProjectionType", "ALL"),
                    non_key_attributes=tuple(projection.get("NonKeyAttributes", [])),
                )
            )
    stream_spec = table.get("StreamSpecification") or {}
    throughput = table.get("ProvisionedThroughput") or {}
    billing = (table.get("BillingModeSummary") or {}).get("BillingMode")
    if billing is None:
        # Tables created provisioned may omit the summary; on-demand ones report 0/0.
        billing = "PROVISIONED" if throughput.get("ReadCapacityUnits") else "PAY_PER_REQUEST"
    provisioned = billing == "PROVISIONED"
    return TableInfo(
        name=table["TableName"],
        status=table.get("TableStatus", "?"),
        keys=_keys(table["KeySchema"], types),
        indexes=tuple(indexes),
        stream=stream_spec.get("StreamViewType") if stream_spec.get("StreamEnabled") else None,
        item_count=int(table.get("ItemCount", 0)),
        size_bytes=int(table.get("TableSizeBytes", 0)),
        billing=billing,
        read_capacity=throughput.get("ReadCapacityUnits") if provisioned else None,
        write_capacity=throughput.get("WriteCapacityUnits") if provisioned else None,
        deletion_protection=bool(table.get("DeletionProtectionEnabled", False)),
        arn=table.get("TableArn", ""),
    )


def list_tables(target: Target, client: Any | None = None) -> list[str]:
    """Every table name at the target (all pages of `ListTables`)."""
    client = client or target.client()
    names: list[str] = []
    with translated_errors(target):
        for page in client.get_paginator("list_tables").paginate():
            names.extend(page["TableNames"])
    return names


def describe_table(target: Target, name: str, client: Any | None = None) -> TableInfo:
    """Keys, indexes, stream, item count and billing of table `name` (or logical key)."""
    client = client or target.client()
    physical = target.table_name(name)
    with translated_errors(target, physical):
        return parse_description(client.describe_table(TableName=physical)["Table"])


def count_items(target: Target, name: str, client: Any | None = None) -> int:
    """The exact item count, by a `Select=COUNT` scan to the end (costs a full scan)."""
    client = client or target.client()
    physical = target.table_name(name)
    total = 0
    with translated_errors(target, physical):
        for page in client.get_paginator("scan").paginate(TableName=physical, Select="COUNT"):
            total += page["Count"]
    return total


def create_stage_tables(
    target: Target, keys: list[str] | None = None, client: Any | None = None
) -> list[str]:
    """Create the stage's tables that do not exist yet (local only); return those created.

    In `prod` the stacks own the tables, so this refuses.
    """
    if target.is_prod:
        raise UsageError("tables in prod are created by the CDK stacks, not by this tool")
    client = client or target.client()
    specs = list(target.stage.tables)
    if keys:
        unknown = [k for k in keys if target.table_spec(k) is None]
        if unknown:
            known = ", ".join(s.key for s in specs)
            raise UsageError(f"unknown table(s) {', '.join(unknown)}; the stage has {known}")
        wanted = {target.table_spec(k).key for k in keys}  # type: ignore[union-attr]
        specs = [s for s in specs if s.key in wanted]
    existing = set(list_tables(target, client))
    created: list[str] = []
    for spec in specs:
        if spec.table_name in existing:
            continue
        with translated_errors(target, spec.table_name):
            client.create_table(**create_table_request(spec))
        created.append(spec.table_name)
    return created


def account_id(target: Target) -> str:
    """The AWS account behind the target's credentials."""
    with translated_errors(target):
        return str(target.sts_client().get_caller_identity()["Account"])


def drop_table(
    target: Target,
    name: str,
    *,
    yes: bool = False,
    announce: Callable[[str, str, str], None] | None = None,
    confirm: Callable[[str], str] | None = None,
    client: Any | None = None,
) -> TableInfo:
    """Delete table `name`; refuse deletion-protected tables.

    Against `prod`, `announce(account, region, table)` is called first, then the caller
    must pass `yes=True` or a `confirm(table)` callback returning what the person typed,
    which must be the table's name. Nothing is deleted otherwise.
    """
    client = client or target.client()
    info = describe_table(target, name, client)
    if info.deletion_protection:
        raise DeletionProtected(
            f"table {info.name} has deletion protection enabled; disable it in the stack "
            "(or the console) first if you really mean to delete it"
        )
    if target.is_prod:
        if announce is not None:
            announce(account_id(target), target.region, info.name)
        if not yes:
            if confirm is None:
                raise ConfirmationRequired(
                    f"dropping {info.name} in prod needs --yes or typing the table name"
                )
            if confirm(info.name).strip() != info.name:
                raise ConfirmationRequired(
                    f"confirmation did not match {info.name!r}; nothing dropped"
                )
    with translated_errors(target, info.name):
        try:
            client.delete_table(TableName=info.name)
        except ClientError as error:
            if error_code(error) == "ResourceInUseException":
                raise ToolError(f"table {info.name} is busy (being created or updated)") from None
            raise
        _wait_deleted(target, client, info.name)
    return info


def _wait_deleted(target: Target, client: Any, name: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            client.describe_table(TableName=name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return
            raise
        time.sleep(0.2 if target.endpoint else 2.0)
    raise ToolError(f"table {name} is still being deleted after {timeout_s:.0f} s")
