"""Table and index specs: the tables every stage deploys, with their keys and indexes.

Pure data (no `aws_cdk`, no boto3): the stacks synthesize from it, the data tooling and the
docs read it, and the Lambda asset ships it. Only names and billing vary by stage
(`stacks/config.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ConfigError(ValueError):
    """A stage configuration that cannot be synthesized; the message names the field."""


class AttributeType(StrEnum):
    """DynamoDB scalar key attribute types."""

    STRING = "S"
    NUMBER = "N"
    BINARY = "B"


class Projection(StrEnum):
    """Which attributes a secondary index copies."""

    ALL = "ALL"
    KEYS_ONLY = "KEYS_ONLY"
    INCLUDE = "INCLUDE"


class StreamView(StrEnum):
    """What a DynamoDB stream record carries."""

    NEW_IMAGE = "NEW_IMAGE"
    OLD_IMAGE = "OLD_IMAGE"
    NEW_AND_OLD_IMAGES = "NEW_AND_OLD_IMAGES"
    KEYS_ONLY = "KEYS_ONLY"


@dataclass(frozen=True)
class Capacity:
    """Provisioned read/write capacity units; `None` in a spec means on-demand billing."""

    read: int
    write: int

    def __post_init__(self) -> None:
        for label, units in (("read", self.read), ("write", self.write)):
            if not isinstance(units, int) or units < 1:
                raise ConfigError(f"capacity.{label} must be a positive integer, got {units!r}")


@dataclass(frozen=True)
class ScalingRange:
    """The capacity units auto scaling may set, from `minimum` to `maximum`."""

    minimum: int
    maximum: int

    def validate(self, where: str) -> None:
        """Raise `ConfigError` unless 1 <= minimum <= maximum."""
        for label, units in (("minimum", self.minimum), ("maximum", self.maximum)):
            if isinstance(units, bool) or not isinstance(units, int) or units < 1:
                raise ConfigError(f"{where}.{label} must be a positive integer, got {units!r}")
        if self.minimum > self.maximum:
            raise ConfigError(f"{where}: minimum {self.minimum} is above maximum {self.maximum}")


@dataclass(frozen=True)
class AutoScaling:
    """Target-tracking auto scaling of a provisioned table's capacity and of each of its GSIs'
    (Application Auto Scaling keeps consumed/provisioned near `target_utilization_percent`)."""

    read: ScalingRange
    write: ScalingRange
    target_utilization_percent: int = 70

    def validate(self, where: str, capacity: Capacity | None) -> None:
        """Raise `ConfigError` for a policy Application Auto Scaling would refuse."""
        if capacity is None:
            raise ConfigError(f"{where}: auto scaling needs provisioned capacity (billing)")
        self.read.validate(f"{where}: autoscaling.read")
        self.write.validate(f"{where}: autoscaling.write")
        if not 20 <= self.target_utilization_percent <= 90:
            raise ConfigError(
                f"{where}: autoscaling.target_utilization_percent must be between 20 and 90, "
                f"got {self.target_utilization_percent}"
            )
        for label, start, scaling in (
            ("read", capacity.read, self.read),
            ("write", capacity.write, self.write),
        ):
            if not scaling.minimum <= start <= scaling.maximum:
                raise ConfigError(
                    f"{where}: capacity.{label} {start} is outside autoscaling.{label} "
                    f"{scaling.minimum}..{scaling.maximum}"
                )


class ImportFormat(StrEnum):
    """The formats DynamoDB's S3 import reads."""

    DYNAMODB_JSON = "dynamodb_json"
    ION = "ion"
    CSV = "csv"


class ImportCompression(StrEnum):
    """How the import's S3 objects are compressed."""

    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"


@dataclass(frozen=True)
class ImportSource:
    """Seed a new table from S3 objects (DynamoDB's `ImportTable`, at table creation only)."""

    bucket: str
    key_prefix: str = ""
    input_format: ImportFormat = ImportFormat.DYNAMODB_JSON
    compression: ImportCompression = ImportCompression.GZIP

    @classmethod
    def from_url(cls, url: str, **options: Any) -> ImportSource:
        """`s3://bucket/prefix` as an import source."""
        match = _S3_URL.fullmatch(url)
        if match is None:
            raise ConfigError(f"an import source must be s3://bucket[/prefix], got {url!r}")
        return cls(bucket=match["bucket"], key_prefix=match["prefix"] or "", **options)

    def validate(self, where: str) -> None:
        """Raise `ConfigError` for a bucket name S3 would refuse."""
        if not _BUCKET_NAME.fullmatch(self.bucket):
            raise ConfigError(f"{where}: import bucket {self.bucket!r} is not an S3 bucket name")


@dataclass(frozen=True)
class IndexSpec:
    """A global or local secondary index over declared attributes."""

    name: str
    partition_key: str
    sort_key: str | None = None
    projection: Projection = Projection.ALL
    non_key_attributes: tuple[str, ...] = ()
    # Provisioned capacity of a GSI; ignored for LSIs and on-demand tables.
    capacity: Capacity | None = None


@dataclass(frozen=True)
class TableSpec:
    """One DynamoDB table: keys, declared attributes, indexes, stream, TTL and billing.

    `key` is the stable logical name (`users`) that code uses; `table_name` is the physical
    name for the stage (`Users`). Every key attribute of the table and of its indexes must be
    declared in `attributes`; `validate()` says which one is not.
    """

    key: str
    table_name: str
    partition_key: str
    attributes: tuple[tuple[str, AttributeType], ...]
    sort_key: str | None = None
    global_indexes: tuple[IndexSpec, ...] = ()
    local_indexes: tuple[IndexSpec, ...] = ()
    stream: StreamView | None = None
    ttl_attribute: str | None = None
    capacity: Capacity | None = None
    autoscaling: AutoScaling | None = None
    import_source: ImportSource | None = None

    @property
    def attribute_types(self) -> dict[str, AttributeType]:
        """Declared key attributes by name."""
        return dict(self.attributes)

    def index(self, name: str) -> IndexSpec:
        """The global or local index called `name`."""
        for spec in (*self.global_indexes, *self.local_indexes):
            if spec.name == name:
                return spec
        raise KeyError(f"table {self.table_name} has no index {name!r}")

    def validate(self) -> None:
        """Raise `ConfigError` naming the first inconsistency in this table definition."""
        where = f"table {self.key!r} ({self.table_name})"
        if not _TABLE_NAME.fullmatch(self.table_name):
            raise ConfigError(f"{where}: table name must be 3-255 characters of a-z A-Z 0-9 _ - .")
        names = [name for name, _ in self.attributes]
        if len(set(names)) != len(names):
            raise ConfigError(f"{where}: an attribute is declared twice in {names}")
        declared = self.attribute_types
        for role, attribute in (("partition key", self.partition_key), ("sort key", self.sort_key)):
            if attribute is not None and attribute not in declared:
                raise ConfigError(f"{where}: {role} {attribute!r} is not a declared attribute")
        index_names = [spec.name for spec in (*self.global_indexes, *self.local_indexes)]
        if len(set(index_names)) != len(index_names):
            raise ConfigError(f"{where}: index names must be unique, got {index_names}")
        if len(self.global_indexes) > 20:
            raise ConfigError(f"{where}: at most 20 global secondary indexes")
        if len(self.local_indexes) > 5:
            raise ConfigError(f"{where}: at most 5 local secondary indexes")
        if self.autoscaling is not None:
            self.autoscaling.validate(where, self.capacity)
        if self.import_source is not None:
            self.import_source.validate(where)
        for spec in self.global_indexes:
            self._validate_index(spec, "GSI", declared)
            if self.capacity is not None and spec.capacity is None:
                raise ConfigError(
                    f"{where}: GSI {spec.name!r} needs capacity on a provisioned table"
                )
        for spec in self.local_indexes:
            self._validate_index(spec, "LSI", declared)
            if self.sort_key is None:
                raise ConfigError(
                    f"{where}: LSI {spec.name!r} needs a table with a sort key; "
                    "this table has only a partition key"
                )
            if spec.partition_key != self.partition_key:
                raise ConfigError(
                    f"{where}: LSI {spec.name!r} must use the table's partition key "
                    f"{self.partition_key!r}, not {spec.partition_key!r}"
                )
            if spec.sort_key is None:
                raise ConfigError(f"{where}: LSI {spec.name!r} needs a sort key")
        used = {self.partition_key, self.sort_key}
        for spec in (*self.global_indexes, *self.local_indexes):
            used.update((spec.partition_key, spec.sort_key))
        unused = sorted(set(names) - used)
        if unused:
            # CloudFormation rejects AttributeDefinitions that no key schema uses.
            raise ConfigError(f"{where}: attributes {unused} are declared but used by no key")

    def _validate_index(
        self, spec: IndexSpec, kind: str, declared: Mapping[str, AttributeType]
    ) -> None:
        where = f"table {self.key!r} ({self.table_name}), {kind} {spec.name!r}"
        if not _INDEX_NAME.fullmatch(spec.name):
            raise ConfigError(f"{where}: index name must be 3-255 characters of a-z A-Z 0-9 _ - .")
        for role, attribute in (("partition key", spec.partition_key), ("sort key", spec.sort_key)):
            if attribute is not None and attribute not in declared:
                raise ConfigError(
                    f"{where}: {role} {attribute!r} is not a declared attribute of the table "
                    f"(declared: {sorted(declared)})"
                )
        if spec.projection is Projection.INCLUDE and not spec.non_key_attributes:
            raise ConfigError(f"{where}: INCLUDE projection needs non_key_attributes")
        if spec.projection is not Projection.INCLUDE and spec.non_key_attributes:
            raise ConfigError(f"{where}: non_key_attributes are only valid with INCLUDE")


_TABLE_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}")
_INDEX_NAME = _TABLE_NAME
_S3_URL = re.compile(r"s3://(?P<bucket>[^/]+)(?:/(?P<prefix>.*))?")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

# Index names the code (handlers, scripts, tests) refers to.
EMAIL_INDEX = "EmailIndex"
MESSAGE_GROUP_INDEX = "message-group-sk-index"
MESSAGE_CREATED_AT_INDEX = "created-at-index"


def tutorial_tables(
    *, names: Mapping[str, str], capacity: Capacity | None
) -> tuple[TableSpec, ...]:
    """The three tables of the tutorials; only names and billing vary by stage."""
    string = AttributeType.STRING
    return (
        TableSpec(
            key="tasks",
            table_name=names["tasks"],
            partition_key="id",
            attributes=(("id", string),),
            ttl_attribute="expires_at",
            capacity=capacity,
        ),
        TableSpec(
            key="users",
            table_name=names["users"],
            partition_key="userId",
            attributes=(("userId", string), ("email", string)),
            global_indexes=(IndexSpec(EMAIL_INDEX, "email", capacity=capacity),),
            ttl_attribute="expiresAt",
            capacity=capacity,
        ),
        TableSpec(
            key="messages",
            table_name=names["messages"],
            partition_key="pk",
            sort_key="sk",
            attributes=(
                ("pk", string),
                ("sk", string),
                ("message_group_uuid", string),
                ("created_at", string),
            ),
            global_indexes=(
                IndexSpec(MESSAGE_GROUP_INDEX, "message_group_uuid", "sk", capacity=capacity),
            ),
            # The tutorial's "sort by creation date" LSI exercise: Users has no sort key, so
            # it lives here, ordering a partition's rows by `created_at` instead of `sk`.
            local_indexes=(IndexSpec(MESSAGE_CREATED_AT_INDEX, "pk", "created_at"),),
            stream=StreamView.NEW_IMAGE,
            capacity=capacity,
        ),
    )
