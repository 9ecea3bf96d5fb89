"""IAM enforced on function calls: a function's DynamoDB requests are authorized against its
execution role, as on AWS; other callers are the account's administrator."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.localcloud.conftest import REGION, client, create_function, create_role
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACCOUNT = "123456789012"

# Runs one call (DynamoDB unless the event names another service) and answers what happened.
CALLER = """
import json

import boto3
from botocore.exceptions import ClientError


def handler(event, context):
    service = boto3.client(event.get("service", "dynamodb"))
    try:
        answer = getattr(service, event["call"])(**event["args"])
    except ClientError as error:
        failure = error.response["Error"]
        return {"error": failure["Code"], "message": failure["Message"]}
    answer.pop("ResponseMetadata", None)
    return {"ok": True, "answer": json.loads(json.dumps(answer, default=str))}
"""


def _table(endpoint: str, *, index: bool = False) -> str:
    name = f"iam-{uuid.uuid4().hex[:8]}"
    spec: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if index:
        spec["AttributeDefinitions"].append({"AttributeName": "email", "AttributeType": "S"})
        spec["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "email-index",
                "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    client("dynamodb", endpoint).create_table(**spec)
    return name


def _arn(table: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _function(endpoint: str, policy: dict[str, Any]) -> tuple[str, str]:
    name = f"caller-{uuid.uuid4().hex[:8]}"
    role = create_role(endpoint, name, policy)
    create_function(endpoint, name, CALLER, role=role)
    return name, role


def _call(
    endpoint: str, function: str, call: str, *, service: str = "dynamodb", **args: Any
) -> dict[str, Any]:
    event = {"service": service, "call": call, "args": args}
    response = client("lambda", endpoint).invoke(
        FunctionName=function, Payload=json.dumps(event).encode()
    )
    assert "FunctionError" not in response, response["Payload"].read()
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def _denied(role: str, function: str, action: str, resource: str, why: str) -> str:
    role_name = role.rsplit("/", 1)[-1]
    return (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{function} is not authorized "
        f"to perform: {action} on resource: {resource} {why}"
    )


def test_a_function_may_do_what_its_role_allows_and_nothing_else(cloud: str) -> None:
    allowed, other = _table(cloud), _table(cloud)
    function, role = _function(
        cloud,
        _policy(
            {
                "Effect": "Allow",
                "Action": ["dynamodb:PutItem", "dynamodb:GetItem"],
                "Resource": _arn(allowed),
            }
        ),
    )
    item = {"pk": {"S": "a"}}
    assert _call(cloud, function, "put_item", TableName=allowed, Item=item)["ok"]
    got = _call(cloud, function, "get_item", TableName=allowed, Key=item)
    assert got["answer"]["Item"] == item

    denied = _call(cloud, function, "put_item", TableName=other, Item=item)
    assert denied["error"] == "AccessDeniedException"
    assert denied["message"] == _denied(
        role,
        function,
        "dynamodb:PutItem",
        _arn(other),
        "because no identity-based policy allows the dynamodb:PutItem action",
    )
    scan = _call(cloud, function, "scan", TableName=allowed)
    assert scan["error"] == "AccessDeniedException"
    # the denied write changed nothing; the administrator's keys may do anything
    assert "Item" not in client("dynamodb", cloud).get_item(TableName=other, Key=item)
    assert client("dynamodb", cloud).scan(TableName=allowed)["Count"] == 1


def test_an_index_needs_its_own_arn_in_the_policy(cloud: str) -> None:
    table = _table(cloud, index=True)
    query: dict[str, Any] = {
        "TableName": table,
        "IndexName": "email-index",
        "KeyConditionExpression": "email = :e",
        "ExpressionAttributeValues": {":e": {"S": "a@example.com"}},
    }
    table_only, role = _function(
        cloud, _policy({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": _arn(table)})
    )
    denied = _call(cloud, table_only, "query", **query)
    assert denied["message"] == _denied(
        role,
        table_only,
        "dynamodb:Query",
        f"{_arn(table)}/index/email-index",
        "because no identity-based policy allows the dynamodb:Query action",
    )
    with_index, _ = _function(
        cloud,
        _policy(
            {
                "Effect": "Allow",
                "Action": "dynamodb:Query",
                "Resource": [_arn(table), f"{_arn(table)}/index/*"],
            }
        ),
    )
    assert _call(cloud, with_index, "query", **query)["ok"]


def test_leading_keys_confine_a_role_to_its_own_partition(cloud: str) -> None:
    table = _table(cloud)
    function, _ = _function(
        cloud,
        _policy(
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                "Resource": _arn(table),
                "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["tenant-1"]}},
            }
        ),
    )
    mine, theirs = {"pk": {"S": "tenant-1"}}, {"pk": {"S": "tenant-2"}}
    assert _call(cloud, function, "put_item", TableName=table, Item=mine)["ok"]
    assert _call(cloud, function, "get_item", TableName=table, Key=theirs)["error"] == (
        "AccessDeniedException"
    )
    assert _call(cloud, function, "put_item", TableName=table, Item=theirs)["error"] == (
        "AccessDeniedException"
    )


def test_a_transaction_is_authorized_item_by_item_and_denied_as_a_whole(cloud: str) -> None:
    first, second = _table(cloud), _table(cloud)
    function, role = _function(
        cloud,
        _policy(
            {
                "Effect": "Allow",
                "Action": ["dynamodb:PutItem", "dynamodb:ConditionCheckItem"],
                "Resource": [_arn(first), _arn(second)],
            }
        ),
    )
    client("dynamodb", cloud).put_item(TableName=second, Item={"pk": {"S": "old"}})
    items = [
        {"Put": {"TableName": first, "Item": {"pk": {"S": "new"}}}},
        {
            "ConditionCheck": {
                "TableName": first,
                "Key": {"pk": {"S": "x"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {"Delete": {"TableName": second, "Key": {"pk": {"S": "old"}}}},
    ]
    denied = _call(cloud, function, "transact_write_items", TransactItems=items)
    assert denied["message"] == _denied(
        role,
        function,
        "dynamodb:DeleteItem",
        _arn(second),
        "because no identity-based policy allows the dynamodb:DeleteItem action",
    )
    assert "Item" not in client("dynamodb", cloud).get_item(
        TableName=first, Key={"pk": {"S": "new"}}
    )
    assert _call(cloud, function, "transact_write_items", TransactItems=items[:2])["ok"]


def test_an_explicit_deny_wins_over_an_allow(cloud: str) -> None:
    table = _table(cloud)
    function, role = _function(
        cloud,
        _policy(
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"},
        ),
    )
    denied = _call(cloud, function, "delete_table", TableName=table)
    assert denied["message"] == _denied(
        role,
        function,
        "dynamodb:DeleteTable",
        _arn(table),
        "with an explicit deny in an identity-based policy",
    )
    assert _call(cloud, function, "describe_table", TableName=table)["ok"]


def test_a_policy_changed_after_the_deploy_applies_to_the_next_call(cloud: str) -> None:
    table = _table(cloud)
    function, role = _function(
        cloud, _policy({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": _arn(table)})
    )
    key = {"pk": {"S": "k"}}
    assert _call(cloud, function, "put_item", TableName=table, Item=key)["error"]
    client("iam", cloud).put_role_policy(
        RoleName=role.rsplit("/", 1)[-1],
        PolicyName="writer",
        PolicyDocument=json.dumps(
            _policy({"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": _arn(table)})
        ),
    )
    assert _call(cloud, function, "put_item", TableName=table, Item=key)["ok"]


def test_the_report_lists_used_denied_and_unused_actions(cloud: str) -> None:
    table = _table(cloud)
    function, _ = _function(
        cloud,
        _policy(
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                "Resource": _arn(table),
            }
        ),
    )
    _call(cloud, function, "get_item", TableName=table, Key={"pk": {"S": "a"}})
    _call(cloud, function, "delete_item", TableName=table, Key={"pk": {"S": "a"}})
    with urllib.request.urlopen(f"{cloud}/_localcloud/iam/report", timeout=10) as answer:
        report = json.loads(answer.read())
    assert report["mode"] == "enforce"
    usage = report["functions"][function]
    assert usage["denied"] == ["dynamodb:DeleteItem"]
    assert {(u["action"], u["allowed"], u["denied"]) for u in usage["used"]} == {
        ("dynamodb:GetItem", 1, 0),
        ("dynamodb:DeleteItem", 0, 1),
    }
    assert usage["unused"] == ["dynamodb:UpdateItem"]


@pytest.fixture(scope="module")
def audit_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOCALCLOUD_IAM", "audit")
        cloud = LocalCloud(tmp_path_factory.mktemp("audit-cloud"))
        cloud.start()
    try:
        yield cloud
    finally:
        cloud.stop()


def test_audit_mode_allows_and_logs_each_would_be_denial(audit_cloud: LocalCloud) -> None:
    endpoint = audit_cloud.endpoint
    table = _table(endpoint)
    function, role = _function(
        endpoint,
        _policy({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": _arn(table)}),
    )
    assert _call(endpoint, function, "put_item", TableName=table, Item={"pk": {"S": "a"}})["ok"]
    log = Path(audit_cloud.state_dir / f"server-{audit_cloud.port}.log").read_text()
    assert (
        "IAM audit (allowed): "
        + _denied(
            role,
            function,
            "dynamodb:PutItem",
            _arn(table),
            "because no identity-based policy allows the dynamodb:PutItem action",
        )
        in log
    )
    assert audit_cloud.health()["iam"]["mode"] == "audit"


def _streamed_table(endpoint: str) -> tuple[str, str]:
    name = f"iam-stream-{uuid.uuid4().hex[:8]}"
    created = client("dynamodb", endpoint).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return name, created["TableDescription"]["LatestStreamArn"]


STREAM_READ = {
    "Effect": "Allow",
    "Action": ["dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream"],
    "Resource": "*",
}
LIST_STREAMS = {"Effect": "Allow", "Action": "dynamodb:ListStreams", "Resource": "*"}


def test_a_mapping_needs_a_role_that_can_read_the_stream(cloud: str) -> None:
    from botocore.exceptions import ClientError

    _, stream_arn = _streamed_table(cloud)
    lambda_client = client("lambda", cloud)
    without_list, _ = _function(cloud, _policy(STREAM_READ))
    with pytest.raises(ClientError, match="Cannot access stream") as refused:
        lambda_client.create_event_source_mapping(
            FunctionName=without_list, EventSourceArn=stream_arn, StartingPosition="LATEST"
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert stream_arn in str(refused.value)
    readable, _ = _function(cloud, _policy(STREAM_READ, LIST_STREAMS))
    created = lambda_client.create_event_source_mapping(
        FunctionName=readable, EventSourceArn=stream_arn, StartingPosition="LATEST"
    )
    lambda_client.delete_event_source_mapping(UUID=created["UUID"])


def test_an_on_failure_queue_needs_send_message_in_the_role(cloud: str) -> None:
    from botocore.exceptions import ClientError

    _, stream_arn = _streamed_table(cloud)
    queue = client("sqs", cloud).create_queue(QueueName=f"iam-{uuid.uuid4().hex[:8]}")
    queue_arn = client("sqs", cloud).get_queue_attributes(
        QueueUrl=queue["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    lambda_client = client("lambda", cloud)
    mapping = {
        "EventSourceArn": stream_arn,
        "StartingPosition": "LATEST",
        "DestinationConfig": {"OnFailure": {"Destination": queue_arn}},
    }
    no_send, _ = _function(cloud, _policy(STREAM_READ, LIST_STREAMS))
    with pytest.raises(ClientError, match="does not have permissions to call SendMessage on SQS"):
        lambda_client.create_event_source_mapping(FunctionName=no_send, **mapping)
    sender, _ = _function(
        cloud,
        _policy(
            STREAM_READ,
            LIST_STREAMS,
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn},
        ),
    )
    created = lambda_client.create_event_source_mapping(FunctionName=sender, **mapping)
    lambda_client.delete_event_source_mapping(UUID=created["UUID"])


def test_calls_to_other_services_are_authorized_against_the_role_too(cloud: str) -> None:
    sqs, s3 = client("sqs", cloud), client("s3", cloud)
    queue = sqs.create_queue(QueueName=f"iam-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bucket = f"iam-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="readable/a.txt", Body=b"a")
    s3.put_object(Bucket=bucket, Key="secret/b.txt", Body=b"b")
    target, _ = _function(
        cloud, _policy({"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"})
    )
    function, role = _function(
        cloud,
        _policy(
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn},
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/readable/*",
            },
        ),
    )
    sent = _call(cloud, function, "send_message", service="sqs", QueueUrl=queue, MessageBody="hi")
    assert sent["ok"]
    purge = _call(cloud, function, "purge_queue", service="sqs", QueueUrl=queue)
    assert purge["error"] == "AccessDenied"
    assert purge["message"] == _denied(
        role,
        function,
        "sqs:PurgeQueue",
        queue_arn,
        "because no identity-based policy allows the sqs:PurgeQueue action",
    )
    assert _call(cloud, function, "get_object", service="s3", Bucket=bucket, Key="readable/a.txt")[
        "ok"
    ]
    secret = _call(cloud, function, "get_object", service="s3", Bucket=bucket, Key="secret/b.txt")
    assert secret["error"] == "AccessDenied"
    assert f"arn:aws:s3:::{bucket}/secret/b.txt" in secret["message"]
    invoked = _call(cloud, function, "invoke", service="lambda", FunctionName=target, Payload="{}")
    assert invoked["error"] == "AccessDeniedException"
    assert "lambda:InvokeFunction" in invoked["message"]
    # the message sent is there; the purge changed nothing
    received = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert [m["Body"] for m in received] == ["hi"]


def test_source_arn_is_absent_from_a_functions_own_calls_as_on_aws(cloud: str) -> None:
    table = _table(cloud)
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:whatever"

    def allowed(operator: str) -> bool:
        function, _ = _function(
            cloud,
            _policy(
                {
                    "Effect": "Allow",
                    "Action": "dynamodb:DescribeTable",
                    "Resource": _arn(table),
                    "Condition": {operator: {"aws:SourceArn": function_arn}},
                }
            ),
        )
        return bool(_call(cloud, function, "describe_table", TableName=table).get("ok"))

    assert not allowed("ArnEquals")
    assert allowed("ArnEqualsIfExists")
