"""CloudFormation's DynamoDB resources on the local cloud: created, updated and deleted in
DynamoDB Local, with TTL, PITR and tags applied by the deploy itself."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.localcloud.conftest import REGION, client

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACCOUNT = "123456789012"  # moto's account for the tests' fake access key


def _table(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": name,
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "created_at", "AttributeType": "S"},
            ],
            "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            "LocalSecondaryIndexes": [
                {
                    "IndexName": "created-at-index",
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "created_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "Tags": [{"Key": "team", "Value": "backend"}],
        },
    }


def _gsi(name: str, attribute: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2},
    }


def _template(resource: dict[str, Any], logical_id: str = "Table") -> str:
    outputs = {
        "Arn": {"Value": {"Fn::GetAtt": [logical_id, "Arn"]}},
        "StreamArn": {"Value": {"Fn::GetAtt": [logical_id, "StreamArn"]}},
        "Name": {"Value": {"Ref": logical_id}},
    }
    return json.dumps({"Resources": {logical_id: resource}, "Outputs": outputs})


def _outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _names(table: dict[str, Any], kind: str) -> set[str]:
    return {index["IndexName"] for index in table.get(kind, [])}


@pytest.fixture
def names() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return f"cfn-stack-{suffix}", f"cfn-table-{suffix}"


def test_a_table_is_created_in_the_engine_with_everything_the_template_declares(
    cloud: str, names: tuple[str, str]
) -> None:
    stack, name = names
    cloudformation, dynamodb = client("cloudformation", cloud), client("dynamodb", cloud)
    cloudformation.create_stack(StackName=stack, TemplateBody=_template(_table(name)))

    table = dynamodb.describe_table(TableName=name)["Table"]
    assert table["TableArn"] == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    assert _names(table, "LocalSecondaryIndexes") == {"created-at-index"}
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    backups = dynamodb.describe_continuous_backups(TableName=name)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"] == [
        {"Key": "team", "Value": "backend"}
    ]
    outputs = _outputs(cloudformation, stack)
    assert outputs["Arn"] == table["TableArn"]
    assert outputs["StreamArn"] == table["LatestStreamArn"]
    assert outputs["StreamArn"].startswith(f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}/")
    assert outputs["Name"] == name

    cloudformation.delete_stack(StackName=stack)
    with pytest.raises(ClientError) as gone:
        dynamodb.describe_table(TableName=name)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_updates_add_and_remove_gsis_and_change_stream_ttl_and_pitr(
    cloud: str, names: tuple[str, str]
) -> None:
    stack, name = names
    cloudformation, dynamodb = client("cloudformation", cloud), client("dynamodb", cloud)
    resource = _table(name)
    cloudformation.create_stack(StackName=stack, TemplateBody=_template(resource))
    old_stream = dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]

    changed = copy.deepcopy(resource)
    properties = changed["Properties"]
    properties["AttributeDefinitions"].append({"AttributeName": "email", "AttributeType": "S"})
    properties["AttributeDefinitions"].append({"AttributeName": "owner", "AttributeType": "S"})
    properties["GlobalSecondaryIndexes"] = [_gsi("email-index", "email")]
    properties["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    properties["TimeToLiveSpecification"] = {"AttributeName": "ttl", "Enabled": True}
    properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": False}
    properties["Tags"] = [{"Key": "team", "Value": "data"}]
    cloudformation.update_stack(StackName=stack, TemplateBody=_template(changed))
    # CloudFormation adds one GSI per update: the second index is the next deploy's.
    properties["GlobalSecondaryIndexes"].append(_gsi("owner-index", "owner"))
    cloudformation.update_stack(StackName=stack, TemplateBody=_template(changed))

    table = dynamodb.describe_table(TableName=name)["Table"]
    assert _names(table, "GlobalSecondaryIndexes") == {"email-index", "owner-index"}
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table["LatestStreamArn"] != old_stream
    assert _outputs(cloudformation, stack)["StreamArn"] == table["LatestStreamArn"]
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
    backups = dynamodb.describe_continuous_backups(TableName=name)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "DISABLED"
    tags = dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "data"}]

    # And back: one index removed, the other kept; the data survives every update.
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"S": "1"}})
    properties["GlobalSecondaryIndexes"] = [_gsi("owner-index", "owner")]
    cloudformation.update_stack(StackName=stack, TemplateBody=_template(changed))
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert _names(table, "GlobalSecondaryIndexes") == {"owner-index"}
    assert dynamodb.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"S": "1"}})["Item"]
    cloudformation.delete_stack(StackName=stack)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([], ["email-index", "owner-index"]),  # two creations
        (["email-index", "owner-index"], []),  # two deletions
        (["email-index"], ["renamed-index"]),  # a rename: one deletion and one creation
    ],
)
@pytest.mark.parametrize("via", ["update-stack", "change-set"])
def test_more_than_one_gsi_created_or_deleted_in_one_update_is_refused_changing_nothing(
    cloud: str, names: tuple[str, str], before: list[str], after: list[str], via: str
) -> None:
    stack, name = names
    cloudformation, dynamodb = client("cloudformation", cloud), client("dynamodb", cloud)

    def with_indexes(indexes: list[str]) -> dict[str, Any]:
        resource = _table(name)
        if indexes:
            properties = resource["Properties"]
            properties["AttributeDefinitions"].append(
                {"AttributeName": "email", "AttributeType": "S"}
            )
            properties["GlobalSecondaryIndexes"] = [_gsi(index, "email") for index in indexes]
        return resource

    cloudformation.create_stack(StackName=stack, TemplateBody=_template(with_indexes(before)))
    original = cloudformation.get_template(StackName=stack)["TemplateBody"]

    with pytest.raises(ClientError, match="more than one GSI creation or deletion"):
        if via == "update-stack":
            cloudformation.update_stack(
                StackName=stack, TemplateBody=_template(with_indexes(after))
            )
        else:  # as `cdk deploy` does
            cloudformation.create_change_set(
                StackName=stack,
                ChangeSetName="two-indexes",
                TemplateBody=_template(with_indexes(after)),
            )
            cloudformation.execute_change_set(StackName=stack, ChangeSetName="two-indexes")

    table = dynamodb.describe_table(TableName=name)["Table"]
    assert _names(table, "GlobalSecondaryIndexes") == set(before)
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert cloudformation.get_template(StackName=stack)["TemplateBody"] == original
    # Fixed to one change at a time, the next update goes through.
    added = [index for index in after if index not in before]
    one_step = before + added[:1] if added else before[1:]
    cloudformation.update_stack(StackName=stack, TemplateBody=_template(with_indexes(one_step)))
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert _names(table, "GlobalSecondaryIndexes") == set(one_step)
    cloudformation.delete_stack(StackName=stack)


def test_a_custom_named_table_whose_key_changes_is_not_replaced(
    cloud: str, names: tuple[str, str]
) -> None:
    stack, name = names
    cloudformation, dynamodb = client("cloudformation", cloud), client("dynamodb", cloud)
    resource = _table(name)
    cloudformation.create_stack(StackName=stack, TemplateBody=_template(resource))
    original = cloudformation.get_template(StackName=stack)["TemplateBody"]
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "keep"}, "sk": {"S": "me"}})

    changed = copy.deepcopy(resource)
    changed["Properties"]["KeySchema"] = [{"AttributeName": "pk", "KeyType": "HASH"}]
    with pytest.raises(ClientError, match="custom-named resource requires replacing"):
        cloudformation.update_stack(StackName=stack, TemplateBody=_template(changed))
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert cloudformation.get_template(StackName=stack)["TemplateBody"] == original
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert len(table["KeySchema"]) == 2
    assert dynamodb.get_item(TableName=name, Key={"pk": {"S": "keep"}, "sk": {"S": "me"}})["Item"]


def test_a_generated_name_table_whose_key_changes_is_replaced(cloud: str) -> None:
    stack = f"cfn-replace-{uuid.uuid4().hex[:8]}"
    cloudformation, dynamodb = client("cloudformation", cloud), client("dynamodb", cloud)
    resource = _table("unused")
    del resource["Properties"]["TableName"]
    cloudformation.create_stack(StackName=stack, TemplateBody=_template(resource))
    first = _outputs(cloudformation, stack)["Name"]
    assert first.startswith(stack)

    changed = copy.deepcopy(resource)
    changed["Properties"]["KeySchema"] = [{"AttributeName": "pk", "KeyType": "HASH"}]
    changed["Properties"].pop("LocalSecondaryIndexes")
    changed["Properties"]["AttributeDefinitions"] = [{"AttributeName": "pk", "AttributeType": "S"}]
    cloudformation.update_stack(StackName=stack, TemplateBody=_template(changed))
    second = _outputs(cloudformation, stack)["Name"]
    assert second != first
    assert [
        k["AttributeName"] for k in dynamodb.describe_table(TableName=second)["Table"]["KeySchema"]
    ] == ["pk"]
    assert first not in dynamodb.list_tables()["TableNames"]
    cloudformation.delete_stack(StackName=stack)
    assert second not in dynamodb.list_tables()["TableNames"]


def test_a_global_table_deploys_as_a_table_with_its_local_replica_settings(
    cloud: str, names: tuple[str, str]
) -> None:
    """What CDK's `TableV2` synthesizes (moto alone skips the type)."""
    stack, name = names
    cloudformation, dynamodb = client("cloudformation", cloud), client("dynamodb", cloud)
    resource = {
        "Type": "AWS::DynamoDB::GlobalTable",
        "Properties": {
            "TableName": name,
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "email", "AttributeType": "S"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "email-index",
                    "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": True},
            "Replicas": [
                {
                    "Region": REGION,
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "Tags": [{"Key": "app", "Value": "v2"}],
                }
            ],
        },
    }
    cloudformation.create_stack(StackName=stack, TemplateBody=_template(resource))
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert _names(table, "GlobalSecondaryIndexes") == {"email-index"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert (
        dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["AttributeName"]
        == "expires"
    )
    pitr = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    tags = dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    assert tags == [{"Key": "app", "Value": "v2"}]
    outputs = _outputs(cloudformation, stack)
    assert outputs["Arn"] == table["TableArn"]
    assert outputs["StreamArn"] == table["LatestStreamArn"]
    cloudformation.delete_stack(StackName=stack)
    assert name not in dynamodb.list_tables()["TableNames"]


def test_a_global_table_without_the_stacks_region_is_refused(
    cloud: str, names: tuple[str, str]
) -> None:
    stack, name = names
    cloudformation, dynamodb = client("cloudformation", cloud), client("dynamodb", cloud)
    resource = {
        "Type": "AWS::DynamoDB::GlobalTable",
        "Properties": {
            "TableName": name,
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "Replicas": [{"Region": "eu-west-1"}],
        },
    }
    with pytest.raises(ClientError, match="must include the stack's region"):
        cloudformation.create_stack(StackName=stack, TemplateBody=_template(resource))
    assert name not in dynamodb.list_tables()["TableNames"]


def test_moto_alone_has_no_engine_tables_and_skips_global_tables() -> None:
    """The lookup override is still needed: moto maps tables to its own model and has none
    for `AWS::DynamoDB::GlobalTable` (a moto that adds one makes this fail)."""
    from moto.dynamodb.models.table import Table as MotoTable

    from localcloud import cfn_tables, cfn_types

    lookup = cfn_types.PATCHES.patches[0].original
    assert lookup("AWS::DynamoDB::Table") is MotoTable
    assert lookup("AWS::DynamoDB::GlobalTable") is None
    for table_type in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
        assert cfn_types.resource_class_from_type(table_type) is cfn_tables.EngineTable
        assert cfn_types.resource_name_property_from_type(table_type) == "TableName"


def _imported_table(name: str, source: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": name,
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "n", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "n", "AttributeType": "N"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "ImportSourceSpecification": source,
        },
    }


def _item_line(pk: str, n: int, **extra: str) -> str:
    item = {"pk": {"S": pk}, "n": {"N": str(n)}, **{k: {"S": v} for k, v in extra.items()}}
    return json.dumps({"Item": item})


def test_an_import_source_seeds_the_new_table_from_s3(cloud: str, names: tuple[str, str]) -> None:
    import gzip

    stack, name = names
    s3, dynamodb = client("s3", cloud), client("dynamodb", cloud)
    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    first = "\n".join([_item_line("a", 1, v="old"), "not json", _item_line("b", 2)])
    second = "\n".join([_item_line("a", 1, v="new"), '{"Item": {"pk": {"S": "no-sort-key"}}}'])
    s3.put_object(Bucket=bucket, Key="run/data/1.json.gz", Body=gzip.compress(first.encode()))
    s3.put_object(Bucket=bucket, Key="run/data/2.json.gz", Body=gzip.compress(second.encode()))
    s3.put_object(Bucket=bucket, Key="run/manifest.json", Body=b"{}")  # outside the prefix
    source = {
        "S3BucketSource": {"S3Bucket": bucket, "S3KeyPrefix": "run/data/"},
        "InputFormat": "DYNAMODB_JSON",
        "InputCompressionType": "GZIP",
    }
    client("cloudformation", cloud).create_stack(
        StackName=stack, TemplateBody=_template(_imported_table(name, source))
    )

    items = dynamodb.scan(TableName=name, ConsistentRead=True)["Items"]
    assert sorted((i["pk"]["S"], i.get("v", {}).get("S")) for i in items) == [
        ("a", "new"),  # the later line wins
        ("b", None),
    ]


def test_a_csv_import_types_the_keys_and_reads_the_rest_as_strings(
    cloud: str, names: tuple[str, str]
) -> None:
    stack, name = names
    s3, dynamodb = client("s3", cloud), client("dynamodb", cloud)
    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="users.csv", Body=b"u1;7;42\nu2;8;\nbroken\n")
    source = {
        "S3BucketSource": {"S3Bucket": bucket},
        "InputFormat": "CSV",
        "InputCompressionType": "NONE",
        "InputFormatOptions": {"Csv": {"Delimiter": ";", "HeaderList": ["pk", "n", "age"]}},
    }
    client("cloudformation", cloud).create_stack(
        StackName=stack, TemplateBody=_template(_imported_table(name, source))
    )

    items = dynamodb.scan(TableName=name, ConsistentRead=True)["Items"]
    assert sorted(items, key=lambda i: i["pk"]["S"]) == [
        {"pk": {"S": "u1"}, "n": {"N": "7"}, "age": {"S": "42"}},
        {"pk": {"S": "u2"}, "n": {"N": "8"}},
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            {"S3BucketSource": {"S3Bucket": "no-such-bucket-here"}, "InputFormat": "CSV"},
            "S3 bucket no-such-bucket-here does not exist",
        ),
        (
            {"S3BucketSource": {"S3Bucket": "any-bucket"}, "InputFormat": "ION"},
            "imports DYNAMODB_JSON and CSV, not ION",
        ),
        (
            {
                "S3BucketSource": {"S3Bucket": "any-bucket"},
                "InputFormat": "CSV",
                "InputCompressionType": "ZSTD",
            },
            "GZIP or uncompressed imports, not ZSTD",
        ),
    ],
)
def test_an_import_the_local_cloud_cannot_do_fails_the_table_and_leaves_nothing(
    cloud: str, names: tuple[str, str], source: dict[str, Any], message: str
) -> None:
    stack, name = names
    with pytest.raises(ClientError, match=message):
        client("cloudformation", cloud).create_stack(
            StackName=stack, TemplateBody=_template(_imported_table(name, source))
        )
    assert name not in client("dynamodb", cloud).list_tables()["TableNames"]


def test_the_stacks_global_tables_deploy_with_their_local_replicas_settings(
    cloud: str, names: tuple[str, str], tmp_path: Any
) -> None:
    """CDK's own `AWS::DynamoDB::GlobalTable` (the stage's `replicas` option, auto scaled):
    the local cloud makes the stack region's replica."""
    from stacks.config import stage_config
    from tests.support.synth import synthesize

    config = stage_config("local", {"replicas": "us-west-2", "billing": "autoscaled"})
    template = synthesize(config, tmp_path).data.to_json()
    stack, name = names
    spec = config.table("messages")
    (logical_id, resource) = next(
        (key, value)
        for key, value in template["Resources"].items()
        if value["Type"] == "AWS::DynamoDB::GlobalTable"
        and value["Properties"]["TableName"] == spec.table_name
    )
    resource = copy.deepcopy(resource)
    resource["Properties"]["TableName"] = name
    cloudformation, dynamodb = client("cloudformation", cloud), client("dynamodb", cloud)
    cloudformation.create_stack(StackName=stack, TemplateBody=_template(resource, logical_id))

    table = dynamodb.describe_table(TableName=name)["Table"]
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 5
    assert _names(table, "GlobalSecondaryIndexes") == {i.name for i in spec.global_indexes}
    assert _names(table, "LocalSecondaryIndexes") == {i.name for i in spec.local_indexes}
    assert _outputs(cloudformation, stack)["StreamArn"] == table["LatestStreamArn"]
