"""The stateful stack: the tables (with alarms, encryption key and backup plan) and, when
enabled, DAX."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.config import Encryption, StageConfig
from stacks.constructs.backups import TableBackups
from stacks.constructs.conventions import log_retention, pascal_case
from stacks.constructs.dax import DaxCluster
from stacks.constructs.table import DynamoTable
from stacks.constructs.table_alarms import TableAlarms


class DataStack(Stack):
    """Tables by logical key (`tables["users"]`), their alarms and backup plan, and the DAX
    cluster if enabled."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.encryption_key: kms.Key | None = None
        if config.encryption is Encryption.CUSTOMER_MANAGED:
            self.encryption_key = kms.Key(
                self,
                "TableKey",
                description=f"Encrypts the {config.name} DynamoDB tables and their streams",
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.RETAIN
                if config.retain_data
                else RemovalPolicy.DESTROY,
            )

        built: dict[str, DynamoTable] = {}
        for spec in config.tables:
            built[spec.key] = DynamoTable(
                self,
                f"{pascal_case(spec.key)}Table",
                spec=spec,
                retain=config.retain_data,
                point_in_time_recovery=config.point_in_time_recovery,
                deletion_protection=config.deletion_protection,
                encryption_key=self.encryption_key,
                contributor_insights=config.contributor_insights,
                replicas=config.replicas,
            )
        self.tables: dict[str, dynamodb.ITable] = {key: table.table for key, table in built.items()}

        self.backups: TableBackups | None = None
        if config.backups.enabled:
            self.backups = TableBackups(
                self,
                "Backups",
                config=config.backups,
                name=f"{config.stack_prefix}-tables",
                tables=list(self.tables.values()),
                customer_managed_key=config.encryption is Encryption.CUSTOMER_MANAGED,
                retain=config.retain_data,
            )

        if config.alarms:
            topic = (
                sns.Topic.from_topic_arn(self, "AlarmTopic", config.alarm_topic_arn)
                if config.alarm_topic_arn
                else None
            )
            for spec in config.tables:
                TableAlarms(
                    self,
                    f"{pascal_case(spec.key)}Alarms",
                    table=self.tables[spec.key],
                    table_name=spec.table_name,
                    global_index_names=tuple(index.name for index in spec.global_indexes),
                    topic=topic,
                )

        self.dax: DaxCluster | None = None
        if config.dax.enabled:
            self.dax = DaxCluster(
                self,
                "Dax",
                config=config.dax,
                tables=[built[key] for key in config.dax.cached_tables],
                retain=config.retain_data,
                log_retention=log_retention(config.log_retention_days),
            )
