"""Read a synthesized cloud assembly (`manifest.json` + stack templates) into a typed model.

The reviewer documents draw what `cdk synth` wrote, never a hand-kept list: tables with their
keys, indexes, stream and TTL; functions and their event source mappings; the queues that
catch failures; who is granted what on which table, index, stream or DAX cluster; and the DAX
cluster with its VPC, subnets and security groups.

IAM resources are resolved back to the things they name. `Fn::GetAtt`/`Ref` point at a
resource; `Fn::ImportValue` is followed to the exporting stack's output; ARNs written as text
or `Fn::Join` (the functions stack imports tables by name) are matched by physical name. A
resource that cannot be resolved is kept, as text, so nothing is silently dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"
STAGE_TAG = "stage"

_CDK_HASH_SUFFIX = re.compile(r"[0-9A-F]{8}$")
_ARN = re.compile(
    r"^arn:[^:]*:(?P<service>[^:]*):(?P<region>[^:]*):(?P<account>[^:]*):(?P<rest>.*)$"
)
# `${AWS::Partition}` and the like hold colons; they are blanked before an ARN is split.
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_TABLE_RESOURCE = re.compile(r"^table/(?P<table>[^/]+)(?:/(?P<kind>index|stream)/(?P<sub>[^/]+))?$")


class AssemblyError(Exception):
    """The cloud assembly is missing, unreadable, or does not hold what was asked for."""


class IndexKind(StrEnum):
    """Global or local secondary index."""

    GSI = "GSI"
    LSI = "LSI"


class TargetKind(StrEnum):
    """What an IAM statement's resource turned out to be."""

    TABLE = "table"
    INDEX = "index"
    STREAM = "stream"
    DAX_CLUSTER = "dax-cluster"
    QUEUE = "queue"
    LOG_GROUP = "log-group"
    KMS_KEY = "kms-key"
    ANY = "any"  # Resource "*"
    OTHER = "other"  # resolved to nothing in the assembly; `text` says what it was


@dataclass(frozen=True, order=True)
class ResourceId:
    """A resource of the assembly: its stack and logical id."""

    stack: str
    logical_id: str

    def __str__(self) -> str:
        return f"{self.stack}/{self.logical_id}"


@dataclass(frozen=True)
class KeyAttribute:
    """A key attribute and its scalar type (S, N or B)."""

    name: str
    type: str

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


@dataclass(frozen=True)
class SecondaryIndex:
    """A GSI or LSI with its key schema and projection."""

    name: str
    kind: IndexKind
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None
    projection: str
    non_key_attributes: tuple[str, ...] = ()
    capacity: tuple[int, int] | None = None  # (read, write) units of a provisioned GSI


@dataclass(frozen=True)
class Table:
    """An `AWS::DynamoDB::Table`."""

    id: ResourceId
    name: str  # the physical TableName (the logical id if the template leaves it unnamed)
    path: str  # construct path inside the stack, e.g. `UsersTable`
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None
    indexes: tuple[SecondaryIndex, ...]
    stream_view: str | None
    ttl_attribute: str | None
    billing_mode: str  # PAY_PER_REQUEST or PROVISIONED
    capacity: tuple[int, int] | None
    point_in_time_recovery: bool
    deletion_protection: bool
    encryption: str  # "AWS owned key", "AWS managed key" or "customer managed key"

    @property
    def global_indexes(self) -> tuple[SecondaryIndex, ...]:
        """The GSIs, in template order."""
        return tuple(index for index in self.indexes if index.kind is IndexKind.GSI)

    @property
    def local_indexes(self) -> tuple[SecondaryIndex, ...]:
        """The LSIs, in template order."""
        return tuple(index for index in self.indexes if index.kind is IndexKind.LSI)

    def index(self, name: str) -> SecondaryIndex:
        """The index called `name`."""
        for index in self.indexes:
            if index.name == name:
                return index
        raise KeyError(f"table {self.name} has no index {name!r}")


@dataclass(frozen=True)
class Alarm:
    """A CloudWatch alarm on a table's metrics."""

    id: ResourceId
    name: str
    table: ResourceId | None
    metrics: tuple[str, ...]  # metric names it watches, e.g. ReadThrottleEvents


@dataclass(frozen=True)
class Queue:
    """An `AWS::SQS::Queue`."""

    id: ResourceId
    path: str
    name: str | None
    retention_s: int | None
    encryption: str  # "SSE-SQS", "KMS" or "none"


@dataclass(frozen=True)
class VpcAttachment:
    """The subnets and security groups a function runs in."""

    subnets: tuple[ResourceId, ...]
    security_groups: tuple[ResourceId, ...]


@dataclass(frozen=True)
class Function:
    """An `AWS::Lambda::Function` with its role, failure handling and VPC attachment."""

    id: ResourceId
    name: str
    path: str
    runtime: str
    architecture: str
    handler: str
    memory_mb: int | None
    timeout_s: int | None
    role: ResourceId | None
    dead_letter_queue: ResourceId | None
    # From its EventInvokeConfig (asynchronous invocations), when it has one.
    on_failure: ResourceId | None = None
    async_retries: int | None = None
    vpc: VpcAttachment | None = None


@dataclass(frozen=True)
class EventSourceMapping:
    """An `AWS::Lambda::EventSourceMapping`, resolved to its table stream and function."""

    id: ResourceId
    function: ResourceId | None
    source_table: ResourceId | None  # the table whose stream it reads
    source_text: str  # the event source as written, for sources that are not table streams
    batch_size: int | None
    bisect_on_error: bool
    retry_attempts: int | None
    max_record_age_s: int | None
    starting_position: str | None
    on_failure: ResourceId | None
    report_batch_item_failures: bool
    enabled: bool = True


@dataclass(frozen=True)
class GrantTarget:
    """What one resource of an IAM statement refers to."""

    kind: TargetKind
    resource: ResourceId | None = None
    index: str | None = None  # INDEX targets: the index name, or `*` for every index
    text: str = ""  # the resource as written (resolved as far as possible)


@dataclass(frozen=True)
class Grant:
    """One IAM statement, as it applies to one role and one resource."""

    role: ResourceId
    policy: ResourceId
    effect: str
    actions: tuple[str, ...]
    target: GrantTarget


@dataclass(frozen=True)
class Role:
    """An `AWS::IAM::Role`: who may assume it, and its managed policies (ARNs as text)."""

    id: ResourceId
    path: str
    assumed_by: tuple[str, ...]
    managed_policies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subnet:
    """An `AWS::EC2::Subnet`."""

    id: ResourceId
    path: str
    vpc: ResourceId | None
    cidr: str
    availability_zone: str  # literal, or `AZ n` for the n-th zone of the region
    kind: str | None  # CDK's subnet type tag: Isolated, Private or Public


@dataclass(frozen=True)
class Vpc:
    """An `AWS::EC2::VPC` with its gateway/interface endpoints and flow logs."""

    id: ResourceId
    path: str
    cidr: str
    endpoints: tuple[str, ...]  # "Gateway dynamodb", ...
    flow_logs: bool


@dataclass(frozen=True)
class IngressRule:
    """One ingress rule of a security group."""

    protocol: str
    from_port: int | None
    to_port: int | None
    source_group: ResourceId | None
    source_cidr: str | None
    description: str = ""

    @property
    def ports(self) -> str:
        """`tcp 9111`, `tcp 1000-2000` or `all`."""
        if self.protocol == "-1":
            return "all traffic"
        if self.from_port is None or self.from_port == self.to_port:
            return f"{self.protocol} {self.from_port if self.from_port is not None else ''}".strip()
        return f"{self.protocol} {self.from_port}-{self.to_port}"


@dataclass(frozen=True)
class SecurityGroup:
    """An `AWS::EC2::SecurityGroup` with its ingress rules (inline or separate resources)."""

    id: ResourceId
    path: str
    description: str
    vpc: ResourceId | None
    ingress: tuple[IngressRule, ...]
    egress_all: bool


@dataclass(frozen=True)
class DaxCluster:
    """An `AWS::DAX::Cluster` with its subnet group, parameters, role and security groups."""

    id: ResourceId
    name: str
    node_type: str
    replication_factor: int
    endpoint_encryption: str
    sse_enabled: bool
    role: ResourceId | None
    subnets: tuple[ResourceId, ...]
    security_groups: tuple[ResourceId, ...]
    parameters: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Stack:
    """One CloudFormation stack of the assembly."""

    name: str
    stage: str | None
    description: str
    template_file: Path
    dependencies: tuple[str, ...]


@dataclass(frozen=True)
class Assembly:
    """Everything the documents need from one stage's synthesized stacks."""

    directory: Path
    stage: str
    stacks: tuple[Stack, ...]
    tables: tuple[Table, ...]
    functions: tuple[Function, ...]
    event_source_mappings: tuple[EventSourceMapping, ...]
    queues: tuple[Queue, ...]
    roles: tuple[Role, ...]
    grants: tuple[Grant, ...]
    alarms: tuple[Alarm, ...]
    dax_clusters: tuple[DaxCluster, ...]
    vpcs: tuple[Vpc, ...]
    subnets: tuple[Subnet, ...]
    security_groups: tuple[SecurityGroup, ...]
    _by_id: Mapping[ResourceId, object] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        groups: tuple[tuple[Any, ...], ...] = (
            self.tables,
            self.functions,
            self.event_source_mappings,
            self.queues,
            self.roles,
            self.alarms,
            self.dax_clusters,
            self.vpcs,
            self.subnets,
            self.security_groups,
        )
        by_id = {item.id: item for group in groups for item in group}
        object.__setattr__(self, "_by_id", MappingProxyType(by_id))

    def get(self, resource: ResourceId) -> object:
        """The modelled thing with id `resource` (KeyError if it is not modelled)."""
        return self._by_id[resource]

    def table(self, resource: ResourceId) -> Table:
        """The table with id `resource`."""
        found = self.get(resource)
        if not isinstance(found, Table):
            raise KeyError(f"{resource} is not a table")
        return found

    def table_named(self, name: str) -> Table:
        """The table whose physical name is `name`."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"the assembly has no table named {name!r}")

    def function_named(self, name: str) -> Function:
        """The function whose physical name is `name`."""
        for function in self.functions:
            if function.name == name:
                return function
        raise KeyError(f"the assembly has no function named {name!r}")

    def grants_of(self, role: ResourceId | None) -> tuple[Grant, ...]:
        """Every grant made to `role`."""
        return tuple(grant for grant in self.grants if grant.role == role)


# --- reading the manifest ---------------------------------------------------------------


@dataclass(frozen=True)
class _StackArtifact:
    name: str
    stage: str | None
    template_file: Path
    metadata_file: Path | None
    inline_metadata: Mapping[str, Any]
    dependencies: tuple[str, ...]


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise AssemblyError(f"{what} {path} does not exist") from None
    except json.JSONDecodeError as error:
        raise AssemblyError(f"{what} {path} is not valid JSON: {error}") from None


def _stack_artifacts(directory: Path) -> Iterator[_StackArtifact]:
    """The stack artifacts of the assembly in `directory`, nested assemblies included."""
    manifest = _load_json(directory / "manifest.json", "cloud assembly manifest")
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise AssemblyError(f"{directory / 'manifest.json'} lists no artifacts")
    for name, artifact in artifacts.items():
        kind = artifact.get("type")
        properties = artifact.get("properties") or {}
        if kind == NESTED_ASSEMBLY_ARTIFACT and "directoryName" in properties:
            yield from _stack_artifacts(directory / properties["directoryName"])
        elif kind == STACK_ARTIFACT:
            tags = properties.get("tags") or {}
            metadata_file = artifact.get("additionalMetadataFile")
            yield _StackArtifact(
                name=properties.get("stackName") or name,
                stage=tags.get(STAGE_TAG),
                template_file=directory / properties["templateFile"],
                metadata_file=directory / metadata_file if metadata_file else None,
                inline_metadata=artifact.get("metadata") or {},
                dependencies=tuple(
                    dependency
                    for dependency in artifact.get("dependencies") or ()
                    if not dependency.endswith(".assets")
                ),
            )


def stages_in(directory: Path) -> tuple[str, ...]:
    """The stages (the stacks' `stage` tags) the assembly in `directory` holds."""
    return tuple(sorted({a.stage for a in _stack_artifacts(Path(directory)) if a.stage}))


def read_assembly(directory: Path | str, stage: str) -> Assembly:
    """Read the stacks of `stage` from the cloud assembly in `directory`.

    Raises `AssemblyError` with a one-line reason when there is no assembly there, or it
    holds no stack tagged with `stage`.
    """
    directory = Path(directory)
    if not (directory / "manifest.json").is_file():
        raise AssemblyError(
            f"no cloud assembly in {directory} (no manifest.json); synthesize one first, "
            f"e.g. `make diagram STAGE={stage}` or `cdk synth -c stage={stage} -o {directory}`"
        )
    artifacts = list(_stack_artifacts(directory))
    chosen = [artifact for artifact in artifacts if artifact.stage == stage]
    if not chosen:
        found = sorted({artifact.stage for artifact in artifacts if artifact.stage})
        raise AssemblyError(
            f"the cloud assembly in {directory} holds no stack of stage {stage!r} "
            f"(stages found: {', '.join(found) or 'none'})"
        )
    templates = {
        artifact.name: _load_json(artifact.template_file, "stack template") for artifact in chosen
    }
    paths = {artifact.name: _construct_paths(artifact) for artifact in chosen}
    return _Reader(stage, directory, chosen, templates, paths).read()


def _construct_paths(artifact: _StackArtifact) -> dict[str, str]:
    """Logical id -> construct path inside the stack (`UserManager/Role`), where recorded."""
    metadata: Mapping[str, Any] = artifact.inline_metadata
    if artifact.metadata_file is not None and artifact.metadata_file.is_file():
        metadata = _load_json(artifact.metadata_file, "stack metadata")
    paths: dict[str, str] = {}
    prefix = f"/{artifact.name}/"
    for path, entries in metadata.items():
        for entry in entries or ():
            if entry.get("type") == "aws:cdk:logicalId" and isinstance(entry.get("data"), str):
                short = path[len(prefix) :] if path.startswith(prefix) else path.lstrip("/")
                paths[entry["data"]] = short.removesuffix("/Resource")
    return paths


# --- resolving template values ----------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    """A resolved `Ref` or `Fn::GetAtt`: the resource and the attribute (`None` for Ref)."""

    resource: ResourceId
    attribute: str | None


class _Reader:
    """Builds the `Assembly` of one stage from its templates."""

    def __init__(
        self,
        stage: str,
        directory: Path,
        artifacts: list[_StackArtifact],
        templates: Mapping[str, Any],
        paths: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.stage = stage
        self.directory = directory
        self.artifacts = artifacts
        self.templates = templates
        self.paths = paths
        self.resources: dict[ResourceId, Mapping[str, Any]] = {}
        self.exports: dict[str, tuple[str, Any]] = {}
        for stack, template in templates.items():
            for logical_id, resource in (template.get("Resources") or {}).items():
                self.resources[ResourceId(stack, logical_id)] = resource
            for output in (template.get("Outputs") or {}).values():
                export = (output.get("Export") or {}).get("Name")
                if isinstance(export, str):
                    self.exports[export] = (stack, output.get("Value"))

    # -- generic helpers

    def of_type(self, kind: str) -> Iterator[tuple[ResourceId, Mapping[str, Any]]]:
        for resource_id, resource in self.resources.items():
            if resource.get("Type") == kind:
                yield resource_id, resource.get("Properties") or {}

    def type_of(self, resource: ResourceId) -> str | None:
        found = self.resources.get(resource)
        return found.get("Type") if found else None

    def path(self, resource: ResourceId) -> str:
        """Construct path, else the logical id without CDK's hash suffix."""
        recorded = self.paths.get(resource.stack, {}).get(resource.logical_id)
        if recorded:
            return recorded
        return _CDK_HASH_SUFFIX.sub("", resource.logical_id) or resource.logical_id

    def reference(self, value: Any, stack: str) -> _Reference | None:
        """The resource a `Ref`/`Fn::GetAtt`/`Fn::ImportValue` points at, if in the assembly."""
        if not isinstance(value, dict) or len(value) != 1:
            return None
        (function, argument), *_ = value.items()
        if function == "Ref" and isinstance(argument, str):
            resource = ResourceId(stack, argument)
            return _Reference(resource, None) if resource in self.resources else None
        if function == "Fn::GetAtt":
            if isinstance(argument, str):
                argument = argument.split(".", 1)
            if isinstance(argument, list) and len(argument) == 2:
                resource = ResourceId(stack, str(argument[0]))
                if resource in self.resources and isinstance(argument[1], str):
                    return _Reference(resource, argument[1])
            return None
        if function == "Fn::ImportValue":
            name = self.text(argument, stack)
            if name in self.exports:
                exporter, exported = self.exports[name]
                return self.reference(exported, exporter)
        return None

    def referenced(self, value: Any, stack: str) -> ResourceId | None:
        found = self.reference(value, stack)
        return found.resource if found else None

    def text(self, value: Any, stack: str) -> str:
        """`value` as text: intrinsics rendered, pseudo parameters as `${AWS::...}`."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return json.dumps(value)
        if isinstance(value, list):
            return ",".join(self.text(item, stack) for item in value)
        if not isinstance(value, dict) or len(value) != 1:
            return json.dumps(value, sort_keys=True)
        (function, argument), *_ = value.items()
        if function == "Ref" and isinstance(argument, str):
            if argument.startswith("AWS::"):
                return "${" + argument + "}"
            resource = ResourceId(stack, argument)
            if self.type_of(resource) == "AWS::DynamoDB::Table":
                # A table's Ref is its name.
                return self.table_name(resource)
            return "${" + argument + "}"
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            separator, parts = argument
            if isinstance(parts, list):
                return str(separator).join(self.text(part, stack) for part in parts)
        if function == "Fn::Sub":
            template, variables = (argument, {}) if isinstance(argument, str) else argument
            rendered = str(template)
            for name, variable in (variables or {}).items():
                rendered = rendered.replace("${" + name + "}", self.text(variable, stack))
            return rendered
        if function == "Fn::ImportValue":
            name = self.text(argument, stack)
            if name in self.exports:
                exporter, exported = self.exports[name]
                return self.text(exported, exporter)
            return "${Import:" + name + "}"
        if function == "Fn::GetAtt":
            reference = self.reference(value, stack)
            if reference is not None and reference.attribute in ("Arn", "StreamArn"):
                # Written as an ARN, so `Fn::Join [GetAtt Table.Arn, "/index/*"]` parses.
                return self.arn_of(reference.resource, reference.attribute)
            parts = argument.split(".", 1) if isinstance(argument, str) else argument
            return "${" + ".".join(str(part) for part in parts) + "}"
        return json.dumps(value, sort_keys=True)

    def arn_of(self, resource: ResourceId, attribute: str) -> str:
        """The ARN a table, stream, DAX cluster or queue resolves to, with `${...}` parts."""
        kind = self.type_of(resource)
        prefix = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:"
        properties = self.resources[resource].get("Properties") or {}
        cluster, queue = properties.get("ClusterName"), properties.get("QueueName")
        if kind == _TABLE:
            arn = prefix % "dynamodb" + f"table/{self.table_name(resource)}"
            return arn + "/stream/${StreamLabel}" if attribute == "StreamArn" else arn
        if kind == _DAX and isinstance(cluster, str):
            return prefix % "dax" + f"cache/{cluster}"
        if kind == _QUEUE and isinstance(queue, str):
            return prefix % "sqs" + queue
        return "${" + f"{resource.logical_id}.{attribute}" + "}"

    def table_name(self, resource: ResourceId) -> str:
        name = (self.resources[resource].get("Properties") or {}).get("TableName")
        return name if isinstance(name, str) else resource.logical_id

    # -- the model

    def read(self) -> Assembly:
        tables = tuple(self.read_table(rid, props) for rid, props in self.of_type(_TABLE))
        self.tables_by_name = {table.name: table for table in tables}
        dax_clusters = tuple(self.read_dax(rid, props) for rid, props in self.of_type(_DAX))
        self.dax_by_name = {cluster.name: cluster for cluster in dax_clusters}
        queues = tuple(self.read_queue(rid, props) for rid, props in self.of_type(_QUEUE))
        self.queues_by_name = {queue.name: queue for queue in queues if queue.name}
        functions = tuple(self.read_function(rid, props) for rid, props in self.of_type(_FUNCTION))
        self.function_by_name = {function.name: function for function in functions}
        invoke_configs = dict(self.read_invoke_configs())
        functions = tuple(
            _with_invoke_config(function, invoke_configs.get(function.id)) for function in functions
        )
        stacks = tuple(
            Stack(
                name=artifact.name,
                stage=artifact.stage,
                description=str(self.templates[artifact.name].get("Description") or ""),
                template_file=artifact.template_file,
                dependencies=artifact.dependencies,
            )
            for artifact in self.artifacts
        )
        return Assembly(
            directory=self.directory,
            stage=self.stage,
            stacks=stacks,
            tables=tables,
            functions=functions,
            event_source_mappings=tuple(
                self.read_mapping(rid, props) for rid, props in self.of_type(_MAPPING)
            ),
            queues=queues,
            roles=tuple(self.read_role(rid, props) for rid, props in self.of_type(_ROLE)),
            grants=tuple(self.read_grants()),
            alarms=tuple(self.read_alarm(rid, props) for rid, props in self.of_type(_ALARM)),
            dax_clusters=dax_clusters,
            vpcs=tuple(self.read_vpc(rid, props) for rid, props in self.of_type(_VPC)),
            subnets=tuple(self.read_subnet(rid, props) for rid, props in self.of_type(_SUBNET)),
            security_groups=tuple(
                self.read_security_group(rid, props) for rid, props in self.of_type(_SG)
            ),
        )

    def read_table(self, rid: ResourceId, props: Mapping[str, Any]) -> Table:
        types = {
            definition["AttributeName"]: definition["AttributeType"]
            for definition in props.get("AttributeDefinitions") or ()
        }

        def keys(schema: Iterable[Mapping[str, str]]) -> tuple[KeyAttribute, KeyAttribute | None]:
            by_role = {key["KeyType"]: key["AttributeName"] for key in schema}
            partition = KeyAttribute(by_role["HASH"], types.get(by_role["HASH"], "?"))
            sort = by_role.get("RANGE")
            return partition, KeyAttribute(sort, types.get(sort, "?")) if sort else None

        indexes = []
        for kind, prop in ((IndexKind.GSI, "GlobalSecondaryIndexes"), (IndexKind.LSI, _LSIS)):
            for index in props.get(prop) or ():
                partition, sort = keys(index["KeySchema"])
                projection = index.get("Projection") or {}
                indexes.append(
                    SecondaryIndex(
                        name=index["IndexName"],
                        kind=kind,
                        partition_key=partition,
                        sort_key=sort,
                        projection=projection.get("ProjectionType", "ALL"),
                        non_key_attributes=tuple(projection.get("NonKeyAttributes") or ()),
                        capacity=_capacity(index.get("ProvisionedThroughput")),
                    )
                )
        partition, sort = keys(props["KeySchema"])
        ttl = props.get("TimeToLiveSpecification") or {}
        sse = props.get("SSESpecification") or {}
        if not sse.get("SSEEnabled"):
            encryption = "AWS owned key"
        elif sse.get("KMSMasterKeyId"):
            encryption = "customer managed key"
        else:
            encryption = "AWS managed key"
        return Table(
            id=rid,
            name=self.table_name(rid),
            path=self.path(rid),
            partition_key=partition,
            sort_key=sort,
            indexes=tuple(indexes),
            stream_view=(props.get("StreamSpecification") or {}).get("StreamViewType"),
            ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled", True) else None,
            billing_mode=props.get("BillingMode") or "PROVISIONED",
            capacity=_capacity(props.get("ProvisionedThroughput")),
            point_in_time_recovery=bool(
                (props.get("PointInTimeRecoverySpecification") or {}).get(
                    "PointInTimeRecoveryEnabled"
                )
            ),
            deletion_protection=bool(props.get("DeletionProtectionEnabled")),
            encryption=encryption,
        )

    def read_queue(self, rid: ResourceId, props: Mapping[str, Any]) -> Queue:
        if props.get("KmsMasterKeyId"):
            encryption = "KMS"
        elif props.get("SqsManagedSseEnabled") is False:
            encryption = "none"
        else:
            encryption = "SSE-SQS"  # the default for new queues
        name = props.get("QueueName")
        retention = props.get("MessageRetentionPeriod")
        return Queue(
            id=rid,
            path=self.path(rid),
            name=name if isinstance(name, str) else None,
            retention_s=int(retention) if retention is not None else None,
            encryption=encryption,
        )

    def read_function(self, rid: ResourceId, props: Mapping[str, Any]) -> Function:
        name = props.get("FunctionName")
        vpc_config = props.get("VpcConfig")
        vpc = None
        if vpc_config:
            vpc = VpcAttachment(
                subnets=self.resolved_all(vpc_config.get("SubnetIds"), rid.stack),
                security_groups=self.resolved_all(vpc_config.get("SecurityGroupIds"), rid.stack),
            )
        memory, timeout = props.get("MemorySize"), props.get("Timeout")
        return Function(
            id=rid,
            name=name if isinstance(name, str) else self.path(rid),
            path=self.path(rid),
            runtime=str(props.get("Runtime") or "container image"),
            architecture=",".join(props.get("Architectures") or ["x86_64"]),
            handler=str(props.get("Handler") or ""),
            memory_mb=int(memory) if memory is not None else None,
            timeout_s=int(timeout) if timeout is not None else None,
            role=self.referenced(props.get("Role"), rid.stack),
            dead_letter_queue=self.referenced(
                (props.get("DeadLetterConfig") or {}).get("TargetArn"), rid.stack
            ),
            vpc=vpc,
        )

    def resolved_all(self, values: Any, stack: str) -> tuple[ResourceId, ...]:
        found = (self.referenced(value, stack) for value in values or ())
        return tuple(resource for resource in found if resource is not None)

    def read_invoke_configs(
        self,
    ) -> Iterator[tuple[ResourceId, tuple[ResourceId | None, int | None]]]:
        for rid, props in self.of_type("AWS::Lambda::EventInvokeConfig"):
            function = self.function_id(props.get("FunctionName"), rid.stack)
            if function is None:
                continue
            destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                "Destination"
            )
            retries = props.get("MaximumRetryAttempts")
            yield (
                function,
                (
                    self.referenced(destination, rid.stack),
                    int(retries) if retries is not None else None,
                ),
            )

    def function_id(self, value: Any, stack: str) -> ResourceId | None:
        """A function given as Ref/GetAtt, or by name."""
        found = self.referenced(value, stack)
        if found is not None:
            return found
        name = self.text(value, stack)
        function = self.function_by_name.get(name.rsplit(":function:", 1)[-1])
        return function.id if function else None

    def read_mapping(self, rid: ResourceId, props: Mapping[str, Any]) -> EventSourceMapping:
        source = props.get("EventSourceArn")
        reference = self.reference(source, rid.stack)
        source_table = None
        if reference and reference.attribute == "StreamArn":
            source_table = reference.resource
        else:
            target = self.target(source, rid.stack)
            if target.kind is TargetKind.STREAM:
                source_table = target.resource
        destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        batch, retries, age = (
            props.get("BatchSize"),
            props.get("MaximumRetryAttempts"),
            props.get("MaximumRecordAgeInSeconds"),
        )
        return EventSourceMapping(
            id=rid,
            function=self.function_id(props.get("FunctionName"), rid.stack),
            source_table=source_table,
            source_text=self.text(source, rid.stack),
            batch_size=int(batch) if batch is not None else None,
            bisect_on_error=bool(props.get("BisectBatchOnFunctionError")),
            retry_attempts=int(retries) if retries is not None else None,
            max_record_age_s=int(age) if age is not None else None,
            starting_position=props.get("StartingPosition"),
            on_failure=self.referenced(destination, rid.stack),
            report_batch_item_failures="ReportBatchItemFailures"
            in (props.get("FunctionResponseTypes") or ()),
            enabled=props.get("Enabled", True) is not False,
        )

    def read_role(self, rid: ResourceId, props: Mapping[str, Any]) -> Role:
        principals: list[str] = []
        for statement in (props.get("AssumeRolePolicyDocument") or {}).get("Statement") or ():
            for kind, value in (statement.get("Principal") or {}).items():
                for principal in value if isinstance(value, list) else [value]:
                    principals.append(f"{kind}:{self.text(principal, rid.stack)}")
        return Role(
            id=rid,
            path=self.path(rid),
            assumed_by=tuple(principals),
            managed_policies=tuple(
                self.text(arn, rid.stack) for arn in props.get("ManagedPolicyArns") or ()
            ),
        )

    def read_grants(self) -> Iterator[Grant]:
        """Every Allow/Deny statement of every policy, per role and per resource."""
        for rid, props in self.of_type(_ROLE):
            for policy in props.get("Policies") or ():
                yield from self.statements(policy.get("PolicyDocument"), rid, [rid])
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for rid, props in self.of_type(kind):
                roles = self.resolved_all(props.get("Roles"), rid.stack)
                yield from self.statements(props.get("PolicyDocument"), rid, roles)

    def statements(
        self, document: Any, policy: ResourceId, roles: Iterable[ResourceId]
    ) -> Iterator[Grant]:
        roles = list(roles)
        for statement in (document or {}).get("Statement") or ():
            actions = statement.get("Action", statement.get("NotAction"))
            actions = tuple(sorted(actions if isinstance(actions, list) else [actions]))
            if "NotAction" in statement:
                actions = tuple(f"NOT {action}" for action in actions)
            resources = statement.get("Resource", statement.get("NotResource", "*"))
            for resource in resources if isinstance(resources, list) else [resources]:
                target = self.target(resource, policy.stack)
                for role in roles:
                    yield Grant(
                        role=role,
                        policy=policy,
                        effect=str(statement.get("Effect", "Allow")),
                        actions=actions,
                        target=target,
                    )

    def target(self, value: Any, stack: str) -> GrantTarget:
        """Resolve one IAM resource (or event source) to what it names in the assembly."""
        text = self.text(value, stack)
        reference = self.reference(value, stack)
        if reference is not None:
            kind = self.type_of(reference.resource)
            by_reference = _BY_REFERENCE.get((kind, reference.attribute))
            if by_reference is not None:
                return GrantTarget(by_reference, reference.resource, text=text)
        if text == "*":
            return GrantTarget(TargetKind.ANY, text=text)
        arn = _ARN.match(_PLACEHOLDER.sub("?", text))
        if arn is None:
            return GrantTarget(TargetKind.OTHER, text=text)
        service, rest = arn["service"], arn["rest"]
        if service == "dynamodb":
            match = _TABLE_RESOURCE.match(rest)
            table = self.tables_by_name.get(match["table"]) if match else None
            if match and table is not None:
                if match["kind"] == "index":
                    return GrantTarget(TargetKind.INDEX, table.id, match["sub"], text)
                if match["kind"] == "stream":
                    return GrantTarget(TargetKind.STREAM, table.id, text=text)
                return GrantTarget(TargetKind.TABLE, table.id, text=text)
        elif service == "dax" and rest.startswith("cache/"):
            cluster = self.dax_by_name.get(rest.removeprefix("cache/"))
            if cluster is not None:
                return GrantTarget(TargetKind.DAX_CLUSTER, cluster.id, text=text)
        elif service == "sqs" and rest in self.queues_by_name:
            return GrantTarget(TargetKind.QUEUE, self.queues_by_name[rest].id, text=text)
        return GrantTarget(TargetKind.OTHER, text=text)

    def read_alarm(self, rid: ResourceId, props: Mapping[str, Any]) -> Alarm:
        metrics: list[Mapping[str, Any]] = []
        if props.get("MetricName"):
            metrics.append(props)
        for query in props.get("Metrics") or ():
            metric = (query.get("MetricStat") or {}).get("Metric")
            if metric:
                metrics.append(metric)
        table = None
        for metric in metrics:
            for dimension in metric.get("Dimensions") or ():
                if dimension.get("Name") == "TableName" and table is None:
                    value = dimension.get("Value")
                    found = self.referenced(value, rid.stack)
                    named = self.tables_by_name.get(self.text(value, rid.stack))
                    table = found or (named.id if named else None)
        name = props.get("AlarmName")
        return Alarm(
            id=rid,
            name=name if isinstance(name, str) else self.path(rid),
            table=table,
            metrics=tuple(dict.fromkeys(str(metric.get("MetricName")) for metric in metrics)),
        )

    def read_dax(self, rid: ResourceId, props: Mapping[str, Any]) -> DaxCluster:
        subnets: tuple[ResourceId, ...] = ()
        parameters: tuple[tuple[str, str], ...] = ()
        subnet_group = self.referenced(props.get("SubnetGroupName"), rid.stack)
        if subnet_group is not None:
            group = self.resources[subnet_group].get("Properties") or {}
            subnets = self.resolved_all(group.get("SubnetIds"), rid.stack)
        parameter_group = self.referenced(props.get("ParameterGroupName"), rid.stack)
        if parameter_group is not None:
            values = (self.resources[parameter_group].get("Properties") or {}).get(
                "ParameterNameValues"
            ) or {}
            parameters = tuple((str(key), str(value)) for key, value in values.items())
        name = props.get("ClusterName")
        return DaxCluster(
            id=rid,
            name=name if isinstance(name, str) else self.path(rid),
            node_type=str(props.get("NodeType")),
            replication_factor=int(props.get("ReplicationFactor") or 1),
            endpoint_encryption=str(props.get("ClusterEndpointEncryptionType") or "NONE"),
            sse_enabled=bool((props.get("SSESpecification") or {}).get("SSEEnabled")),
            role=self.referenced(props.get("IAMRoleARN"), rid.stack),
            subnets=subnets,
            security_groups=self.resolved_all(props.get("SecurityGroupIds"), rid.stack),
            parameters=parameters,
        )

    def read_vpc(self, rid: ResourceId, props: Mapping[str, Any]) -> Vpc:
        endpoints = []
        for endpoint_id, endpoint in self.of_type("AWS::EC2::VPCEndpoint"):
            if self.referenced(endpoint.get("VpcId"), endpoint_id.stack) == rid:
                service = self.text(endpoint.get("ServiceName"), endpoint_id.stack)
                kind = endpoint.get("VpcEndpointType", "Gateway")
                endpoints.append(f"{kind} {service.rsplit('.', 1)[-1]}")
        flow_logs = any(
            self.referenced(log.get("ResourceId"), log_id.stack) == rid
            for log_id, log in self.of_type("AWS::EC2::FlowLog")
        )
        return Vpc(
            id=rid,
            path=self.path(rid),
            cidr=str(props.get("CidrBlock", "")),
            endpoints=tuple(endpoints),
            flow_logs=flow_logs,
        )

    def read_subnet(self, rid: ResourceId, props: Mapping[str, Any]) -> Subnet:
        zone = props.get("AvailabilityZone")
        if isinstance(zone, dict) and "Fn::Select" in zone:
            zone_text = f"AZ {int(zone['Fn::Select'][0]) + 1}"
        else:
            zone_text = self.text(zone, rid.stack) if zone is not None else "any AZ"
        tags = {tag.get("Key"): tag.get("Value") for tag in props.get("Tags") or ()}
        return Subnet(
            id=rid,
            path=self.path(rid),
            vpc=self.referenced(props.get("VpcId"), rid.stack),
            cidr=str(props.get("CidrBlock", "")),
            availability_zone=zone_text,
            kind=tags.get("aws-cdk:subnet-type"),
        )

    def read_security_group(self, rid: ResourceId, props: Mapping[str, Any]) -> SecurityGroup:
        rules = [
            self.ingress_rule(rule, rid.stack) for rule in props.get("SecurityGroupIngress") or ()
        ]
        for ingress_id, ingress in self.of_type("AWS::EC2::SecurityGroupIngress"):
            if self.referenced(ingress.get("GroupId"), ingress_id.stack) == rid:
                rules.append(self.ingress_rule(ingress, ingress_id.stack))
        egress = props.get("SecurityGroupEgress") or ()
        return SecurityGroup(
            id=rid,
            path=self.path(rid),
            description=str(props.get("GroupDescription", "")),
            vpc=self.referenced(props.get("VpcId"), rid.stack),
            ingress=tuple(rules),
            egress_all=any(
                rule.get("IpProtocol") == "-1" and rule.get("CidrIp") == "0.0.0.0/0"
                for rule in egress
            ),
        )

    def ingress_rule(self, rule: Mapping[str, Any], stack: str) -> IngressRule:
        from_port, to_port = rule.get("FromPort"), rule.get("ToPort")
        return IngressRule(
            protocol=str(rule.get("IpProtocol", "-1")),
            from_port=int(from_port) if from_port is not None else None,
            to_port=int(to_port) if to_port is not None else None,
            source_group=self.referenced(rule.get("SourceSecurityGroupId"), stack),
            source_cidr=rule.get("CidrIp") or rule.get("CidrIpv6"),
            description=str(rule.get("Description", "")),
        )


_TABLE = "AWS::DynamoDB::Table"
_LSIS = "LocalSecondaryIndexes"
_DAX = "AWS::DAX::Cluster"
_QUEUE = "AWS::SQS::Queue"
_FUNCTION = "AWS::Lambda::Function"
_MAPPING = "AWS::Lambda::EventSourceMapping"
_ROLE = "AWS::IAM::Role"
_ALARM = "AWS::CloudWatch::Alarm"
_VPC = "AWS::EC2::VPC"
_SUBNET = "AWS::EC2::Subnet"
_SG = "AWS::EC2::SecurityGroup"

# (resource type, GetAtt attribute) -> what a policy resource of that shape is.
_BY_REFERENCE: dict[tuple[str | None, str | None], TargetKind] = {
    (_TABLE, "Arn"): TargetKind.TABLE,
    (_TABLE, "StreamArn"): TargetKind.STREAM,
    (_DAX, "Arn"): TargetKind.DAX_CLUSTER,
    (_QUEUE, "Arn"): TargetKind.QUEUE,
    ("AWS::Logs::LogGroup", "Arn"): TargetKind.LOG_GROUP,
    ("AWS::KMS::Key", "Arn"): TargetKind.KMS_KEY,
}


def _capacity(throughput: Mapping[str, Any] | None) -> tuple[int, int] | None:
    if not throughput:
        return None
    return int(throughput["ReadCapacityUnits"]), int(throughput["WriteCapacityUnits"])


def _with_invoke_config(
    function: Function, config: tuple[ResourceId | None, int | None] | None
) -> Function:
    if config is None:
        return function
    on_failure, retries = config
    return replace(function, on_failure=on_failure, async_retries=retries)
