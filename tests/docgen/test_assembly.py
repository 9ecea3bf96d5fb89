"""The cloud assembly reader sees everything the synthesized templates hold, resolved.

Expectations are computed here from the templates' JSON (through `aws_cdk.assertions`, not
through the reader) and from the stage config, so the reader is checked against the source.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from docgen.assembly import Assembly, AssemblyError, TargetKind, read_assembly, stages_in
from stacks.functions import message_stream as message_stream_function
from stacks.functions import tasks as tasks_function
from stacks.functions import user_manager as user_manager_function
from tests.docgen.conftest import synthesized
from tests.support.synth import SynthesizedStage

pytestmark = pytest.mark.slow


def resources(stage: SynthesizedStage, kind: str) -> list[dict[str, Any]]:
    """Properties of every resource of `kind` in the stage's templates."""
    found = []
    for template in stage.templates().values():
        for resource in template.to_json()["Resources"].values():
            if resource["Type"] == kind:
                found.append(resource.get("Properties", {}))
    return found


@pytest.fixture(scope="module", params=["local", "prod"])
def stage(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Each stage, synthesized once."""
    return synthesized(tmp_path_factory, request.param)


@pytest.fixture(scope="module")
def model(stage: SynthesizedStage) -> Assembly:
    """The reader's model of the stage's assembly on disk."""
    return read_assembly(stage.assembly_dir, stage.config.name)


def keys(schema: list[dict[str, str]], types: dict[str, str]) -> tuple[Any, ...]:
    by_role = {key["KeyType"]: key["AttributeName"] for key in schema}
    sort = by_role.get("RANGE")
    return (by_role["HASH"], types[by_role["HASH"]]), (sort, types[sort]) if sort else None


def test_the_model_has_every_table_with_keys_indexes_stream_and_ttl(
    stage: SynthesizedStage, model: Assembly
) -> None:
    expected = {}
    for properties in resources(stage, "AWS::DynamoDB::Table"):
        types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
        indexes = {}
        for kind, prop in (("GSI", "GlobalSecondaryIndexes"), ("LSI", "LocalSecondaryIndexes")):
            for index in properties.get(prop, []):
                indexes[index["IndexName"]] = (
                    kind,
                    keys(index["KeySchema"], types),
                    index["Projection"]["ProjectionType"],
                )
        expected[properties["TableName"]] = (
            keys(properties["KeySchema"], types),
            indexes,
            properties.get("StreamSpecification", {}).get("StreamViewType"),
            properties.get("TimeToLiveSpecification", {}).get("AttributeName"),
        )

    def pair(key: Any) -> Any:
        return (key.name, key.type) if key else None

    seen = {
        table.name: (
            (pair(table.partition_key), pair(table.sort_key)),
            {
                index.name: (
                    index.kind.value,
                    (pair(index.partition_key), pair(index.sort_key)),
                    index.projection,
                )
                for index in table.indexes
            },
            table.stream_view,
            table.ttl_attribute,
        )
        for table in model.tables
    }
    assert seen == expected
    assert {spec.table_name for spec in stage.config.tables} == set(seen)


def test_the_model_has_every_function_with_runtime_and_architecture(
    stage: SynthesizedStage, model: Assembly
) -> None:
    expected = {
        p["FunctionName"]: (p["Runtime"], ",".join(p["Architectures"]), p["Handler"])
        for p in resources(stage, "AWS::Lambda::Function")
    }
    seen = {f.name: (f.runtime, f.architecture, f.handler) for f in model.functions}
    assert seen == expected
    for function in model.functions:
        assert function.role is not None
        assert function.dead_letter_queue in {queue.id for queue in model.queues}


def test_the_model_has_every_event_source_mapping_resolved_to_stream_function_and_queue(
    stage: SynthesizedStage, model: Assembly
) -> None:
    expected = sorted(
        (
            p["BatchSize"],
            p["BisectBatchOnFunctionError"],
            p["MaximumRetryAttempts"],
            p["MaximumRecordAgeInSeconds"],
            p["StartingPosition"],
        )
        for p in resources(stage, "AWS::Lambda::EventSourceMapping")
    )
    seen = sorted(
        (m.batch_size, m.bisect_on_error, m.retry_attempts, m.max_record_age_s, m.starting_position)
        for m in model.event_source_mappings
    )
    assert seen == expected
    (mapping,) = model.event_source_mappings
    config = stage.config
    assert model.table(mapping.source_table).name == config.table("messages").table_name  # type: ignore[arg-type]
    assert model.get(mapping.function).name == config.functions.message_stream  # type: ignore[arg-type, attr-defined]
    failure_queue = model.get(mapping.on_failure)  # type: ignore[arg-type]
    assert failure_queue in model.queues
    assert mapping.report_batch_item_failures


def data_grants(model: Assembly, role: Any) -> dict[tuple[str, str, str | None], set[str]]:
    """(target kind, table or cluster name, index) -> DynamoDB/DAX actions granted to `role`."""
    found: dict[tuple[str, str, str | None], set[str]] = defaultdict(set)
    for grant in model.grants_of(role):
        actions = {a for a in grant.actions if a.split(":")[0] in ("dynamodb", "dax")}
        if not actions or grant.target.kind is TargetKind.ANY:
            continue
        target = grant.target
        name = getattr(model.get(target.resource), "name", "?") if target.resource else target.text
        found[(target.kind.value, name, target.index)] |= actions
    return dict(found)


def test_grants_resolve_to_the_table_index_stream_or_cluster_each_function_was_given(
    stage: SynthesizedStage, model: Assembly
) -> None:
    config = stage.config
    users, messages = config.table("users").table_name, config.table("messages").table_name
    role = {f.name: f.role for f in model.functions}

    assert data_grants(model, role[config.functions.user_manager]) == {
        ("table", users, None): set(user_manager_function.ACTIONS),
        ("index", users, "EmailIndex"): set(user_manager_function.INDEX_ACTIONS),
    }
    stream_grants = data_grants(model, role[config.functions.message_stream])
    assert stream_grants.pop(("table", messages, None)) == set(
        message_stream_function.TABLE_ACTIONS
    )
    assert stream_grants.pop(("index", messages, "message-group-sk-index")) == set(
        message_stream_function.INDEX_ACTIONS
    )
    assert "dynamodb:GetRecords" in stream_grants.pop(("stream", messages, None))
    assert stream_grants == {}

    tasks = data_grants(model, role[config.functions.tasks])
    if config.dax.enabled:
        assert tasks == {
            ("dax-cluster", config.dax.cluster_name, None): set(tasks_function.DAX_ACTIONS)
        }
    else:
        assert tasks == {
            ("table", config.table("tasks").table_name, None): set(tasks_function.TABLE_ACTIONS)
        }


def test_no_data_grant_is_left_unresolved(model: Assembly) -> None:
    for grant in model.grants:
        if any(action.split(":")[0] in ("dynamodb", "dax") for action in grant.actions):
            assert grant.target.kind is not TargetKind.OTHER, grant


def test_dax_cluster_with_its_vpc_subnets_security_groups_and_role(
    stage: SynthesizedStage, model: Assembly
) -> None:
    dax = stage.config.dax
    if not dax.enabled:
        assert model.dax_clusters == () and model.vpcs == () and model.security_groups == ()
        return
    (cluster,) = model.dax_clusters
    (vpc,) = model.vpcs
    assert cluster.name == dax.cluster_name
    assert (cluster.node_type, cluster.replication_factor) == (
        dax.node_type,
        dax.replication_factor,
    )
    assert cluster.endpoint_encryption == "TLS" and cluster.sse_enabled
    assert dict(cluster.parameters) == {
        "record-ttl-millis": str(dax.item_ttl_ms),
        "query-ttl-millis": str(dax.query_ttl_ms),
    }
    assert vpc.cidr == dax.vpc_cidr and "Gateway dynamodb" in vpc.endpoints
    assert len(cluster.subnets) == dax.subnet_count
    assert all(model.get(subnet).vpc == vpc.id for subnet in cluster.subnets)  # type: ignore[attr-defined]
    (guard,) = cluster.security_groups
    (rule,) = model.get(guard).ingress  # type: ignore[attr-defined]
    assert (rule.protocol, rule.from_port, rule.to_port) == ("tcp", dax.port, dax.port)
    # The tasks function runs in those subnets, in the group the cluster admits.
    tasks = model.function_named(stage.config.functions.tasks)
    assert tasks.vpc is not None
    assert set(tasks.vpc.subnets) == set(cluster.subnets)
    assert tasks.vpc.security_groups == (rule.source_group,)
    # The role DAX assumes reaches exactly the cached tables.
    cached = {stage.config.table(key).table_name for key in dax.cached_tables}
    assert {name for (_, name, _) in data_grants(model, cluster.role)} == cached
    assert {kind for (kind, _, _) in data_grants(model, cluster.role)} == {"table"}


def test_stacks_and_stage(stage: SynthesizedStage, model: Assembly) -> None:
    assert model.stage == stage.config.name
    assert {s.name for s in model.stacks} == set(stage.templates())
    functions_stack = stage.backend.functions.stack_name
    data_stack = stage.backend.data.stack_name
    assert data_stack in next(s for s in model.stacks if s.name == functions_stack).dependencies
    assert stages_in(stage.assembly_dir) == (stage.config.name,)


# --- bad input ---------------------------------------------------------------------------


def test_a_missing_assembly_is_refused_with_the_way_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match="no cloud assembly in .*make diagram STAGE=local"):
        read_assembly(tmp_path / "nowhere", "local")


def test_a_stage_the_assembly_does_not_hold_is_refused_naming_the_stages_it_has(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    local = synthesized(tmp_path_factory, "local")
    with pytest.raises(AssemblyError, match=r"no stack of stage 'prod' \(stages found: local\)"):
        read_assembly(local.assembly_dir, "prod")


def test_a_corrupt_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(AssemblyError, match="manifest.json is not valid JSON"):
        read_assembly(tmp_path, "local")


# --- resolving IAM resources, on small hand-written assemblies --------------------------


def write_assembly(directory: Path, templates: dict[str, dict[str, Any]]) -> Path:
    """A minimal cloud assembly: one stack artifact per template, all tagged stage `test`."""
    artifacts = {}
    for name, template in templates.items():
        (directory / f"{name}.template.json").write_text(json.dumps(template))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "properties": {"templateFile": f"{name}.template.json", "tags": {"stage": "test"}},
        }
    (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return directory


TABLE = {
    "Type": "AWS::DynamoDB::Table",
    "Properties": {
        "TableName": "Things",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "kind", "AttributeType": "N"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "ByKind",
                "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]},
            }
        ],
    },
}


def policy(*resources: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "Roles": [{"Ref": "Role"}],
            "PolicyDocument": {
                "Statement": [
                    {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": list(resources)}
                ]
            },
        },
    }


ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}
PARTITION = {"Ref": "AWS::Partition"}


TABLE_NAME_JOIN = {
    "Fn::Join": [
        "",
        ["arn:", PARTITION, ":dynamodb:r:", {"Ref": "AWS::AccountId"}, ":table/", {"Ref": "Table"}],
    ]
}


@pytest.mark.parametrize(
    ("resource", "kind", "index"),
    [
        pytest.param({"Fn::GetAtt": ["Table", "Arn"]}, TargetKind.TABLE, None, id="GetAtt"),
        pytest.param(
            {"Fn::Join": ["", [{"Fn::GetAtt": ["Table", "Arn"]}, "/index/*"]]},
            TargetKind.INDEX,
            "*",
            id="GetAtt-joined-index-wildcard",
        ),
        pytest.param(
            {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:eu-west-1:1:table/Things"},
            TargetKind.TABLE,
            None,
            id="Sub-by-name",
        ),
        pytest.param(
            "arn:aws:dynamodb:eu-west-1:123456789012:table/Things/index/ByKind",
            TargetKind.INDEX,
            "ByKind",
            id="literal-index-arn",
        ),
        pytest.param(TABLE_NAME_JOIN, TargetKind.TABLE, None, id="Join-with-table-Ref"),
        pytest.param({"Fn::GetAtt": ["Table", "StreamArn"]}, TargetKind.STREAM, None, id="stream"),
        pytest.param("*", TargetKind.ANY, None, id="any"),
    ],
)
def test_policy_resources_resolve_to_the_table_or_index_they_name(
    tmp_path: Path, resource: Any, kind: TargetKind, index: str | None
) -> None:
    assembly_dir = write_assembly(
        tmp_path, {"s": {"Resources": {"Table": TABLE, "Role": ROLE, "Policy": policy(resource)}}}
    )
    model = read_assembly(assembly_dir, "test")
    (grant,) = model.grants
    assert (grant.target.kind, grant.target.index) == (kind, index)
    if kind is not TargetKind.ANY:
        assert grant.target.resource == model.table_named("Things").id
    assert model.table_named("Things").index("ByKind").non_key_attributes == ("name",)


def test_an_import_is_followed_to_the_exporting_stack(tmp_path: Path) -> None:
    exporter = {
        "Resources": {"Table": TABLE},
        "Outputs": {
            "Out": {"Value": {"Fn::GetAtt": ["Table", "Arn"]}, "Export": {"Name": "data:TableArn"}}
        },
    }
    importer = {"Resources": {"Role": ROLE, "Policy": policy({"Fn::ImportValue": "data:TableArn"})}}
    model = read_assembly(write_assembly(tmp_path, {"data": exporter, "fn": importer}), "test")
    (grant,) = model.grants
    assert grant.target.kind is TargetKind.TABLE
    assert grant.target.resource == model.table_named("Things").id


def test_an_arn_naming_no_table_of_the_assembly_is_kept_as_text(tmp_path: Path) -> None:
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/Elsewhere"
    model = read_assembly(
        write_assembly(
            tmp_path, {"s": {"Resources": {"Table": TABLE, "Role": ROLE, "Policy": policy(arn)}}}
        ),
        "test",
    )
    (grant,) = model.grants
    assert (grant.target.kind, grant.target.resource, grant.target.text) == (
        TargetKind.OTHER,
        None,
        arn,
    )
