"""Typed, frozen stage configuration: every difference between `local` and `prod`.

This module imports nothing from `aws_cdk`, so the Lambda code, the data scripts and the
tests can read the same table definitions and physical names the stacks deploy, cheaply.
Only `app.py` chooses a stage (from CDK context); everything else receives a `StageConfig`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

# The module, not its list: a stage reads `FUNCTIONS` when it is built (tests extend it).
from datamodel import functions as function_specs
from datamodel.functions import FunctionSpec
from datamodel.tables import (
    AutoScaling,
    Capacity,
    ConfigError,
    ImportCompression,
    ImportFormat,
    ImportSource,
    ScalingRange,
    TableSpec,
    tutorial_tables,
)

_Choice = TypeVar("_Choice", bound=StrEnum)


class Encryption(StrEnum):
    """Server-side encryption of tables: AWS-owned key, or a customer-managed KMS key."""

    AWS_OWNED = "aws_owned"
    CUSTOMER_MANAGED = "customer_managed"


class Billing(StrEnum):
    """How a stage's tables pay for throughput: per request, or provisioned (optionally
    auto scaled)."""

    ON_DEMAND = "on_demand"
    PROVISIONED = "provisioned"
    AUTOSCALED = "autoscaled"


@dataclass(frozen=True)
class DaxConfig:
    """The DAX cluster in front of the cached tables, with its own isolated VPC."""

    enabled: bool
    cluster_name: str = "tasks-cache"
    node_type: str = "dax.t3.small"
    replication_factor: int = 3
    # Subnets (one per availability zone) in the DAX VPC; DAX needs at least one.
    subnet_count: int = 2
    vpc_cidr: str = "10.42.0.0/16"
    item_ttl_ms: int = 300_000
    query_ttl_ms: int = 300_000
    cached_tables: tuple[str, ...] = ("tasks",)
    port: int = 9111  # the TLS port; 8111 is the unencrypted one, which we never open

    def validate(self, table_keys: tuple[str, ...]) -> None:
        """Raise `ConfigError` when an enabled cluster could not be created."""
        if not self.enabled:
            return
        if self.subnet_count < 1:
            raise ConfigError(
                "dax: DAX is enabled but has no subnets (dax.subnet_count must be at least 1)"
            )
        if not _DAX_NAME.fullmatch(self.cluster_name):
            raise ConfigError(
                f"dax: cluster name {self.cluster_name!r} must be 1-20 characters, start with a "
                "letter and contain only lowercase letters, digits and single hyphens"
            )
        if not 1 <= self.replication_factor <= 11:
            raise ConfigError("dax: replication_factor must be between 1 and 11")
        if not self.node_type.startswith("dax."):
            raise ConfigError(f"dax: node_type {self.node_type!r} is not a DAX node type")
        for label, ttl in (("item_ttl_ms", self.item_ttl_ms), ("query_ttl_ms", self.query_ttl_ms)):
            if ttl < 0:
                raise ConfigError(f"dax: {label} must not be negative")
        if not self.cached_tables:
            raise ConfigError("dax: DAX is enabled but caches no table (dax.cached_tables)")
        unknown = sorted(set(self.cached_tables) - set(table_keys))
        if unknown:
            raise ConfigError(f"dax: cached_tables {unknown} are not tables of this stage")


@dataclass(frozen=True)
class StreamProcessing:
    """How the message-stream function consumes the messages table's stream."""

    # Lambda's default for DynamoDB streams. The function applies a group's newest message
    # once per batch, so bigger batches mean fewer group moves when it falls behind.
    batch_size: int = 100
    retry_attempts: int = 3
    max_record_age_s: int = 3600
    bisect_on_error: bool = True
    # Batches per shard at once; a partition key (a message group) stays in one, in order.
    parallelization_factor: int = 4
    # With alarms on: alarm when the newest record a batch read was older than this.
    iterator_age_alarm_s: int = 300

    def validate(self) -> None:
        """Raise `ConfigError` for values the event source mapping API would reject."""
        if not 1 <= self.batch_size <= 10_000:
            raise ConfigError("stream_processing.batch_size must be between 1 and 10000")
        if not 1 <= self.parallelization_factor <= 10:
            raise ConfigError("stream_processing.parallelization_factor must be between 1 and 10")
        if not 0 <= self.retry_attempts <= 10_000:
            raise ConfigError("stream_processing.retry_attempts must be between 0 and 10000")
        if not 60 <= self.max_record_age_s <= 604_800:
            raise ConfigError("stream_processing.max_record_age_s must be between 60 and 604800")
        if not 1 <= self.iterator_age_alarm_s <= self.max_record_age_s:
            raise ConfigError(
                "stream_processing.iterator_age_alarm_s must be between 1 and max_record_age_s "
                f"({self.max_record_age_s}): older records are discarded, never seen"
            )


@dataclass(frozen=True)
class BackupConfig:
    """An AWS Backup plan over the stage's tables: daily and monthly recovery points."""

    enabled: bool
    daily_retention_days: int = 35
    monthly_retention_days: int = 365

    def validate(self) -> None:
        """Raise `ConfigError` for retentions AWS Backup would refuse or that make no sense."""
        if not self.enabled:
            return
        for label in ("daily_retention_days", "monthly_retention_days"):
            days = getattr(self, label)
            if isinstance(days, bool) or not isinstance(days, int) or days < 1:
                raise ConfigError(f"backups.{label} must be a positive integer, got {days!r}")
        if self.monthly_retention_days < 31:
            raise ConfigError(
                "backups.monthly_retention_days must be at least 31: a monthly point kept "
                "for less is gone before the next one is taken"
            )


@dataclass(frozen=True)
class Replica:
    """A global-table replica of every table in another region, with that region's KMS key
    when the tables use a customer-managed key (a key cannot leave its region)."""

    region: str
    key_arn: str | None = None


def _unknown_function(owner: str, key: str, known: Sequence[str]) -> str:
    return f"{owner} has no function {key!r}; known: {list(known)}"


_PerFunction = TypeVar("_PerFunction")


class _ByFunctionKey(Generic[_PerFunction]):
    """`x.<key>` reads `x["<key>"]`: a function key only, never a dataclass field or an
    underscored name (copy, pickle and dataclasses probe those, and a field looked up before
    it is set, while unpickling, must not recurse)."""

    def __getitem__(self, key: str) -> _PerFunction:
        raise NotImplementedError

    def __getattr__(self, key: str) -> _PerFunction:
        if key.startswith("_") or key in {f.name for f in fields(type(self))}:  # type: ignore[arg-type]
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError as error:
            raise AttributeError(error.args[0]) from None


@dataclass(frozen=True)
class FunctionNames(_ByFunctionKey[str]):
    """Physical Lambda function names by function key: `names["tasks"]` or `names.tasks`.

    Built from the `FunctionSpec`s (`datamodel.functions.FUNCTIONS`), in their order, so a
    new function is named on every stage without an edit here.
    """

    by_key: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, functions: Sequence[FunctionSpec]) -> FunctionNames:
        """Each function named as its spec says (the tutorials' and local stage's names)."""
        return cls(tuple((spec.key, spec.name) for spec in functions))

    def suffixed(self, suffix: str) -> FunctionNames:
        """Every name followed by `suffix` (`-prod`)."""
        return FunctionNames(tuple((key, f"{name}{suffix}") for key, name in self.by_key))

    def keys(self) -> tuple[str, ...]:
        """Every function's key, in declaration order."""
        return tuple(key for key, _ in self.by_key)

    def all(self) -> tuple[str, ...]:
        """Every function's name, in declaration order."""
        return tuple(name for _, name in self.by_key)

    def __getitem__(self, key: str) -> str:
        for known, name in self.by_key:
            if known == key:
                return name
        raise KeyError(_unknown_function("FunctionNames", key, self.keys()))


@dataclass(frozen=True)
class FunctionConcurrency(_ByFunctionKey[int]):
    """Reserved concurrent executions per function: the stage's `default` for each, except
    where `overrides` names the function (`reserved["tasks"]` or `reserved.tasks`).

    Each reservation is taken out of the account's regional pool, of which Lambda keeps 100
    unreserved, so an account's concurrency quota must exceed `total()` by at least that.
    """

    functions: tuple[str, ...]  # the keys of the functions it reserves for
    default: int
    overrides: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(
        cls, functions: Sequence[FunctionSpec], *, default: int, **overrides: int
    ) -> FunctionConcurrency:
        """`default` for each of `functions`, except those named in `overrides` by key."""
        return cls(tuple(spec.key for spec in functions), default, tuple(overrides.items()))

    def __getitem__(self, key: str) -> int:
        if key not in self.functions:
            raise KeyError(_unknown_function("FunctionConcurrency", key, self.functions))
        return dict(self.overrides).get(key, self.default)

    def total(self) -> int:
        """What the stage reserves in all."""
        return sum(self[key] for key in self.functions)

    def validate(self) -> None:
        """Raise `ConfigError` for a reservation Lambda would refuse or that stops a function,
        and for an override of no function."""
        named = [key for key, _ in self.overrides]
        unknown = sorted(set(named) - set(self.functions))
        if unknown:
            raise ConfigError(
                f"reserved_concurrency: overrides {unknown} name no function; "
                f"known: {list(self.functions)}"
            )
        if len(set(named)) != len(named):
            raise ConfigError(f"reserved_concurrency: a function is overridden twice in {named}")
        for label, value in (("default", self.default), *self.overrides):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                # 0 is valid for Lambda, but it throttles every invocation.
                raise ConfigError(
                    f"reserved_concurrency.{label} must be a positive integer, got {value!r}"
                )


@dataclass(frozen=True)
class StageConfig:
    """Everything that differs between stages. Build one with `stage_config()`."""

    name: str
    region: str
    tables: tuple[TableSpec, ...]
    functions: FunctionNames
    reserved_concurrency: FunctionConcurrency
    dax: DaxConfig
    retain_data: bool
    point_in_time_recovery: bool
    deletion_protection: bool
    encryption: Encryption
    alarms: bool
    stream_processing: StreamProcessing = field(default_factory=StreamProcessing)
    log_retention_days: int = 30
    lambda_memory_mb: int = 256
    lambda_timeout_s: int = 10
    alarm_topic_arn: str | None = None
    # Ship lambda_src/requirements.txt's packages (the DAX client) inside the code asset.
    # The local cloud runs handlers with the repo's own environment, which already has them.
    bundle_dependencies: bool = False
    # Run the cdk-nag packs in every `cdk synth` of this stage (an unacknowledged finding then
    # fails synth and deploy). On for every stage; `-c nag=false` skips them for a quick
    # iteration. The test suite runs them on every stage regardless.
    nag_on_synth: bool = True
    # Tag each function so that the local cloud runs it from the working tree (`lambda_src/`)
    # and restarts its workers when a file there changes; configuration still needs a deploy.
    # Refused for prod: AWS runs the deployed zip whatever the tag says.
    hot_reload: bool = False
    backups: BackupConfig = field(default_factory=lambda: BackupConfig(enabled=False))
    # Global tables: every table replicated to these regions (AWS::DynamoDB::GlobalTable).
    replicas: tuple[Replica, ...] = ()
    # CloudWatch Contributor Insights on every table and GSI (most-accessed and most-throttled
    # keys); charged per event, so off unless asked for.
    contributor_insights: bool = False
    # One CloudWatch dashboard for the stage: tables, functions, the stream mapping.
    dashboard: bool = True
    # Appended to the stack names and every physical name (`Tasks-prod-ci42`), so that one
    # account can hold several copies of a stage (the `aws` tests deploy one each).
    name_suffix: str = ""

    @property
    def stack_prefix(self) -> str:
        """Prefix of this stage's CloudFormation stack names."""
        suffix = f"-{self.name_suffix}" if self.name_suffix else ""
        return f"dynamo-backend-{self.name}{suffix}"

    def table(self, key: str) -> TableSpec:
        """The table with logical key `key` (`tasks`, `users`, `messages`)."""
        for spec in self.tables:
            if spec.key == key:
                return spec
        raise KeyError(f"stage {self.name} has no table {key!r}")

    def validate(self) -> None:
        """Raise `ConfigError` naming the first problem in this stage."""
        if self.name not in STAGES:
            raise ConfigError(f"unknown stage {self.name!r}; choose one of {sorted(STAGES)}")
        keys = tuple(spec.key for spec in self.tables)
        if len(set(keys)) != len(keys):
            raise ConfigError(f"stage {self.name}: table keys must be unique, got {keys}")
        names = [spec.table_name for spec in self.tables]
        if len(set(names)) != len(names):
            raise ConfigError(f"stage {self.name}: table names must be unique, got {names}")
        for required in ("tasks", "users", "messages"):
            if required not in keys:
                raise ConfigError(f"stage {self.name}: the {required!r} table is missing")
        for spec in self.tables:
            spec.validate()
        if self.table("messages").stream is None:
            raise ConfigError(
                f"stage {self.name}: the messages table needs a stream for message-stream"
            )
        self.dax.validate(keys)
        self.stream_processing.validate()
        self._validate_functions()
        if self.stream_processing.parallelization_factor > self.reserved_concurrency.message_stream:
            raise ConfigError(
                "stream_processing.parallelization_factor "
                f"{self.stream_processing.parallelization_factor} exceeds "
                f"reserved_concurrency.message_stream {self.reserved_concurrency.message_stream}: "
                "the extra batches of a shard would only be throttled"
            )
        if self.log_retention_days not in LOG_RETENTION:
            raise ConfigError(
                f"log_retention_days {self.log_retention_days} is not a CloudWatch retention "
                f"(one of {sorted(LOG_RETENTION)})"
            )
        if not 128 <= self.lambda_memory_mb <= 10_240:
            raise ConfigError("lambda_memory_mb must be between 128 and 10240")
        if not 1 <= self.lambda_timeout_s <= 900:
            raise ConfigError("lambda_timeout_s must be between 1 and 900")
        if not _REGION.fullmatch(self.region):
            raise ConfigError(f"region {self.region!r} is not an AWS region name")
        self.backups.validate()
        self._validate_replicas()
        if self.hot_reload and self.name != "local":
            raise ConfigError(
                f"hot_reload is for the local cloud; stage {self.name} deploys to AWS, which "
                "runs only the deployed code"
            )

    def _validate_functions(self) -> None:
        keys = self.functions.keys()
        if len(set(keys)) != len(keys):
            raise ConfigError(f"stage {self.name}: function keys must be unique, got {keys}")
        for key in keys:
            if not _FUNCTION_KEY.fullmatch(key) or key in _NOT_FUNCTION_KEYS:
                raise ConfigError(
                    f"function key {key!r} must be a lowercase identifier (a module name) "
                    "that names no attribute of FunctionNames or FunctionConcurrency"
                )
        names = self.functions.all()
        if len(set(names)) != len(names):
            raise ConfigError(f"stage {self.name}: function names must be unique, got {names}")
        if self.reserved_concurrency.functions != keys:
            raise ConfigError(
                f"reserved_concurrency reserves for {list(self.reserved_concurrency.functions)}, "
                f"but the stage's functions are {list(keys)}"
            )
        self.reserved_concurrency.validate()

    def _validate_replicas(self) -> None:
        imported = [spec.key for spec in self.tables if spec.import_source is not None]
        if self.replicas and imported:
            raise ConfigError(
                f"replicas: tables {imported} import from S3, which a global table cannot; "
                "import into a regional table first, then add replicas"
            )
        regions = [replica.region for replica in self.replicas]
        if len(set(regions)) != len(regions):
            raise ConfigError(f"replicas: a region is named twice in {regions}")
        for replica in self.replicas:
            if not _REGION.fullmatch(replica.region):
                raise ConfigError(f"replicas: {replica.region!r} is not an AWS region name")
            if replica.region == self.region:
                raise ConfigError(
                    f"replicas: {replica.region} is the stage's own region; name other regions"
                )
            customer_managed = self.encryption is Encryption.CUSTOMER_MANAGED
            if customer_managed and not replica.key_arn:
                raise ConfigError(
                    f"replicas: {replica.region} needs a KMS key ARN of that region "
                    "(`-c replicas=<region>=<key arn>`) with customer-managed encryption"
                )
            if replica.key_arn and not customer_managed:
                raise ConfigError(
                    f"replicas: a key for {replica.region} is only used with "
                    "encryption=customer_managed"
                )
            if replica.key_arn and f":kms:{replica.region}:" not in replica.key_arn:
                raise ConfigError(
                    f"replicas: {replica.key_arn!r} is not a KMS key ARN in {replica.region}"
                )


_DAX_NAME = re.compile(r"[a-z](?:-?[a-z0-9]){0,19}")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d")
_SUFFIX = re.compile(r"[a-z0-9]{1,12}")
_FUNCTION_KEY = re.compile(r"[a-z][a-z0-9_]*")
# A key that is already an attribute would be shadowed in `names.<key>`/`reserved.<key>`.
_NOT_FUNCTION_KEYS = frozenset(
    name
    for kind in (FunctionNames, FunctionConcurrency)
    for name in (*dir(kind), *(f.name for f in fields(kind)))
)
# CloudWatch Logs' retention periods: days -> the `aws_logs.RetentionDays` member.
LOG_RETENTION: dict[int, str] = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}

# Provisioned tables and GSIs start at this capacity; `autoscaled` then moves it in range.
PROVISIONED_CAPACITY = Capacity(read=5, write=5)
DEFAULT_AUTOSCALING = AutoScaling(
    read=ScalingRange(minimum=5, maximum=1000),
    write=ScalingRange(minimum=5, maximum=1000),
    target_utilization_percent=70,
)


def with_billing(tables: tuple[TableSpec, ...], billing: Billing) -> tuple[TableSpec, ...]:
    """`tables` (and their GSIs) billed as `billing` says."""
    capacity = None if billing is Billing.ON_DEMAND else PROVISIONED_CAPACITY
    autoscaling = DEFAULT_AUTOSCALING if billing is Billing.AUTOSCALED else None
    return tuple(
        replace(
            spec,
            capacity=capacity,
            autoscaling=autoscaling,
            global_indexes=tuple(replace(i, capacity=capacity) for i in spec.global_indexes),
        )
        for spec in tables
    )


def _local() -> StageConfig:
    return StageConfig(
        name="local",
        region="us-east-1",
        tables=tutorial_tables(
            names={"tasks": "Tasks", "users": "Users", "messages": "cruddur-messages"},
            capacity=PROVISIONED_CAPACITY,
        ),
        functions=FunctionNames.of(function_specs.FUNCTIONS),
        # The local cloud runs at most this many workers of a function at once: 4 is its
        # default cap (LOCALCLOUD_MAX_WORKERS), so local behaves as without a reservation.
        reserved_concurrency=FunctionConcurrency.of(function_specs.FUNCTIONS, default=4),
        dax=DaxConfig(enabled=False),
        retain_data=False,
        point_in_time_recovery=False,
        deletion_protection=False,
        encryption=Encryption.AWS_OWNED,
        alarms=False,
        log_retention_days=7,
        hot_reload=True,
    )


def _prod() -> StageConfig:
    return StageConfig(
        name="prod",
        region="us-east-1",
        tables=tutorial_tables(
            names={
                "tasks": "Tasks-prod",
                "users": "Users-prod",
                "messages": "cruddur-messages-prod",
            },
            capacity=None,
        ),
        functions=FunctionNames.of(function_specs.FUNCTIONS).suffixed("-prod"),
        # 50 a function (the three of the tutorials: 120 of an account's default 1,000): no
        # function can starve the others or the rest of the account. message-stream runs
        # `parallelization_factor` (4) batches per stream shard at a time, so 20 serves a
        # messages stream of up to 5 shards at full speed.
        reserved_concurrency=FunctionConcurrency.of(
            function_specs.FUNCTIONS, default=50, message_stream=20
        ),
        dax=DaxConfig(enabled=True, cluster_name="tasks-cache-prod"),
        retain_data=True,
        point_in_time_recovery=True,
        deletion_protection=True,
        encryption=Encryption.AWS_OWNED,
        alarms=True,
        log_retention_days=90,
        bundle_dependencies=True,
        backups=BackupConfig(enabled=True),
    )


STAGES = {"local": _local, "prod": _prod}

# The Lambda tag by which a function asks the local cloud to run it from the working tree
# (`localcloud/hot_reload.py`); its value is the source folder relative to the app. A tag,
# not an environment variable: the handler never sees it, and AWS and the other local clouds
# ignore it.
HOT_RELOAD_TAG = "localcloud:hot-reload"


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def stage_config(name: str = "local", overrides: Mapping[str, Any] | None = None) -> StageConfig:
    """Build and validate the configuration of stage `name`.

    `overrides` come from CDK context (`-c key=value`): `region`, `dax` (on/off),
    `encryption` (`aws_owned`|`customer_managed`), `alarms` (on/off), `alarm_topic_arn`,
    `nag` (run the cdk-nag packs in synth: on/off), `hot_reload` (local only: on/off),
    `billing` (`on_demand`|`provisioned`|`autoscaled`), `backups` (on/off),
    `replicas` (`us-west-2,eu-west-1`, each optionally `=<KMS key ARN>`),
    `contributor_insights` (on/off), `dashboard` (on/off), `import_<table key>`
    (`s3://bucket/prefix`: seed that new table from S3) with `import_format` and
    `import_compression`, `suffix` (appended to every stack and physical name). Unknown
    keys are refused so a typo cannot silently deploy the defaults.
    """
    if name not in STAGES:
        raise ConfigError(f"unknown stage {name!r}; choose one of {sorted(STAGES)}")
    config = STAGES[name]()
    overrides = dict(overrides or {})
    table_keys = {spec.key for spec in config.tables}
    imports = {f"import_{key}": key for key in table_keys}
    unknown = sorted(set(overrides) - _OVERRIDABLE - set(imports))
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown}; known: {sorted(_OVERRIDABLE)}")
    changes: dict[str, Any] = {}
    if "region" in overrides:
        changes["region"] = str(overrides["region"])
    if "dax" in overrides:
        changes["dax"] = replace(config.dax, enabled=_as_bool("dax", overrides["dax"]))
    if "alarms" in overrides:
        changes["alarms"] = _as_bool("alarms", overrides["alarms"])
    if "nag" in overrides:
        changes["nag_on_synth"] = _as_bool("nag", overrides["nag"])
    if "hot_reload" in overrides:
        changes["hot_reload"] = _as_bool("hot_reload", overrides["hot_reload"])
    if "alarm_topic_arn" in overrides:
        changes["alarm_topic_arn"] = str(overrides["alarm_topic_arn"]) or None
    if "encryption" in overrides:
        changes["encryption"] = _choice("encryption", Encryption, overrides["encryption"])
    for name in ("backups", "contributor_insights", "dashboard"):
        if name in overrides:
            enabled = _as_bool(name, overrides[name])
            changes[name] = (
                replace(config.backups, enabled=enabled) if name == "backups" else enabled
            )
    if "replicas" in overrides:
        changes["replicas"] = _replicas(str(overrides["replicas"]))
    tables = config.tables
    if "suffix" in overrides:
        suffix = str(overrides["suffix"])
        if not _SUFFIX.fullmatch(suffix):
            raise ConfigError(f"suffix must be 1-12 characters of a-z 0-9, got {suffix!r}")
        changes["name_suffix"] = suffix
        tables = tuple(replace(t, table_name=f"{t.table_name}-{suffix}") for t in tables)
        changes["functions"] = config.functions.suffixed(f"-{suffix}")
        dax = changes.get("dax", config.dax)
        changes["dax"] = replace(
            dax, cluster_name=f"{dax.cluster_name[: 19 - len(suffix)]}-{suffix}".replace("--", "-")
        )
    if "billing" in overrides:
        tables = with_billing(tables, _choice("billing", Billing, overrides["billing"]))
    sources = {
        key: ImportSource.from_url(
            str(overrides[option]),
            input_format=_choice(
                "import_format", ImportFormat, overrides.get("import_format", "dynamodb_json")
            ),
            compression=_choice(
                "import_compression", ImportCompression, overrides.get("import_compression", "gzip")
            ),
        )
        for option, key in imports.items()
        if option in overrides
    }
    if not sources and ({"import_format", "import_compression"} & set(overrides)):
        raise ConfigError("import_format and import_compression need an import_<table> source")
    changes["tables"] = tuple(
        replace(spec, import_source=sources[spec.key]) if spec.key in sources else spec
        for spec in tables
    )
    config = replace(config, **changes)
    config.validate()
    return config


def _choice(name: str, kind: type[_Choice], value: Any) -> _Choice:
    try:
        return kind(str(value))
    except ValueError:
        raise ConfigError(
            f"{name} must be one of {[member.value for member in kind]}, got {value!r}"
        ) from None


def _replicas(text: str) -> tuple[Replica, ...]:
    """`us-west-2,eu-west-1=arn:aws:kms:eu-west-1:...` as replicas (empty: none)."""
    replicas: list[Replica] = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        region, _, key_arn = entry.partition("=")
        replicas.append(Replica(region=region.strip(), key_arn=key_arn.strip() or None))
    return tuple(replicas)


_OVERRIDABLE = frozenset(
    {
        "region",
        "dax",
        "alarms",
        "alarm_topic_arn",
        "encryption",
        "nag",
        "hot_reload",
        "billing",
        "backups",
        "replicas",
        "contributor_insights",
        "dashboard",
        "import_format",
        "import_compression",
        "suffix",
    }
)
