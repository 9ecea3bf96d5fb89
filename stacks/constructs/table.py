"""A DynamoDB table built from a `TableSpec`: keys, indexes, stream, TTL, billing, protection."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.config import AttributeType, IndexSpec, Projection, StreamView, TableSpec
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


class DynamoTable(Construct):
    """One `AWS::DynamoDB::Table` exactly as its `TableSpec` declares it.

    `dynamodb.Table`, not `TableV2`: TableV2 synthesizes `AWS::DynamoDB::GlobalTable`, which
    the local cloud's CloudFormation skips. Stage concerns (retention, PITR, deletion
    protection, encryption) come in as keyword arguments from the stage config.
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
    ) -> None:
        super().__init__(scope, construct_id)
        spec.validate()
        self.spec = spec
        provisioned = spec.capacity is not None
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=spec.table_name,
            partition_key=self._attribute(spec.partition_key),
            sort_key=self._attribute(spec.sort_key) if spec.sort_key else None,
            billing_mode=(
                dynamodb.BillingMode.PROVISIONED
                if provisioned
                else dynamodb.BillingMode.PAY_PER_REQUEST
            ),
            read_capacity=spec.capacity.read if spec.capacity else None,
            write_capacity=spec.capacity.write if spec.capacity else None,
            stream=_STREAM_VIEWS[spec.stream] if spec.stream else None,
            time_to_live_attribute=spec.ttl_attribute,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=point_in_time_recovery
            ),
            deletion_protection=deletion_protection,
            # DEFAULT is the AWS-owned key; a customer-managed KMS key is the stage's option.
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if encryption_key
                else dynamodb.TableEncryption.DEFAULT
            ),
            encryption_key=encryption_key,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        for index in spec.global_indexes:
            self._add_global_index(index)
        for index in spec.local_indexes:
            self._add_local_index(index)
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

    def _add_global_index(self, index: IndexSpec) -> None:
        capacity = index.capacity if self.spec.capacity is not None else None
        self.table.add_global_secondary_index(
            index_name=index.name,
            partition_key=self._attribute(index.partition_key),
            sort_key=self._attribute(index.sort_key) if index.sort_key else None,
            projection_type=_PROJECTIONS[index.projection],
            non_key_attributes=list(index.non_key_attributes) or None,
            read_capacity=capacity.read if capacity else None,
            write_capacity=capacity.write if capacity else None,
        )

    def _add_local_index(self, index: IndexSpec) -> None:
        assert index.sort_key is not None  # TableSpec.validate() guarantees it
        self.table.add_local_secondary_index(
            index_name=index.name,
            sort_key=self._attribute(index.sort_key),
            projection_type=_PROJECTIONS[index.projection],
            non_key_attributes=list(index.non_key_attributes) or None,
        )
