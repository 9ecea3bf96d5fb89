"""CloudFormation's DynamoDB resources, created, updated and deleted in DynamoDB Local.

`AWS::DynamoDB::Table` and `AWS::DynamoDB::GlobalTable` (what CDK's `TableV2` synthesizes,
which moto skips) map to `EngineTable`: keys, GSIs, LSIs, billing, stream, TTL, deletion
protection go to the engine; tags and point-in-time recovery to the table extras (the
engine has neither). `Fn::GetAtt` `Arn` and `StreamArn` answer the stack's region and
account. An update applies the template's differences in place (one GSI per `UpdateTable`,
as DynamoDB requires); a change CloudFormation can only make by replacement (key schema,
LSIs, name) replaces a table with a generated name and is refused for a custom name, with
CloudFormation's message.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation.exceptions import ValidationError as CfnValidationError

from localcloud import arns, cfn_types
from localcloud.dynamodb import service
from localcloud.engine import EngineRequestError
from localcloud.patches import Patch, PatchSet
from localcloud.table_extras import ExtrasError
from localcloud.table_import import TableImportError, import_into

log = logging.getLogger("localcloud.cfn_tables")

ACTIVE_TIMEOUT_S = 30.0
TABLE_TYPE = "AWS::DynamoDB::Table"
GLOBAL_TABLE_TYPE = "AWS::DynamoDB::GlobalTable"
# Properties whose change means a new table on AWS.
REPLACING = ("KeySchema", "LocalSecondaryIndexes", "TableName")


class TableUpdateError(CfnValidationError):
    """A change CloudFormation refuses, or one the engine refused; answered as a
    CloudFormation `ValidationError` (HTTP 400 XML) with the reason, never an HTML 500."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


@contextmanager
def engine_errors(action: str, name: str) -> Iterator[None]:
    """Turn the engine's refusal into a CloudFormation error naming the table."""
    try:
        yield
    except EngineRequestError as error:
        raise TableUpdateError(f"{action} {name} failed: {error.code}: {error.message}") from error


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _int(value: Any) -> int:
    return int(str(value))


def _throughput(spec: dict[str, Any] | None) -> dict[str, int] | None:
    if not spec:
        return None
    return {
        "ReadCapacityUnits": _int(spec["ReadCapacityUnits"]),
        "WriteCapacityUnits": _int(spec["WriteCapacityUnits"]),
    }


def _stream(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """CloudFormation's `StreamSpecification` as the API's (absent: no stream)."""
    if not spec or not spec.get("StreamViewType"):
        return None
    return {"StreamEnabled": True, "StreamViewType": spec["StreamViewType"]}


class Desired:
    """A table as a template declares it, in the DynamoDB API's terms."""

    def __init__(self, properties: dict[str, Any], *, global_table: bool, region: str) -> None:
        self.properties = properties
        replica: dict[str, Any] = {}
        if global_table:
            replicas = properties.get("Replicas") or []
            matching = [r for r in replicas if r.get("Region") == region]
            if not matching:
                raise TableUpdateError(
                    f"Replicas of a GlobalTable must include the stack's region ({region})"
                )
            replica = matching[0]
        self.replica = replica
        self.billing = properties.get("BillingMode") or "PROVISIONED"
        self.key_schema = properties.get("KeySchema") or []
        self.attributes = properties.get("AttributeDefinitions") or []
        self.lsis = properties.get("LocalSecondaryIndexes") or []
        self.stream = _stream(properties.get("StreamSpecification"))
        self.ttl = properties.get("TimeToLiveSpecification") or {}
        pitr = (replica if global_table else properties).get(
            "PointInTimeRecoverySpecification"
        ) or {}
        self.pitr = _bool(pitr.get("PointInTimeRecoveryEnabled", False))
        tags = (replica if global_table else properties).get("Tags") or []
        self.tags = {str(t["Key"]): str(t["Value"]) for t in tags}
        self.deletion_protection = _bool(
            (replica if global_table else properties).get("DeletionProtectionEnabled", False)
        )
        if global_table:
            self.throughput = self._global_throughput(
                properties.get("WriteProvisionedThroughputSettings"),
                replica.get("ReadProvisionedThroughputSettings"),
            )
            self.gsis = [
                self._global_gsi(gsi) for gsi in properties.get("GlobalSecondaryIndexes") or []
            ]
        else:
            self.throughput = _throughput(properties.get("ProvisionedThroughput"))
            self.gsis = [dict(gsi) for gsi in properties.get("GlobalSecondaryIndexes") or []]
        if self.billing == "PAY_PER_REQUEST":
            self.throughput = None
            for gsi in self.gsis:
                gsi.pop("ProvisionedThroughput", None)
        for gsi in self.gsis:
            if gsi.get("ProvisionedThroughput"):
                gsi["ProvisionedThroughput"] = _throughput(gsi["ProvisionedThroughput"])
            for extra in (
                "ContributorInsightsSpecification",
                "OnDemandThroughput",
                "WarmThroughput",
            ):
                gsi.pop(extra, None)

    def _global_throughput(
        self, write: dict[str, Any] | None, read: dict[str, Any] | None
    ) -> dict[str, int] | None:
        if self.billing == "PAY_PER_REQUEST":
            return None

        def units(settings: dict[str, Any] | None, key: str) -> int:
            settings = settings or {}
            if key in settings:
                return _int(settings[key])
            scaling = settings.get(key.replace("CapacityUnits", "CapacityAutoScalingSettings"))
            return _int((scaling or {}).get("MinCapacity", 1))

        return {
            "ReadCapacityUnits": units(read, "ReadCapacityUnits"),
            "WriteCapacityUnits": units(write, "WriteCapacityUnits"),
        }

    def _global_gsi(self, gsi: dict[str, Any]) -> dict[str, Any]:
        index: dict[str, Any] = {
            k: gsi[k] for k in ("IndexName", "KeySchema", "Projection") if k in gsi
        }
        if self.billing != "PAY_PER_REQUEST":
            replica_gsis = {
                g.get("IndexName"): g for g in self.replica.get("GlobalSecondaryIndexes") or []
            }
            read = (replica_gsis.get(gsi.get("IndexName")) or {}).get(
                "ReadProvisionedThroughputSettings"
            )
            index["ProvisionedThroughput"] = self._global_throughput(
                gsi.get("WriteProvisionedThroughputSettings"), read
            )
        return index

    def create_request(self, name: str) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": self.key_schema,
            "AttributeDefinitions": self.attributes,
            "BillingMode": self.billing,
        }
        if self.throughput:
            request["ProvisionedThroughput"] = self.throughput
        if self.gsis:
            request["GlobalSecondaryIndexes"] = self.gsis
        if self.lsis:
            request["LocalSecondaryIndexes"] = self.lsis
        if self.stream:
            request["StreamSpecification"] = self.stream
        if self.deletion_protection:
            request["DeletionProtectionEnabled"] = True
        return request


def _wait_active(name: str) -> dict[str, Any]:
    """The table's description once it and its indexes are ACTIVE."""
    deadline = time.monotonic() + ACTIVE_TIMEOUT_S
    while True:
        table: dict[str, Any] = service().client.call("DescribeTable", {"TableName": name})["Table"]
        busy = table.get("TableStatus") != "ACTIVE" or any(
            gsi.get("IndexStatus") not in (None, "ACTIVE")
            for gsi in table.get("GlobalSecondaryIndexes") or []
        )
        if not busy or time.monotonic() > deadline:
            return table
        time.sleep(0.05)


def _apply_side_settings(name: str, desired: Desired, current_ttl: dict[str, Any]) -> None:
    """TTL through the engine; PITR and tags into the extras."""
    client = service().client
    wanted_attr = desired.ttl.get("AttributeName") if _bool(desired.ttl.get("Enabled")) else None
    current_attr = current_ttl.get("AttributeName") if _bool(current_ttl.get("Enabled")) else None
    if wanted_attr != current_attr:
        if current_attr:
            client.call(
                "UpdateTimeToLive",
                {
                    "TableName": name,
                    "TimeToLiveSpecification": {"Enabled": False, "AttributeName": current_attr},
                },
            )
        if wanted_attr:
            client.call(
                "UpdateTimeToLive",
                {
                    "TableName": name,
                    "TimeToLiveSpecification": {"Enabled": True, "AttributeName": wanted_attr},
                },
            )
    extras = service().extras
    extras.set_pitr(name, desired.pitr)
    extras.set_tags(name, desired.tags)


class EngineTable:
    """A CloudFormation table resource whose table lives in DynamoDB Local.

    Shaped like moto's `CloudFormationModel` but not registered as one: moto finds it only
    through the type registry (`cfn_types`), so moto alone keeps its own behaviour.
    """

    cf_resource_type: str
    logical_resource_id: str

    def __init__(
        self,
        name: str,
        region: str,
        account: str,
        desired: Desired,
        description: dict[str, Any],
        resource_type: str,
    ) -> None:
        self.name = name
        self.region = region
        self.account = account
        self.desired = desired
        self.description = description
        self.resource_type = resource_type
        self.table_id = str(uuid.uuid4())

    @staticmethod
    def cloudformation_name_type() -> str:
        return "TableName"

    @staticmethod
    def cloudformation_type() -> str:
        return TABLE_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "StreamArn", "TableId")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Arn":
            return arns.table_arn(self.region, self.account, self.name)
        if attribute_name == "StreamArn" and self.description.get("LatestStreamArn"):
            return arns.public_arn(self.description["LatestStreamArn"], self.region, self.account)
        if attribute_name == "TableId" and self.resource_type == GLOBAL_TABLE_TYPE:
            return self.table_id
        raise UnformattedGetAttTemplateException()

    @property
    def physical_resource_id(self) -> str:
        return self.name

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> EngineTable:
        resource_type = str(
            cloudformation_json.get("Type") or kwargs.get("ResourceType") or TABLE_TYPE
        )
        desired = Desired(
            cloudformation_json.get("Properties") or {},
            global_table=resource_type == GLOBAL_TABLE_TYPE,
            region=region_name,
        )
        try:
            service().extras.validate_create(
                {"Tags": [{"Key": k, "Value": v} for k, v in desired.tags.items()]}
            )
        except ExtrasError as error:
            raise TableUpdateError(f"CreateTable {resource_name} failed: {error}") from error
        with engine_errors("CreateTable", resource_name):
            service().client.call("CreateTable", desired.create_request(resource_name))
        try:
            with engine_errors("CreateTable", resource_name):
                description = _wait_active(resource_name)
                # TTL, PITR and tags do not show in DescribeTable: the description stands.
                _apply_side_settings(resource_name, desired, {})
            source = desired.properties.get("ImportSourceSpecification")
            if source:
                _import(resource_name, source, desired, account_id)
        except TableUpdateError:
            _delete_table(resource_name)  # nothing half-made is left behind
            raise
        return cls(resource_name, region_name, account_id, desired, description, resource_type)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: EngineTable,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EngineTable:
        old = original_resource
        properties = cloudformation_json.get("Properties") or {}
        desired = Desired(
            properties, global_table=old.resource_type == GLOBAL_TABLE_TYPE, region=region_name
        )
        if any(old.desired.properties.get(p) != properties.get(p) for p in REPLACING):
            return cls._replace(
                old, new_resource_name, cloudformation_json, account_id, region_name
            )
        with engine_errors("UpdateTable", old.name):
            _update_in_place(old.name, old.desired, desired)
            _apply_side_settings(old.name, desired, old.desired.ttl)
        return cls(
            old.name, region_name, account_id, desired, _wait_active(old.name), old.resource_type
        )

    @classmethod
    def _replace(
        cls,
        old: EngineTable,
        new_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EngineTable:
        """CloudFormation's replacement: a new table first, then the old one goes."""
        if "TableName" in (old.desired.properties or {}) and new_name == old.name:
            raise TableUpdateError(
                "CloudFormation cannot update a stack when a custom-named resource requires "
                f"replacing. Rename {old.name} and update the stack again."
            )
        if new_name == old.name:
            new_name = f"{old.name[:200]}-{uuid.uuid4().hex[:12].upper()}"
        created = cls.create_from_cloudformation_json(
            new_name, cloudformation_json, account_id, region_name
        )
        old.delete(account_id, region_name)
        return created

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        _delete_table(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Delete the table from the engine (a table already gone is not an error)."""
        _delete_table(self.name)


def _import(name: str, source: dict[str, Any], desired: Desired, account_id: str) -> None:
    """Seed the new table from the local cloud's S3, as AWS's import does."""
    types = {a["AttributeName"]: a["AttributeType"] for a in desired.attributes}
    keys = {k["AttributeName"]: types[k["AttributeName"]] for k in desired.key_schema}
    try:
        summary = import_into(service().client, name, source, account_id=account_id, key_types=keys)
    except TableImportError as error:
        raise TableUpdateError(f"CreateTable {name} failed: import from S3: {error}") from error
    log.info(
        "imported %d items into %s from %d objects (%d lines not imported)",
        summary.imported,
        name,
        summary.objects,
        summary.errors,
    )


def _delete_table(name: str) -> None:
    try:
        service().client.call("DeleteTable", {"TableName": name})
    except EngineRequestError as error:
        if error.code != "ResourceNotFoundException":
            raise
    service().extras.table_deleted(name)


def _update_in_place(name: str, old: Desired, new: Desired) -> None:
    """UpdateTable calls for what changed: billing, throughput, GSIs, stream, protection."""
    client = service().client
    if new.billing != old.billing or new.throughput != old.throughput:
        request: dict[str, Any] = {"TableName": name, "BillingMode": new.billing}
        if new.throughput:
            request["ProvisionedThroughput"] = new.throughput
        if new.billing == "PROVISIONED" and old.billing == "PAY_PER_REQUEST":
            request["GlobalSecondaryIndexUpdates"] = [
                {
                    "Update": {
                        "IndexName": g["IndexName"],
                        "ProvisionedThroughput": g["ProvisionedThroughput"],
                    }
                }
                for g in new.gsis
                if g["IndexName"] in {o["IndexName"] for o in old.gsis}
                and g.get("ProvisionedThroughput")
            ]
            if not request["GlobalSecondaryIndexUpdates"]:
                del request["GlobalSecondaryIndexUpdates"]
        client.call("UpdateTable", request)
        _wait_active(name)
    old_gsis = {g["IndexName"]: g for g in old.gsis}
    new_gsis = {g["IndexName"]: g for g in new.gsis}
    for index in sorted(set(old_gsis) - set(new_gsis)):
        client.call(
            "UpdateTable",
            {"TableName": name, "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": index}}]},
        )
        _wait_active(name)
    for index in sorted(set(new_gsis) - set(old_gsis)):
        client.call(
            "UpdateTable",
            {
                "TableName": name,
                "AttributeDefinitions": new.attributes,
                "GlobalSecondaryIndexUpdates": [{"Create": new_gsis[index]}],
            },
        )
        _wait_active(name)
    for index in sorted(set(new_gsis) & set(old_gsis)):
        before, after = old_gsis[index], new_gsis[index]
        if {k: v for k, v in before.items() if k != "ProvisionedThroughput"} != {
            k: v for k, v in after.items() if k != "ProvisionedThroughput"
        }:
            raise TableUpdateError(
                f"Cannot update GSI {index}: its key schema or projection changed; "
                "rename the index to replace it"
            )
        if (
            after.get("ProvisionedThroughput")
            and before.get("ProvisionedThroughput") != after.get("ProvisionedThroughput")
            and new.billing == old.billing
        ):
            client.call(
                "UpdateTable",
                {
                    "TableName": name,
                    "GlobalSecondaryIndexUpdates": [
                        {
                            "Update": {
                                "IndexName": index,
                                "ProvisionedThroughput": after["ProvisionedThroughput"],
                            }
                        }
                    ],
                },
            )
    if new.stream != old.stream:
        if old.stream:
            client.call(
                "UpdateTable", {"TableName": name, "StreamSpecification": {"StreamEnabled": False}}
            )
        if new.stream:
            client.call("UpdateTable", {"TableName": name, "StreamSpecification": new.stream})
    if new.deletion_protection != old.deletion_protection:
        client.call(
            "UpdateTable", {"TableName": name, "DeletionProtectionEnabled": new.deletion_protection}
        )


def resource_map_update(
    self: cfn_parsing.ResourceMap, template: dict[str, Any], parameters: Any = None
) -> None:
    """moto's, after CloudFormation's own check of the whole update: at most one GSI of an
    `AWS::DynamoDB::Table` created or deleted (a rename is both), refused before any
    resource of the stack changes."""
    for logical_id, resource in (template.get("Resources") or {}).items():
        current = self._parsed_resources.get(logical_id)
        if not isinstance(current, EngineTable) or current.resource_type != TABLE_TYPE:
            continue
        if resource.get("Type") != TABLE_TYPE:
            continue
        indexes = (resource.get("Properties") or {}).get("GlobalSecondaryIndexes") or []
        names = {index.get("IndexName") for index in indexes if isinstance(index, dict)}
        if not all(isinstance(name, str) for name in names):
            continue  # computed names: the update itself will tell
        if len(names ^ {g["IndexName"] for g in current.desired.gsis}) > 1:
            raise TableUpdateError(
                f"{logical_id}: Cannot perform more than one GSI creation or deletion in a "
                "single update"
            )
    _RESOURCE_MAP_UPDATE.original(self, template, parameters)


_RESOURCE_MAP_UPDATE = Patch(
    "cfn.dynamodb_tables.one_gsi_per_update",
    cfn_parsing.ResourceMap,
    "update",
    resource_map_update,
)
PATCHES = PatchSet("cfn_tables", [_RESOURCE_MAP_UPDATE])
# Both DynamoDB table types are served by `EngineTable`, in DynamoDB Local.
cfn_types.register(TABLE_TYPE, EngineTable, "TableName")
cfn_types.register(GLOBAL_TABLE_TYPE, EngineTable, "TableName")
