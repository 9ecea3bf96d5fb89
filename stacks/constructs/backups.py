"""An AWS Backup plan over the stage's tables: a vault, daily and monthly rules, a selection."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.config import BackupConfig
from stacks.nag import acknowledge


class TableBackups(Construct):
    """Daily (03:00 UTC) and monthly (1st, 04:00 UTC) recovery points of `tables`, kept as
    `config` says, in a vault of their own: encrypted with a key of its own when
    `customer_managed_key`, else with AWS Backup's default key.

    Point-in-time recovery covers the last 35 days to the second; these points are what
    outlives it (and survive a table's deletion).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: BackupConfig,
        name: str,
        tables: Sequence[dynamodb.ITable],
        customer_managed_key: bool,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        self.vault_key: kms.Key | None = None
        if customer_managed_key:
            self.vault_key = kms.Key(
                self,
                "VaultKey",
                description=f"Encrypts the recovery points in backup vault {name}",
                enable_key_rotation=True,
                removal_policy=removal,
            )
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=name,
            encryption_key=self.vault_key,
            removal_policy=removal,
        )
        self.plan = backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=name,
            backup_vault=self.vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="daily",
                    schedule_expression=events.Schedule.cron(hour="3", minute="0"),
                    delete_after=Duration.days(config.daily_retention_days),
                ),
                backup.BackupPlanRule(
                    rule_name="monthly",
                    schedule_expression=events.Schedule.cron(day="1", hour="4", minute="0"),
                    delete_after=Duration.days(config.monthly_retention_days),
                ),
            ],
        )
        selection = self.plan.add_selection(
            "Tables",
            resources=[backup.BackupResource.from_dynamo_db_table(table) for table in tables],
            allow_restores=True,
        )
        for policy in (
            "AWSBackupServiceRolePolicyForBackup",
            "AWSBackupServiceRolePolicyForRestores",
        ):
            acknowledge(
                selection,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]",
                "The selection's role has AWS Backup's own managed policies for taking and "
                "restoring backups: AWS maintains the actions each supported service needs.",
            )
