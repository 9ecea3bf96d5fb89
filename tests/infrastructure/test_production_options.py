"""The prod-readiness options of the stage config, as synthesized: auto scaling, backups,
Contributor Insights, global-table replicas and S3 imports; and with every option on, the
stacks still pass cdk-nag, cfn-lint and checkov."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match
from cfnlint.api import ManualArgs, lint_file
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from stacks.config import DEFAULT_AUTOSCALING, stage_config
from tests.infrastructure.test_cfn_lint import IGNORED
from tests.infrastructure.test_checkov import load_skips, unexplained
from tests.infrastructure.test_snapshots import masked
from tests.support.checkov import ensure_installed, scan
from tests.support.synth import SynthesizedStage, synthesize

WEST_KEY = "arn:aws:kms:us-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"
EU_KEY = "arn:aws:kms:eu-west-1:123456789012:key/66666666-7777-8888-9999-000000000000"
# Every option on (global tables variant): S3 imports cannot go with replicas.
EVERYTHING = {
    "billing": "autoscaled",
    "backups": "on",
    "contributor_insights": "on",
    "encryption": "customer_managed",
    "replicas": f"us-west-2={WEST_KEY},eu-west-1={EU_KEY}",
    "dashboard": "on",
    "alarms": "on",
}
# Every option on (S3 import variant).
EVERYTHING_IMPORTED = {
    **{k: v for k, v in EVERYTHING.items() if k != "replicas"},
    "import_tasks": "s3://seed-exports/tasks/AWSDynamoDB/01700000000000-abcdef12/data/",
    "import_users": "s3://seed-exports/users/",
    "import_compression": "gzip",
}


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedStage:
    """prod with every option on, replicated; nag runs (a finding fails the synth)."""
    config = stage_config("prod", EVERYTHING)
    return synthesize(config, Path(tmp_path_factory.mktemp("cdk-everything")), nag=True)


@pytest.fixture(scope="module")
def everything_imported(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedStage:
    """prod with every option on, two tables imported from S3; nag runs."""
    config = stage_config("prod", EVERYTHING_IMPORTED)
    return synthesize(config, Path(tmp_path_factory.mktemp("cdk-imported")), nag=True)


def _of_type(stage: SynthesizedStage, resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: dict(v) for k, v in stage.data.find_resources(resource_type).items()}


def test_autoscaled_billing_scales_every_table_and_gsi(tmp_path: Path) -> None:
    config = stage_config("prod", {"billing": "autoscaled", "dax": "false"})
    stage = synthesize(config, tmp_path)
    tables = _of_type(stage, "AWS::DynamoDB::Table")
    assert len(tables) == len(config.tables)
    for table in tables.values():
        properties = table["Properties"]
        assert "BillingMode" not in properties or properties["BillingMode"] == "PROVISIONED"
        assert properties["ProvisionedThroughput"] == {
            "ReadCapacityUnits": 5,
            "WriteCapacityUnits": 5,
        }
    targets = _of_type(stage, "AWS::ApplicationAutoScaling::ScalableTarget")
    dimensions = sorted(t["Properties"]["ScalableDimension"] for t in targets.values())
    gsis = sum(len(spec.global_indexes) for spec in config.tables)
    assert dimensions == sorted(
        ["dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits"]
        * len(config.tables)
        + ["dynamodb:index:ReadCapacityUnits", "dynamodb:index:WriteCapacityUnits"] * gsis
    )
    scaling = DEFAULT_AUTOSCALING
    for target in targets.values():
        read = "Read" in target["Properties"]["ScalableDimension"]
        expected = scaling.read if read else scaling.write
        assert target["Properties"]["MinCapacity"] == expected.minimum
        assert target["Properties"]["MaxCapacity"] == expected.maximum
    policies = _of_type(stage, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert len(policies) == len(targets)
    for policy in policies.values():
        tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        assert tracking["TargetValue"] == scaling.target_utilization_percent
        metric = tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
        assert metric in ("DynamoDBReadCapacityUtilization", "DynamoDBWriteCapacityUtilization")


def test_default_stages_have_no_auto_scaling(stage: SynthesizedStage) -> None:
    stage.data.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)


def test_on_demand_billing_option_for_the_local_stage(tmp_path: Path) -> None:
    stage = synthesize(stage_config("local", {"billing": "on_demand"}), tmp_path)
    for table in _of_type(stage, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
        assert "ProvisionedThroughput" not in table["Properties"]
        for index in table["Properties"].get("GlobalSecondaryIndexes", []):
            assert "ProvisionedThroughput" not in index


def test_prod_backs_up_every_table_daily_and_monthly(prod: SynthesizedStage) -> None:
    config = prod.config
    vaults = _of_type(prod, "AWS::Backup::BackupVault")
    assert [v["Properties"]["BackupVaultName"] for v in vaults.values()] == [
        f"{config.stack_prefix}-tables"
    ]
    assert all(v["DeletionPolicy"] == "Retain" for v in vaults.values())
    (plan,) = _of_type(prod, "AWS::Backup::BackupPlan").values()
    rules = {r["RuleName"]: r for r in plan["Properties"]["BackupPlan"]["BackupPlanRule"]}
    assert set(rules) == {"daily", "monthly"}
    assert rules["daily"]["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rules["daily"]["Lifecycle"] == {"DeleteAfterDays": config.backups.daily_retention_days}
    assert rules["monthly"]["ScheduleExpression"] == "cron(0 4 1 * ? *)"
    assert rules["monthly"]["Lifecycle"] == {
        "DeleteAfterDays": config.backups.monthly_retention_days
    }
    (selection,) = _of_type(prod, "AWS::Backup::BackupSelection").values()
    selected = selection["Properties"]["BackupSelection"]["Resources"]
    tables = _of_type(prod, "AWS::DynamoDB::Table")
    assert sorted(json.dumps(r) for r in selected) == sorted(
        json.dumps({"Fn::GetAtt": [logical_id, "Arn"]}) for logical_id in tables
    )


def test_local_has_no_backup_plan_unless_asked(local: SynthesizedStage, tmp_path: Path) -> None:
    local.data.resource_count_is("AWS::Backup::BackupPlan", 0)
    asked = synthesize(stage_config("local", {"backups": "on"}), tmp_path)
    asked.data.resource_count_is("AWS::Backup::BackupPlan", 1)
    (vault,) = _of_type(asked, "AWS::Backup::BackupVault").values()
    assert "EncryptionKeyArn" not in vault["Properties"]  # AWS Backup's default key
    assert vault["DeletionPolicy"] == "Delete"


def test_a_customer_managed_stage_gives_the_vault_a_key_of_its_own(
    everything: SynthesizedStage,
) -> None:
    (vault,) = _of_type(everything, "AWS::Backup::BackupVault").values()
    vault_key = vault["Properties"]["EncryptionKeyArn"]["Fn::GetAtt"][0]
    keys = _of_type(everything, "AWS::KMS::Key")
    assert vault_key in keys and len(keys) == 2
    assert keys[vault_key]["Properties"]["EnableKeyRotation"] is True
    (table_key,) = set(keys) - {vault_key}
    for table in _of_type(everything, "AWS::DynamoDB::GlobalTable").values():
        assert table["Properties"]["SSESpecification"]["SSEType"] == "KMS"
        assert table_key in json.dumps(table["Properties"]["Replicas"])


def test_contributor_insights_option_covers_every_table_and_gsi(
    prod: SynthesizedStage, tmp_path: Path
) -> None:
    assert "ContributorInsightsSpecification" not in json.dumps(prod.data.to_json())
    stage = synthesize(stage_config("local", {"contributor_insights": "on"}), tmp_path)
    enabled = Match.object_like({"Enabled": True})
    for spec in stage.config.tables:
        stage.data.has_resource_properties(
            "AWS::DynamoDB::Table",
            {"TableName": spec.table_name, "ContributorInsightsSpecification": enabled},
        )
    indexes = [
        index
        for table in _of_type(stage, "AWS::DynamoDB::Table").values()
        for index in table["Properties"].get("GlobalSecondaryIndexes", [])
    ]
    assert len(indexes) == sum(len(spec.global_indexes) for spec in stage.config.tables)
    assert all(i["ContributorInsightsSpecification"] == {"Enabled": True} for i in indexes)


def test_replicas_make_global_tables_in_each_region(everything: SynthesizedStage) -> None:
    config = everything.config
    everything.data.resource_count_is("AWS::DynamoDB::Table", 0)
    tables = _of_type(everything, "AWS::DynamoDB::GlobalTable")
    assert sorted(t["Properties"]["TableName"] for t in tables.values()) == sorted(
        spec.table_name for spec in config.tables
    )
    keys = {"us-west-2": WEST_KEY, "eu-west-1": EU_KEY}
    for table in tables.values():
        replicas = {r["Region"]: r for r in table["Properties"]["Replicas"]}
        assert set(replicas) == {config.region, "us-west-2", "eu-west-1"}
        for region, key in keys.items():
            assert replicas[region]["SSESpecification"] == {"KMSMasterKeyId": key}
            assert replicas[region]["PointInTimeRecoverySpecification"] == {
                "PointInTimeRecoveryEnabled": True
            }
            assert replicas[region]["DeletionProtectionEnabled"] is True
    (messages,) = (
        t
        for t in tables.values()
        if t["Properties"]["TableName"] == config.table("messages").table_name
    )
    assert messages["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_import_sources_seed_their_tables_from_s3(everything_imported: SynthesizedStage) -> None:
    stage = everything_imported
    stage.data.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": stage.config.table("tasks").table_name,
            "ImportSourceSpecification": {
                "InputFormat": "DYNAMODB_JSON",
                "InputCompressionType": "GZIP",
                "S3BucketSource": {
                    "S3Bucket": "seed-exports",
                    "S3KeyPrefix": "tasks/AWSDynamoDB/01700000000000-abcdef12/data/",
                },
            },
        },
    )
    imported = [
        t["Properties"]["TableName"]
        for t in _of_type(stage, "AWS::DynamoDB::Table").values()
        if "ImportSourceSpecification" in t["Properties"]
    ]
    config = stage.config
    assert sorted(imported) == sorted(
        [config.table("tasks").table_name, config.table("users").table_name]
    )


@pytest.mark.slow  # cfn-lint and checkov over two more pairs of templates
@pytest.mark.parametrize("variant", ["everything", "everything_imported"])
def test_every_option_on_passes_cfn_lint_and_checkov(
    variant: str, request: pytest.FixtureRequest
) -> None:
    stage: SynthesizedStage = request.getfixturevalue(variant)  # nag passed in its synth
    templates = sorted(stage.assembly_dir.glob("*.template.json"))
    assert len(templates) == 2
    for template in templates:
        args = ManualArgs(ignore_checks=IGNORED, regions=[stage.config.region])
        assert [str(match) for match in lint_file(template, args)] == [], template.name
    result = scan(templates, checkov=ensure_installed())
    assert result.parsing_errors == 0
    assert unexplained(result.failed, stage.config.name, load_skips()) == []


@pytest.mark.parametrize("variant", ["everything", "everything_imported"])
def test_every_option_on_data_stack_matches_snapshot(
    variant: str, request: pytest.FixtureRequest, snapshot: SnapshotAssertion
) -> None:
    """The review layer for the options the default stages leave off (`make snapshot-update`)."""
    stage: SynthesizedStage = request.getfixturevalue(variant)
    assert masked(stage.data.to_json()) == snapshot.use_extension(JSONSnapshotExtension)(
        name=f"{variant}-data"
    )
