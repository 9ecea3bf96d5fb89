"""The stage config: defaults per stage, overrides, and invalid settings refused by name."""

from __future__ import annotations

import copy
import pickle
from dataclasses import replace
from typing import Any

import pytest

from datamodel import functions as function_specs
from datamodel.functions import FUNCTIONS, FunctionSpec
from datamodel.tables import (
    AttributeType,
    AutoScaling,
    Capacity,
    ConfigError,
    IndexSpec,
    ScalingRange,
    TableSpec,
)
from stacks.config import (
    BackupConfig,
    Encryption,
    FunctionConcurrency,
    FunctionNames,
    StreamProcessing,
    stage_config,
)


def test_local_follows_the_tutorials() -> None:
    config = stage_config()
    assert config.name == "local"
    assert [t.table_name for t in config.tables] == ["Tasks", "Users", "cruddur-messages"]
    assert config.table("users").global_indexes[0].name == "EmailIndex"
    assert config.functions.user_manager == "user-manager"
    assert not config.dax.enabled and not config.alarms and not config.retain_data


def test_prod_protects_data_and_enables_dax() -> None:
    config = stage_config("prod")
    assert config.point_in_time_recovery and config.deletion_protection and config.retain_data
    assert config.dax.enabled and config.alarms
    assert all(spec.capacity is None for spec in config.tables)  # on-demand


@pytest.mark.parametrize("stage", ["local", "prod"])
def test_every_declared_function_has_a_name_and_a_reservation(stage: str) -> None:
    config = stage_config(stage)
    keys = tuple(function.key for function in FUNCTIONS)
    assert config.functions.keys() == config.reserved_concurrency.functions == keys


def test_function_names_derive_from_the_specs_as_before() -> None:
    local, prod = stage_config("local"), stage_config("prod")
    assert local.functions.all() == tuple(spec.name for spec in FUNCTIONS)
    assert prod.functions.all() == tuple(f"{spec.name}-prod" for spec in FUNCTIONS)
    # The physical names deployed so far: renaming one replaces the function.
    assert local.functions.all() == ("user-manager", "message-stream", "tasks")
    assert (prod.functions.user_manager, prod.functions["tasks"]) == (
        "user-manager-prod",
        "tasks-prod",
    )


def test_reservations_are_a_stage_default_with_named_overrides() -> None:
    local, prod = (
        stage_config("local").reserved_concurrency,
        stage_config("prod").reserved_concurrency,
    )
    assert [local[spec.key] for spec in FUNCTIONS] == [4, 4, 4]
    assert (prod.user_manager, prod.message_stream, prod.tasks) == (50, 20, 50)
    assert (prod.default, prod.overrides) == (50, (("message_stream", 20),))
    assert (local.total(), prod.total()) == (12, 120)


def test_a_declared_function_is_named_and_reserved_on_every_stage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reports = FunctionSpec("reports", "reports", "reports.handler.lambda_handler")
    monkeypatch.setattr(function_specs, "FUNCTIONS", (*FUNCTIONS, reports))
    local, prod = stage_config("local"), stage_config("prod", {"suffix": "ci42"})
    assert (local.functions.reports, prod.functions.reports) == ("reports", "reports-prod-ci42")
    assert (local.reserved_concurrency.reports, prod.reserved_concurrency.reports) == (4, 50)
    assert prod.reserved_concurrency.total() == 170


def test_an_unknown_function_is_refused_by_name() -> None:
    config = stage_config()
    known = "; known: ['user_manager', 'message_stream', 'tasks']"
    with pytest.raises(AttributeError) as by_attribute:
        _ = config.functions.reports
    assert str(by_attribute.value) == "FunctionNames has no function 'reports'" + known
    with pytest.raises(KeyError, match="FunctionNames has no function 'reports'"):
        config.functions["reports"]
    with pytest.raises(AttributeError) as by_attribute:
        _ = config.reserved_concurrency.reports
    assert str(by_attribute.value) == "FunctionConcurrency has no function 'reports'" + known
    with pytest.raises(KeyError, match="FunctionConcurrency has no function 'reports'"):
        config.reserved_concurrency["reports"]
    assert not hasattr(config.functions, "__deepcopy__")  # dunders are never function keys


def test_the_function_mappings_copy_pickle_and_hash() -> None:
    config = stage_config("prod", {"suffix": "ci42"})
    for value in (config.functions, config.reserved_concurrency, config):
        assert pickle.loads(pickle.dumps(value)) == value
        assert copy.deepcopy(value) == copy.copy(value) == value
        assert hash(value) == hash(copy.deepcopy(value))


def test_an_override_of_no_function_is_refused() -> None:
    config = stage_config("prod")
    broken = replace(
        config, reserved_concurrency=FunctionConcurrency.of(FUNCTIONS, default=5, reports=3)
    )
    with pytest.raises(
        ConfigError, match=r"reserved_concurrency: overrides \['reports'\] name no function"
    ):
        broken.validate()


def test_names_and_reservations_must_cover_the_same_functions() -> None:
    config = stage_config()
    fewer = replace(config, functions=FunctionNames.of(FUNCTIONS[:2]))
    with pytest.raises(ConfigError, match="but the stage's functions are"):
        fewer.validate()


@pytest.mark.parametrize("key", ["default", "all", "keys", "by_key", "Reports", "_x", "2fa"])
def test_a_function_key_that_is_no_plain_identifier_is_refused(key: str) -> None:
    extra = FunctionSpec(key, "extra", "extra.handler.lambda_handler")
    specs = (*FUNCTIONS, extra)
    config = replace(
        stage_config(),
        functions=FunctionNames.of(specs),
        reserved_concurrency=FunctionConcurrency.of(specs, default=4),
    )
    with pytest.raises(ConfigError, match=f"function key '{key}' must be a lowercase identifier"):
        config.validate()


def test_function_names_must_be_unique() -> None:
    twin = FunctionSpec("tasks_again", "tasks", "tasks.handler.lambda_handler")
    specs = (*FUNCTIONS, twin)
    config = replace(
        stage_config(),
        functions=FunctionNames.of(specs),
        reserved_concurrency=FunctionConcurrency.of(specs, default=4),
    )
    with pytest.raises(ConfigError, match="function names must be unique"):
        config.validate()


def test_config_is_frozen() -> None:
    config = stage_config()
    with pytest.raises(AttributeError):
        config.name = "prod"  # type: ignore[misc]


def test_overrides() -> None:
    config = stage_config("prod", {"dax": "false", "encryption": "customer_managed"})
    assert not config.dax.enabled
    assert config.encryption is Encryption.CUSTOMER_MANAGED


@pytest.mark.parametrize(
    ("stage", "overrides", "message"),
    [
        ("dev", {}, "unknown stage 'dev'"),
        ("local", {"dax_enabled": "true"}, "unknown setting(s) ['dax_enabled']"),
        ("local", {"dax": "maybe"}, "dax must be true or false"),
        ("local", {"encryption": "rot13"}, "encryption must be one of"),
        ("local", {"region": "moon-1"}, "region 'moon-1' is not an AWS region"),
    ],
)
def test_bad_settings_are_refused(stage: str, overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        stage_config(stage, overrides)
    assert message in str(error.value)


def test_dax_enabled_without_subnets_is_refused() -> None:
    config = stage_config("prod")
    broken = replace(config, dax=replace(config.dax, subnet_count=0))
    with pytest.raises(ConfigError, match="DAX is enabled but has no subnets"):
        broken.validate()


def test_dax_cluster_name_rules() -> None:
    config = stage_config("prod")
    broken = replace(config, dax=replace(config.dax, cluster_name="Tasks_Cache"))
    with pytest.raises(ConfigError, match="cluster name 'Tasks_Cache'"):
        broken.validate()


def _with_users(spec: TableSpec) -> None:
    config = stage_config()
    tables = tuple(spec if t.key == "users" else t for t in config.tables)
    replace(config, tables=tables).validate()


def test_gsi_on_an_undeclared_attribute_is_refused() -> None:
    users = stage_config().table("users")
    broken = replace(users, global_indexes=(*users.global_indexes, IndexSpec("RoleIndex", "role")))
    with pytest.raises(
        ConfigError, match="GSI 'RoleIndex': partition key 'role' is not a declared"
    ):
        _with_users(broken)


def test_lsi_needs_a_table_sort_key() -> None:
    users = stage_config().table("users")
    broken = replace(
        users,
        attributes=(*users.attributes, ("createdAt", AttributeType.STRING)),
        local_indexes=(IndexSpec("CreatedAtIndex", "userId", "createdAt"),),
    )
    with pytest.raises(ConfigError, match="needs a table with a sort key"):
        _with_users(broken)


def test_declared_but_unused_attribute_is_refused() -> None:
    users = stage_config().table("users")
    broken = replace(users, attributes=(*users.attributes, ("age", AttributeType.NUMBER)))
    with pytest.raises(ConfigError, match=r"attributes \['age'\] are declared but used by no key"):
        _with_users(broken)


def test_provisioned_gsi_needs_capacity() -> None:
    users = stage_config().table("users")
    broken = replace(users, global_indexes=(IndexSpec("EmailIndex", "email"),))
    with pytest.raises(ConfigError, match="needs capacity on a provisioned table"):
        _with_users(broken)


def test_lookup_errors_name_the_missing_thing() -> None:
    config = stage_config()
    with pytest.raises(KeyError, match="no table 'orders'"):
        config.table("orders")
    with pytest.raises(KeyError, match="no index 'Nope'"):
        config.table("users").index("Nope")


def test_nag_on_synth_per_stage_and_override() -> None:
    assert stage_config("prod").nag_on_synth is True
    assert stage_config("local").nag_on_synth is True
    assert stage_config("local", {"nag": "false"}).nag_on_synth is False
    assert stage_config("prod", {"nag": "off"}).nag_on_synth is False
    with pytest.raises(ConfigError, match="nag must be true or false"):
        stage_config("local", {"nag": "sometimes"})


@pytest.mark.parametrize("stage", ["local", "prod"])
def test_every_function_has_a_reserved_concurrency(stage: str) -> None:
    config = stage_config(stage)
    reserved = config.reserved_concurrency
    for function in FUNCTIONS:
        assert reserved[function.key] >= 1, function.key
    assert reserved.total() == sum(reserved[function.key] for function in FUNCTIONS)


def test_prod_reserves_more_than_local() -> None:
    local, prod = stage_config("local"), stage_config("prod")
    assert prod.reserved_concurrency.total() > local.reserved_concurrency.total()


@pytest.mark.parametrize("value", [0, -1, True, 2.5])
def test_a_reservation_that_is_not_a_positive_integer_is_refused(value: Any) -> None:
    config = stage_config("prod")
    reserved = config.reserved_concurrency
    broken = replace(
        config,
        reserved_concurrency=replace(reserved, overrides=(*reserved.overrides, ("tasks", value))),
    )
    with pytest.raises(ConfigError, match=r"reserved_concurrency\.tasks must be a positive"):
        broken.validate()
    broken = replace(config, reserved_concurrency=replace(reserved, default=value))
    with pytest.raises(ConfigError, match=r"reserved_concurrency\.default must be a positive"):
        broken.validate()


@pytest.mark.parametrize("factor", [0, 11])
def test_a_parallelization_factor_outside_lambdas_range_is_refused(factor: int) -> None:
    config = stage_config("prod")
    broken = replace(
        config,
        stream_processing=replace(config.stream_processing, parallelization_factor=factor),
    )
    with pytest.raises(ConfigError, match="parallelization_factor must be between 1 and 10"):
        broken.validate()


def test_more_parallel_batches_than_reserved_executions_is_refused() -> None:
    config = stage_config("local")
    broken = replace(
        config,
        reserved_concurrency=replace(
            config.reserved_concurrency, overrides=(("message_stream", 2),)
        ),
    )
    with pytest.raises(ConfigError, match="exceeds reserved_concurrency.message_stream 2"):
        broken.validate()


def test_hot_reload_is_on_for_local_only() -> None:
    assert stage_config("local").hot_reload is True
    assert stage_config("prod").hot_reload is False
    assert stage_config("local", {"hot_reload": "false"}).hot_reload is False
    with pytest.raises(ConfigError, match="hot_reload must be true or false"):
        stage_config("local", {"hot_reload": "later"})
    with pytest.raises(ConfigError, match="stage prod deploys to AWS"):
        stage_config("prod", {"hot_reload": "true"})


def test_production_options_default_per_stage() -> None:
    local, prod = stage_config("local"), stage_config("prod")
    assert not local.backups.enabled and prod.backups.enabled
    assert local.replicas == prod.replicas == ()
    assert not local.contributor_insights and not prod.contributor_insights
    assert local.dashboard and prod.dashboard
    assert all(spec.autoscaling is None and spec.import_source is None for spec in prod.tables)


def test_billing_override_sets_tables_and_their_indexes() -> None:
    scaled = stage_config("prod", {"billing": "autoscaled"})
    for spec in scaled.tables:
        assert spec.capacity is not None and spec.autoscaling is not None
        assert all(index.capacity == spec.capacity for index in spec.global_indexes)
    on_demand = stage_config("local", {"billing": "on_demand"})
    for spec in on_demand.tables:
        assert spec.capacity is None and spec.autoscaling is None
        assert all(index.capacity is None for index in spec.global_indexes)


def test_replicas_and_their_keys_are_parsed() -> None:
    assert [
        r.region for r in stage_config("prod", {"replicas": " us-west-2, ,eu-west-1"}).replicas
    ] == [
        "us-west-2",
        "eu-west-1",
    ]
    east = "arn:aws:kms:eu-west-1:123456789012:key/abc"
    west = "arn:aws:kms:us-west-2:123456789012:key/def"
    config = stage_config(
        "prod",
        {"replicas": f"us-west-2={west},eu-west-1={east}", "encryption": "customer_managed"},
    )
    assert [(r.region, r.key_arn) for r in config.replicas] == [
        ("us-west-2", west),
        ("eu-west-1", east),
    ]
    assert stage_config("prod", {"replicas": ""}).replicas == ()


def test_an_import_source_names_a_bucket_and_a_prefix() -> None:
    config = stage_config(
        "local",
        {"import_users": "s3://my-exports/users/data/", "import_format": "csv"},
    )
    source = config.table("users").import_source
    assert source is not None
    assert (source.bucket, source.key_prefix, source.input_format.value) == (
        "my-exports",
        "users/data/",
        "csv",
    )
    assert config.table("tasks").import_source is None


def test_a_suffix_renames_every_stack_and_physical_name() -> None:
    plain, suffixed = stage_config("prod"), stage_config("prod", {"suffix": "ci42"})
    assert suffixed.stack_prefix == f"{plain.stack_prefix}-ci42"
    assert [t.table_name for t in suffixed.tables] == [f"{t.table_name}-ci42" for t in plain.tables]
    assert suffixed.functions.tasks == f"{plain.functions.tasks}-ci42"
    assert suffixed.dax.cluster_name.endswith("-ci42") and len(suffixed.dax.cluster_name) <= 20


WEST_KEY = "arn:aws:kms:us-west-2:123456789012:key/abc"


@pytest.mark.parametrize(
    ("stage", "overrides", "message"),
    [
        ("prod", {"billing": "reserved"}, "billing must be one of"),
        ("prod", {"backups": "maybe"}, "backups must be true or false"),
        ("prod", {"replicas": "us-east-1"}, "us-east-1 is the stage's own region"),
        ("prod", {"replicas": "us-west-2,us-west-2"}, "a region is named twice"),
        ("prod", {"replicas": "mars-1"}, "'mars-1' is not an AWS region name"),
        (
            "prod",
            {"replicas": "us-west-2", "encryption": "customer_managed"},
            "us-west-2 needs a KMS key ARN",
        ),
        ("prod", {"replicas": f"us-west-2={WEST_KEY}"}, "only used with encryption"),
        (
            "prod",
            {"replicas": f"eu-west-1={WEST_KEY}", "encryption": "customer_managed"},
            "is not a KMS key ARN in eu-west-1",
        ),
        (
            "prod",
            {"replicas": "us-west-2", "import_tasks": "s3://bucket-a/x"},
            "import from S3, which a global table cannot",
        ),
        ("local", {"import_tasks": "https://bucket-a/x"}, "must be s3://bucket"),
        ("local", {"import_tasks": "s3://Bad_Bucket/x"}, "is not an S3 bucket name"),
        ("local", {"import_orders": "s3://bucket-a/x"}, "unknown setting(s) ['import_orders']"),
        ("local", {"import_format": "csv"}, "need an import_<table> source"),
        (
            "local",
            {"import_tasks": "s3://bucket-a/x", "import_compression": "bzip2"},
            "import_compression must be one of",
        ),
        ("local", {"suffix": "CI-1"}, "suffix must be 1-12 characters"),
    ],
)
def test_bad_production_options_are_refused(
    stage: str, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        stage_config(stage, overrides)
    assert message in str(raised.value)


def test_auto_scaling_rules() -> None:
    spec = stage_config("local").table("tasks")
    scaling = AutoScaling(read=ScalingRange(5, 50), write=ScalingRange(5, 50))
    replace(spec, autoscaling=scaling).validate()
    cases = [
        (replace(spec, capacity=None, autoscaling=scaling), "needs provisioned capacity"),
        (
            replace(spec, autoscaling=replace(scaling, target_utilization_percent=95)),
            "between 20 and 90",
        ),
        (
            replace(spec, autoscaling=replace(scaling, read=ScalingRange(10, 5))),
            "minimum 10 is above maximum 5",
        ),
        (
            replace(spec, capacity=Capacity(100, 5), autoscaling=scaling),
            "capacity.read 100 is outside autoscaling.read 5..50",
        ),
    ]
    for table, message in cases:
        with pytest.raises(ConfigError) as raised:
            table.validate()
        assert message in str(raised.value)


def test_backup_and_iterator_age_rules() -> None:
    with pytest.raises(ConfigError, match="monthly_retention_days must be at least 31"):
        BackupConfig(enabled=True, monthly_retention_days=7).validate()
    with pytest.raises(ConfigError, match="daily_retention_days must be a positive integer"):
        BackupConfig(enabled=True, daily_retention_days=0).validate()
    BackupConfig(enabled=False, daily_retention_days=0).validate()  # off: not checked
    with pytest.raises(ConfigError, match="iterator_age_alarm_s must be between 1 and"):
        StreamProcessing(max_record_age_s=600, iterator_age_alarm_s=900).validate()
