"""What DynamoDB Local lacks, answered by the local cloud with AWS's shapes and errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.localcloud.conftest import client

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _create(ddb: Any, tags: list[dict[str, str]] | None = None) -> tuple[str, str]:
    name = f"extras-{uuid.uuid4().hex[:8]}"
    extra = {"Tags": tags} if tags else {}
    created = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return name, created["TableDescription"]["TableArn"]


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_tags_given_at_creation_are_listed_changed_and_removed(cloud: str) -> None:
    ddb = client("dynamodb", cloud)
    name, arn = _create(ddb, [{"Key": "team", "Value": "backend"}])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "backend"}
    ]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "data"}])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "env", "Value": "dev"},
        {"Key": "team", "Value": "data"},
    ]
    ddb.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]

    # A deleted table's tags go with it: a new table of the same name has none.
    ddb.delete_table(TableName=name)
    with pytest.raises(ClientError) as missing:
        ddb.list_tags_of_resource(ResourceArn=arn)
    assert _code(missing) == "ResourceNotFoundException"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []
    ddb.delete_table(TableName=name)


def test_bad_tags_are_refused_and_change_nothing(cloud: str) -> None:
    ddb = client("dynamodb", cloud)
    name, arn = _create(ddb, [{"Key": "team", "Value": "backend"}])
    for bad in ([{"Key": "aws:reserved", "Value": "x"}], [{"Key": "k", "Value": "v" * 257}]):
        with pytest.raises(ClientError) as refused:
            ddb.tag_resource(ResourceArn=arn, Tags=bad)
        assert _code(refused) == "ValidationException"
    too_many = [{"Key": f"k{n}", "Value": "v"} for n in range(50)]
    with pytest.raises(ClientError) as refused:
        ddb.tag_resource(ResourceArn=arn, Tags=too_many)
    assert _code(refused) == "ValidationException"
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "backend"}
    ]
    # Bad tags at creation: no table is created.
    bad_name = f"extras-bad-{uuid.uuid4().hex[:6]}"
    with pytest.raises(ClientError) as refused:
        ddb.create_table(
            TableName=bad_name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "aws:cloudformation", "Value": "x"}],
        )
    assert _code(refused) == "ValidationException"
    assert bad_name not in ddb.list_tables()["TableNames"]
    ddb.delete_table(TableName=name)


def test_point_in_time_recovery_is_switched_and_described(cloud: str) -> None:
    ddb = client("dynamodb", cloud)
    name, _ = _create(ddb)
    described = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert described["ContinuousBackupsStatus"] == "ENABLED"
    assert described["PointInTimeRecoveryDescription"] == {"PointInTimeRecoveryStatus": "DISABLED"}
    updated = ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert updated["PointInTimeRecoveryStatus"] == "ENABLED"
    assert updated["EarliestRestorableDateTime"] <= updated["LatestRestorableDateTime"]
    again = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert again["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    with pytest.raises(ClientError) as missing:
        ddb.describe_continuous_backups(TableName="no-such-table")
    assert _code(missing) == "TableNotFoundException"
    with pytest.raises(ClientError) as missing:
        ddb.update_continuous_backups(
            TableName="no-such-table",
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    assert _code(missing) == "TableNotFoundException"
    ddb.delete_table(TableName=name)


def test_describe_endpoints_names_the_local_cloud(cloud: str) -> None:
    endpoints = client("dynamodb", cloud).describe_endpoints()["Endpoints"]
    assert endpoints == [{"Address": cloud.removeprefix("http://"), "CachePeriodInMinutes": 1440}]


def test_a_malformed_request_body_is_a_serialization_error(cloud: str) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        cloud,
        data=b"{not json",
        headers={
            "X-Amz-Target": "DynamoDB_20120810.TagResource",
            "Content-Type": "application/x-amz-json-1.0",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)
    assert answer.value.code == 400
    assert b"SerializationException" in answer.value.read()


def test_item_data_that_looks_like_an_arn_is_stored_as_sent(cloud: str) -> None:
    """Identity rewriting touches ARNs the API uses, never the caller's attribute values."""
    ddb = client("dynamodb", cloud)
    name, arn = _create(ddb)
    foreign = "arn:aws:dynamodb:eu-west-3:999999999999:table/Elsewhere/stream/2020"
    ddb.put_item(TableName=arn, Item={"pk": {"S": "a"}, "points_at": {"S": foreign}})
    ddb.batch_write_item(
        RequestItems={arn: [{"PutRequest": {"Item": {"pk": {"S": "b"}, "x": {"S": foreign}}}}]}
    )
    item = ddb.get_item(TableName=name, Key={"pk": {"S": "a"}})["Item"]
    assert item["points_at"]["S"] == foreign
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "b"}})["Item"]["x"]["S"] == foreign
    ddb.delete_table(TableName=name)


@pytest.mark.parametrize(
    ("tags", "code"),
    [
        ("x", "SerializationException"),
        ([1], "SerializationException"),
        ([{"Key": "no-value"}], "ValidationException"),
    ],
    ids=["not-a-list", "not-structures", "missing-value"],
)
def test_malformed_tags_at_creation_are_refused_as_aws_does(
    cloud: str, tags: object, code: str
) -> None:
    """DynamoDB Local ignores tags (or fails with a 500); AWS refuses these, and so do we,
    before any table exists."""
    import json
    import urllib.error
    import urllib.request

    name = f"extras-tags-{uuid.uuid4().hex[:6]}"
    request = {
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
        "Tags": tags,
    }
    http_request = urllib.request.Request(
        cloud,
        data=json.dumps(request).encode(),
        headers={
            "X-Amz-Target": "DynamoDB_20120810.CreateTable",
            "Content-Type": "application/x-amz-json-1.0",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(http_request, timeout=10)
    assert answer.value.code == 400
    assert json.loads(answer.value.read())["__type"].endswith(f"#{code}")
    assert name not in client("dynamodb", cloud).list_tables()["TableNames"]
