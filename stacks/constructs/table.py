"""A DynamoDB table built from a `TableSpec`: keys, indexes, stream, TTL, billing (auto
scaling), protection, Contributor Insights, an S3 import, and global-table replicas."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from datamodel.tables import (
    AttributeType,
    AutoScaling,
    ImportCompression,
    ImportFormat,
    ImportSource,
    Projection,
    StreamView,
    TableSpec,
)
from stacks.config import Replica
from stacks.nag import acknowledge

_ATTRIBUTE_TYPES = {
    AttributeType.STRING: dynamodb.AttributeType.STRING,
    AttributeType.NUMBER: dynamodb.AttributeType.NUMBER,
    AttributeType.BINARY: dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    Projection.ALL: dynamodb.ProjectionType.ALL,
    Projection.KEYS_ONLY: dynamodb.ProjectionType.KEYS_ONLY,
    Projection.INCLUDE: dynamodb.ProjectionType.INCLUDE,
}
_STREAM_VIEWS = {
    StreamView.NEW_IMAGE: dynamodb.StreamViewType.NEW_IMAGE,
    StreamView.OLD_IMAGE: dynamodb.StreamViewType.OLD_IMAGE,
    StreamView.NEW_AND_OLD_IMAGES: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    StreamView.KEYS_ONLY: dynamodb.StreamViewType.KEYS_ONLY,
}
_COMPRESSION = {
    ImportCompression.NONE: dynamodb.InputCompressionType.NONE,
    ImportCompression.GZIP: dynamodb.InputCompressionType.GZIP,
    ImportCompression.ZSTD: dynamodb.InputCompressionType.ZSTD,
}


class DynamoTable(Construct):
    """One table exactly as its `TableSpec` declares it: an `AWS::DynamoDB::Table`, or with
    `replicas` an `AWS::DynamoDB::GlobalTable` (`TableV2`) replicated to those regions.

    `dynamodb.Table` unless replicas are asked for: the local cloud's CloudFormation skips
    `AWS::DynamoDB::GlobalTable`. Stage concerns (retention, PITR, deletion protection,
    encryption, Contributor Insights, replicas) come in as keyword arguments.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: TableSpec,
        retain: bool,
        point_in_time_recovery: bool,
        deletion_protection: bool,
        encryption_key: kms.IKey | None,
        contributor_insights: bool = False,
        replicas: Sequence[Replica] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        spec.validate()
        self.spec = spec
        self._insights = (
            dynamodb.ContributorInsightsSpecification(enabled=True)
            if contributor_insights
            else None
        )
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        pitr = dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=point_in_time_recovery
        )
        self.table: dynamodb.ITable
        if replicas:
            self.table = self._global_table(
                spec, replicas, pitr, deletion_protection, encryption_key, removal
            )
        else:
            self.table = self._regional_table(
                spec, pitr, deletion_protection, encryption_key, removal
            )
        if not point_in_time_recovery:
            acknowledge(
                self.table,
                "AwsSolutions-DDB3",
                f"{spec.table_name}: this stage disables point-in-time recovery (disposable "
                "local data; the local cloud ignores PITR). The prod stage enables it.",
            )

    @property
    def has_indexes(self) -> bool:
        """Whether the table has a secondary index (grants then cover `<table>/index/*`)."""
        return bool(self.spec.global_indexes or self.spec.local_indexes)

    def _attribute(self, name: str) -> dynamodb.Attribute:
        return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[self.spec.attribute_types[name]])

    def _regional_table(
        self,
        spec: TableSpec,
        pitr: dynamodb.PointInTimeRecoverySpecification,
        deletion_protection: bool,
        encryption_key: kms.IKey | None,
        removal: RemovalPolicy,
    ) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            "Table",
            table_name=spec.table_name,
            partition_key=self._attribute(spec.partition_key),
            sort_key=self._attribute(spec.sort_key) if spec.sort_key else None,
            billing_mode=(
                dynamodb.BillingMode.PROVISIONED
                if spec.capacity is not None
                else dynamodb.BillingMode.PAY_PER_REQUEST
            ),
            read_capacity=spec.capacity.read if spec.capacity else None,
            write_capacity=spec.capacity.write if spec.capacity else None,
            stream=_STREAM_VIEWS[spec.stream] if spec.stream else None,
            time_to_live_attribute=spec.ttl_attribute,
            point_in_time_recovery_specification=pitr,
            deletion_protection=deletion_protection,
            # DEFAULT is the AWS-owned key; a customer-managed KMS key is the stage's option.
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if encryption_key
                else dynamodb.TableEncryption.DEFAULT
            ),
            encryption_key=encryption_key,
            contributor_insights_specification=self._insights,
            import_source=self._import_source(spec.import_source),
            removal_policy=removal,
        )
        for index in spec.global_indexes:
            capacity = index.capacity if spec.capacity is not None else None
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=self._attribute(index.partition_key),
                sort_key=self._attribute(index.sort_key) if index.sort_key else None,
                projection_type=_PROJECTIONS[index.projection],
                non_key_attributes=list(index.non_key_attributes) or None,
                read_capacity=capacity.read if capacity else None,
                write_capacity=capacity.write if capacity else None,
                contributor_insights_specification=self._insights,
            )
        for index in spec.local_indexes:
            assert index.sort_key is not None  # TableSpec.validate() guarantees it
            table.add_local_secondary_index(
                index_name=index.name,
                sort_key=self._attribute(index.sort_key),
                projection_type=_PROJECTIONS[index.projection],
                non_key_attributes=list(index.non_key_attributes) or None,
            )
        if spec.autoscaling is not None:
            _scale(table, spec.autoscaling, tuple(i.name for i in spec.global_indexes))
        return table

    def _import_source(
        self, source: ImportSource | None
    ) -> dynamodb.ImportSourceSpecification | None:
        if source is None:
            return None
        formats = {
            ImportFormat.DYNAMODB_JSON: dynamodb.InputFormat.dynamo_db_json,
            ImportFormat.ION: dynamodb.InputFormat.ion,
            ImportFormat.CSV: dynamodb.InputFormat.csv,
        }
        return dynamodb.ImportSourceSpecification(
            bucket=s3.Bucket.from_bucket_name(self, "ImportBucket", source.bucket),
            input_format=formats[source.input_format](),
            compression_type=_COMPRESSION[source.compression],
            key_prefix=source.key_prefix or None,
        )

    def _global_table(
        self,
        spec: TableSpec,
        replicas: Sequence[Replica],
        pitr: dynamodb.PointInTimeRecoverySpecification,
        deletion_protection: bool,
        encryption_key: kms.IKey | None,
        removal: RemovalPolicy,
    ) -> dynamodb.TableV2:
        billing = self._billing_v2(spec)
        return dynamodb.TableV2(
            self,
            "Table",
            table_name=spec.table_name,
            partition_key=self._attribute(spec.partition_key),
            sort_key=self._attribute(spec.sort_key) if spec.sort_key else None,
            billing=billing,
            # Replication reads the stream: a global table's carries both images.
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if spec.stream else None,
            time_to_live_attribute=spec.ttl_attribute,
            point_in_time_recovery_specification=pitr,
            deletion_protection=deletion_protection,
            encryption=(
                dynamodb.TableEncryptionV2.customer_managed_key(
                    encryption_key,
                    replica_key_arns={r.region: r.key_arn for r in replicas if r.key_arn},
                )
                if encryption_key
                else dynamodb.TableEncryptionV2.dynamo_owned_key()
            ),
            contributor_insights_specification=self._insights,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=index.name,
                    partition_key=self._attribute(index.partition_key),
                    sort_key=self._attribute(index.sort_key) if index.sort_key else None,
                    projection_type=_PROJECTIONS[index.projection],
                    non_key_attributes=list(index.non_key_attributes) or None,
                )
                for index in spec.global_indexes
            ],
            local_secondary_indexes=[
                dynamodb.LocalSecondaryIndexProps(
                    index_name=index.name,
                    sort_key=self._attribute(index.sort_key),
                    projection_type=_PROJECTIONS[index.projection],
                    non_key_attributes=list(index.non_key_attributes) or None,
                )
                for index in spec.local_indexes
                if index.sort_key is not None
            ],
            replicas=[
                dynamodb.ReplicaTableProps(
                    region=replica.region,
                    point_in_time_recovery_specification=pitr,
                    deletion_protection=deletion_protection,
                    contributor_insights_specification=self._insights,
                )
                for replica in replicas
            ],
            removal_policy=removal,
        )

    @staticmethod
    def _billing_v2(spec: TableSpec) -> dynamodb.Billing:
        """TableV2's billing: on demand, or provisioned with reads fixed or auto scaled and
        writes always auto scaled (a global table's replicas must scale their writes)."""
        if spec.capacity is None:
            return dynamodb.Billing.on_demand()
        scaling = spec.autoscaling
        if scaling is None:
            return dynamodb.Billing.provisioned(
                read_capacity=dynamodb.Capacity.fixed(spec.capacity.read),
                write_capacity=dynamodb.Capacity.autoscaled(
                    min_capacity=spec.capacity.write, max_capacity=spec.capacity.write
                ),
            )
        return dynamodb.Billing.provisioned(
            read_capacity=dynamodb.Capacity.autoscaled(
                min_capacity=scaling.read.minimum,
                max_capacity=scaling.read.maximum,
                seed_capacity=spec.capacity.read,
                target_utilization_percent=scaling.target_utilization_percent,
            ),
            write_capacity=dynamodb.Capacity.autoscaled(
                min_capacity=scaling.write.minimum,
                max_capacity=scaling.write.maximum,
                seed_capacity=spec.capacity.write,
                target_utilization_percent=scaling.target_utilization_percent,
            ),
        )


def _scale(table: dynamodb.Table, scaling: AutoScaling, index_names: Sequence[str]) -> None:
    """Target-tracking policies on the table's read and write capacity and each GSI's."""
    target = scaling.target_utilization_percent
    read, write = scaling.read, scaling.write
    attributes = [
        table.auto_scale_read_capacity(min_capacity=read.minimum, max_capacity=read.maximum),
        table.auto_scale_write_capacity(min_capacity=write.minimum, max_capacity=write.maximum),
    ]
    for name in index_names:
        attributes += [
            table.auto_scale_global_secondary_index_read_capacity(
                name, min_capacity=read.minimum, max_capacity=read.maximum
            ),
            table.auto_scale_global_secondary_index_write_capacity(
                name, min_capacity=write.minimum, max_capacity=write.maximum
            ),
        ]
    for attribute in attributes:
        attribute.scale_on_utilization(target_utilization_percent=target)
