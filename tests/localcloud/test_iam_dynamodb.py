"""The IAM authorization requests of DynamoDB and DynamoDB Streams calls, as AWS evaluates them."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localcloud.iam_dynamodb import (
    AuthorizationRequest,
    KeySchema,
    MalformedRequest,
    UnsupportedOperation,
    authorization_requests,
)

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}"
SCHEMAS = {
    "Tasks": KeySchema("pk", "sk"),
    "Users": KeySchema("userId"),
    "Scores": KeySchema("gameId", "score"),  # a Number partition key
}
STREAM = f"{ARN}:table/Tasks/stream/2026-03-01T10:00:00.000"
ITERATORS = {"it-1": STREAM}


def requests(operation: str, body: dict[str, Any]) -> list[AuthorizationRequest]:
    return authorization_requests(
        operation,
        body,
        region=REGION,
        account=ACCOUNT,
        key_schema=SCHEMAS.get,
        stream_arn_of_iterator=ITERATORS.get,
    )


def only(operation: str, body: dict[str, Any]) -> AuthorizationRequest:
    (request,) = requests(operation, body)
    return request


def s(value: str) -> dict[str, str]:
    return {"S": value}


# -- single-item operations ----------------------------------------------------------------
def test_get_item_names_the_table_its_partition_key_and_key_attributes() -> None:
    request = only("GetItem", {"TableName": "Tasks", "Key": {"pk": s("U#1"), "sk": s("T#9")}})
    assert request == AuthorizationRequest(
        "dynamodb:GetItem",
        f"{ARN}:table/Tasks",
        {
            "dynamodb:LeadingKeys": ("U#1",),
            "dynamodb:Attributes": ("pk", "sk"),
            "dynamodb:Select": ("ALL_ATTRIBUTES",),
        },
    )


def test_get_item_projection_resolves_names_to_top_level_attributes() -> None:
    request = only(
        "GetItem",
        {
            "TableName": "Tasks",
            "Key": {"pk": s("U#1"), "sk": s("T#9")},
            "ProjectionExpression": "#t, info.#d[0], tags[2], #s",
            "ExpressionAttributeNames": {"#t": "title", "#d": "due", "#s": "status"},
            "ReturnConsumedCapacity": "TOTAL",
        },
    )
    assert request.context["dynamodb:Attributes"] == ("info", "pk", "sk", "status", "tags", "title")
    assert "due" not in request.context["dynamodb:Attributes"]  # nested, not top level
    assert request.context["dynamodb:Select"] == ("SPECIFIC_ATTRIBUTES",)
    assert request.context["dynamodb:ReturnConsumedCapacity"] == ("TOTAL",)


def test_legacy_attributes_to_get_is_a_projection() -> None:
    request = only(
        "GetItem",
        {"TableName": "Users", "Key": {"userId": s("u1")}, "AttributesToGet": ["email"]},
    )
    assert request.context["dynamodb:Attributes"] == ("email", "userId")
    assert request.context["dynamodb:Select"] == ("SPECIFIC_ATTRIBUTES",)


def test_a_table_arn_as_table_name_is_the_resource_and_finds_the_key_schema() -> None:
    arn = f"{ARN}:table/Users"
    request = only("GetItem", {"TableName": arn, "Key": {"userId": s("u1")}})
    assert request.resource == arn
    assert request.context["dynamodb:LeadingKeys"] == ("u1",)


def test_a_number_partition_key_is_compared_as_its_string() -> None:
    request = only("DeleteItem", {"TableName": "Scores", "Key": {"gameId": {"N": "42"}}})
    assert request.context["dynamodb:LeadingKeys"] == ("42",)


def test_a_binary_partition_key_is_compared_as_its_base64_text() -> None:
    request = only("GetItem", {"TableName": "Users", "Key": {"userId": {"B": "AAEC"}}})
    assert request.context["dynamodb:LeadingKeys"] == ("AAEC",)


def test_an_unknown_table_has_no_leading_keys() -> None:
    request = only("GetItem", {"TableName": "Elsewhere", "Key": {"id": s("x")}})
    assert request.resource == f"{ARN}:table/Elsewhere"
    assert "dynamodb:LeadingKeys" not in request.context
    assert request.context["dynamodb:Attributes"] == ("id",)


def test_put_item_covers_every_item_attribute_and_the_condition() -> None:
    request = only(
        "PutItem",
        {
            "TableName": "Tasks",
            "Item": {"pk": s("U#1"), "sk": s("T#1"), "title": s("x")},
            "ConditionExpression": "attribute_not_exists(#pk) OR size(#v) < :max",
            "ExpressionAttributeNames": {"#pk": "pk", "#v": "version"},
            "ExpressionAttributeValues": {":max": {"N": "3"}},
        },
    )
    assert request.action == "dynamodb:PutItem"
    assert request.context == {
        "dynamodb:ReturnValues": ("NONE",),  # DynamoDB's default is evaluated too
        "dynamodb:LeadingKeys": ("U#1",),
        "dynamodb:Attributes": ("pk", "sk", "title", "version"),
    }


def test_update_item_covers_every_clause_of_the_update_expression() -> None:
    request = only(
        "UpdateItem",
        {
            "TableName": "Tasks",
            "Key": {"pk": s("U#1"), "sk": s("T#1")},
            "UpdateExpression": (
                "SET #c = if_not_exists(#c, :zero) + :one, meta.edited = :now,"
                " log = list_append(log, :entry) REMOVE draft[0] ADD seen :set DELETE tags :old"
            ),
            "ConditionExpression": "#o = :me AND begins_with(code, :p)",
            "ExpressionAttributeNames": {"#c": "count", "#o": "owner"},
            "ReturnValues": "UPDATED_NEW",
        },
    )
    assert request.action == "dynamodb:UpdateItem"
    assert request.context["dynamodb:Attributes"] == (
        "code",
        "count",
        "draft",
        "log",
        "meta",
        "owner",
        "pk",
        "seen",
        "sk",
        "tags",
    )
    assert request.context["dynamodb:ReturnValues"] == ("UPDATED_NEW",)


def test_legacy_attribute_updates_and_expected_name_their_attributes() -> None:
    request = only(
        "UpdateItem",
        {
            "TableName": "Users",
            "Key": {"userId": s("u1")},
            "AttributeUpdates": {"email": {"Action": "PUT", "Value": s("a@b")}},
            "Expected": {"active": {"Value": {"BOOL": True}}},
        },
    )
    assert request.context["dynamodb:Attributes"] == ("active", "email", "userId")


def test_delete_item_with_return_values() -> None:
    request = only(
        "DeleteItem",
        {"TableName": "Users", "Key": {"userId": s("u1")}, "ReturnValues": "ALL_OLD"},
    )
    assert request == AuthorizationRequest(
        "dynamodb:DeleteItem",
        f"{ARN}:table/Users",
        {
            "dynamodb:ReturnValues": ("ALL_OLD",),
            "dynamodb:LeadingKeys": ("u1",),
            "dynamodb:Attributes": ("userId",),
        },
    )


# -- Query and Scan --------------------------------------------------------------------------
def test_query_takes_the_partition_key_equality_of_its_key_condition() -> None:
    request = only(
        "Query",
        {
            "TableName": "Tasks",
            "KeyConditionExpression": "#p = :p AND begins_with(#s, :prefix)",
            "FilterExpression": "done = :no",
            "ExpressionAttributeNames": {"#p": "pk", "#s": "sk"},
            "ExpressionAttributeValues": {":p": s("U#1"), ":prefix": s("T#"), ":no": s("n")},
        },
    )
    assert request == AuthorizationRequest(
        "dynamodb:Query",
        f"{ARN}:table/Tasks",
        {
            "dynamodb:Select": ("ALL_ATTRIBUTES",),
            "dynamodb:LeadingKeys": ("U#1",),
            "dynamodb:Attributes": ("done", "pk", "sk"),
        },
    )


def test_query_reads_an_equality_written_value_first() -> None:
    request = only(
        "Query",
        {
            "TableName": "Tasks",
            "KeyConditionExpression": ":p = pk AND sk = :s",
            "ExpressionAttributeValues": {":p": s("U#2"), ":s": s("T#1")},
        },
    )
    assert request.context["dynamodb:LeadingKeys"] == ("U#2",)  # not the sort key's value


def test_query_of_a_number_partition_key() -> None:
    request = only(
        "Query",
        {
            "TableName": "Scores",
            "KeyConditionExpression": "gameId = :g AND score > :min",
            "ExpressionAttributeValues": {":g": {"N": "7"}, ":min": {"N": "100"}},
        },
    )
    assert request.context["dynamodb:LeadingKeys"] == ("7",)


def test_query_with_legacy_key_conditions() -> None:
    request = only(
        "Query",
        {
            "TableName": "Tasks",
            "KeyConditions": {
                "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [s("U#3")]},
                "sk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [s("T#")]},
            },
            "QueryFilter": {"done": {"ComparisonOperator": "NULL"}},
        },
    )
    assert request.context["dynamodb:LeadingKeys"] == ("U#3",)
    assert request.context["dynamodb:Attributes"] == ("done", "pk", "sk")


def test_query_on_an_index_is_authorized_on_the_index_with_its_partition_key() -> None:
    request = only(
        "Query",
        {
            "TableName": "Tasks",
            "IndexName": "by-status",
            "KeyConditionExpression": "#st = :open AND due < :soon",
            "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {":open": s("OPEN"), ":soon": s("2026")},
        },
    )
    assert request.resource == f"{ARN}:table/Tasks/index/by-status"
    assert request.context["dynamodb:LeadingKeys"] == ("OPEN",)
    assert request.context["dynamodb:Select"] == ("ALL_PROJECTED_ATTRIBUTES",)


def test_query_select_and_projection() -> None:
    body = {
        "TableName": "Tasks",
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": s("U#1")},
    }
    assert only("Query", {**body, "Select": "COUNT"}).context["dynamodb:Select"] == ("COUNT",)
    projected = only("Query", {**body, "ProjectionExpression": "title"})
    assert projected.context["dynamodb:Select"] == ("SPECIFIC_ATTRIBUTES",)
    assert projected.context["dynamodb:Attributes"] == ("pk", "title")


def test_query_of_an_unknown_table_has_no_leading_keys() -> None:
    request = only(
        "Query",
        {
            "TableName": "Elsewhere",
            "KeyConditionExpression": "id = :i",
            "ExpressionAttributeValues": {":i": s("x")},
        },
    )
    assert "dynamodb:LeadingKeys" not in request.context


def test_scan_has_no_leading_keys() -> None:
    request = only(
        "Scan",
        {
            "TableName": "Tasks",
            "IndexName": "by-status",
            "FilterExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": s("U#1")},
            "ScanFilter": {"title": {"ComparisonOperator": "NOT_NULL"}},
            "Select": "COUNT",
            "ReturnConsumedCapacity": "INDEXES",
        },
    )
    assert request == AuthorizationRequest(
        "dynamodb:Scan",
        f"{ARN}:table/Tasks/index/by-status",
        {
            "dynamodb:ReturnConsumedCapacity": ("INDEXES",),
            "dynamodb:Select": ("COUNT",),
            "dynamodb:Attributes": ("pk", "title"),
        },
    )


# -- transactions and batches --------------------------------------------------------------
def test_transact_write_items_authorizes_each_part_as_its_own_action() -> None:
    parts = requests(
        "TransactWriteItems",
        {
            "ReturnConsumedCapacity": "TOTAL",
            "TransactItems": [
                {"Put": {"TableName": "Tasks", "Item": {"pk": s("U#1"), "sk": s("T#1")}}},
                {
                    "Update": {
                        "TableName": f"{ARN}:table/Users",
                        "Key": {"userId": s("u1")},
                        "UpdateExpression": "ADD #n :one",
                        "ExpressionAttributeNames": {"#n": "taskCount"},
                    }
                },
                {"Delete": {"TableName": "Tasks", "Key": {"pk": s("U#2"), "sk": s("T#7")}}},
                {
                    "ConditionCheck": {
                        "TableName": "Users",
                        "Key": {"userId": s("u2")},
                        "ConditionExpression": "attribute_exists(active)",
                    }
                },
            ],
        },
    )
    assert [(p.action, p.resource) for p in parts] == [
        ("dynamodb:PutItem", f"{ARN}:table/Tasks"),
        ("dynamodb:UpdateItem", f"{ARN}:table/Users"),
        ("dynamodb:DeleteItem", f"{ARN}:table/Tasks"),
        ("dynamodb:ConditionCheckItem", f"{ARN}:table/Users"),
    ]
    assert [p.context["dynamodb:LeadingKeys"] for p in parts] == [
        ("U#1",),
        ("u1",),
        ("U#2",),
        ("u2",),
    ]
    assert parts[1].context["dynamodb:Attributes"] == ("taskCount", "userId")
    assert parts[3].context["dynamodb:Attributes"] == ("active", "userId")
    for part in parts:
        assert part.context["dynamodb:EnclosingOperation"] == ("TransactWriteItems",)
        assert part.context["dynamodb:ReturnConsumedCapacity"] == ("TOTAL",)


def test_transact_get_items_is_a_get_item_per_part() -> None:
    parts = requests(
        "TransactGetItems",
        {
            "TransactItems": [
                {"Get": {"TableName": "Users", "Key": {"userId": s("u1")}}},
                {
                    "Get": {
                        "TableName": "Tasks",
                        "Key": {"pk": s("U#1"), "sk": s("T#1")},
                        "ProjectionExpression": "title",
                    }
                },
            ]
        },
    )
    assert parts == [
        AuthorizationRequest(
            "dynamodb:GetItem",
            f"{ARN}:table/Users",
            {
                "dynamodb:EnclosingOperation": ("TransactGetItems",),
                "dynamodb:Select": ("ALL_ATTRIBUTES",),
                "dynamodb:LeadingKeys": ("u1",),
                "dynamodb:Attributes": ("userId",),
            },
        ),
        AuthorizationRequest(
            "dynamodb:GetItem",
            f"{ARN}:table/Tasks",
            {
                "dynamodb:EnclosingOperation": ("TransactGetItems",),
                "dynamodb:Select": ("SPECIFIC_ATTRIBUTES",),
                "dynamodb:LeadingKeys": ("U#1",),
                "dynamodb:Attributes": ("pk", "sk", "title"),
            },
        ),
    ]


def test_batch_get_item_is_one_authorization_per_table_over_its_keys() -> None:
    tables = requests(
        "BatchGetItem",
        {
            "RequestItems": {
                "Users": {"Keys": [{"userId": s("u1")}, {"userId": s("u2")}]},
                f"{ARN}:table/Tasks": {
                    "Keys": [{"pk": s("U#1"), "sk": s("T#1")}],
                    "ProjectionExpression": "#t",
                    "ExpressionAttributeNames": {"#t": "title"},
                },
            }
        },
    )
    assert tables == [
        AuthorizationRequest(
            "dynamodb:BatchGetItem",
            f"{ARN}:table/Users",
            {
                "dynamodb:Select": ("ALL_ATTRIBUTES",),
                "dynamodb:LeadingKeys": ("u1", "u2"),
                "dynamodb:Attributes": ("userId",),
            },
        ),
        AuthorizationRequest(
            "dynamodb:BatchGetItem",
            f"{ARN}:table/Tasks",
            {
                "dynamodb:Select": ("SPECIFIC_ATTRIBUTES",),
                "dynamodb:LeadingKeys": ("U#1",),
                "dynamodb:Attributes": ("pk", "sk", "title"),
            },
        ),
    ]


def test_batch_write_item_needs_only_batch_write_item_per_table() -> None:
    tables = requests(
        "BatchWriteItem",
        {
            "RequestItems": {
                "Tasks": [
                    {"PutRequest": {"Item": {"pk": s("U#1"), "sk": s("T#1"), "title": s("a")}}},
                    {"DeleteRequest": {"Key": {"pk": s("U#2"), "sk": s("T#2")}}},
                ],
                "Users": [{"DeleteRequest": {"Key": {"userId": s("u9")}}}],
            },
            "ReturnConsumedCapacity": "TOTAL",
        },
    )
    assert [(t.action, t.resource) for t in tables] == [
        ("dynamodb:BatchWriteItem", f"{ARN}:table/Tasks"),
        ("dynamodb:BatchWriteItem", f"{ARN}:table/Users"),
    ]
    assert tables[0].context == {
        "dynamodb:ReturnConsumedCapacity": ("TOTAL",),
        "dynamodb:LeadingKeys": ("U#1", "U#2"),
        "dynamodb:Attributes": ("pk", "sk", "title"),
    }


# -- PartiQL ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("statement", "action", "resource"),
    [
        ('SELECT * FROM "Tasks" WHERE pk = ?', "dynamodb:PartiQLSelect", "table/Tasks"),
        ("select title from Tasks", "dynamodb:PartiQLSelect", "table/Tasks"),
        (
            'SELECT * FROM "Tasks"."by-status" WHERE status = ?',
            "dynamodb:PartiQLSelect",
            "table/Tasks/index/by-status",
        ),
        ("INSERT INTO \"Users\" VALUE {'userId': ?}", "dynamodb:PartiQLInsert", "table/Users"),
        ('UPDATE "Users" SET email = ? WHERE userId = ?', "dynamodb:PartiQLUpdate", "table/Users"),
        ("delete from Users where userId = ?", "dynamodb:PartiQLDelete", "table/Users"),
        ('SELECT "from", x FROM "Users"', "dynamodb:PartiQLSelect", "table/Users"),
        ("SELECT a FROM Tasks WHERE b = 'FROM Users'", "dynamodb:PartiQLSelect", "table/Tasks"),
        ('select*from"Tasks"', "dynamodb:PartiQLSelect", "table/Tasks"),
    ],
)
def test_execute_statement_is_authorized_by_its_verb(
    statement: str, action: str, resource: str
) -> None:
    request = only("ExecuteStatement", {"Statement": statement, "Parameters": [s("u1")]})
    assert (request.action, request.resource) == (action, f"{ARN}:{resource}")


def test_batch_execute_statement_is_one_authorization_per_statement() -> None:
    batch = requests(
        "BatchExecuteStatement",
        {
            "Statements": [
                {"Statement": 'SELECT * FROM "Users" WHERE userId = ?'},
                {"Statement": 'DELETE FROM "Tasks" WHERE pk = ? AND sk = ?'},
            ]
        },
    )
    assert batch == [
        AuthorizationRequest("dynamodb:PartiQLSelect", f"{ARN}:table/Users", {}),
        AuthorizationRequest("dynamodb:PartiQLDelete", f"{ARN}:table/Tasks", {}),
    ]


def test_execute_transaction_statements_carry_the_enclosing_operation() -> None:
    (part,) = requests(
        "ExecuteTransaction",
        {"TransactStatements": [{"Statement": "UPDATE Tasks SET done = ? WHERE pk = ?"}]},
    )
    assert part == AuthorizationRequest(
        "dynamodb:PartiQLUpdate",
        f"{ARN}:table/Tasks",
        {"dynamodb:EnclosingOperation": ("ExecuteTransaction",)},
    )


@pytest.mark.parametrize("statement", ['EXISTS(SELECT * FROM "Users")', "SELECT * FROM", ""])
def test_a_statement_it_cannot_read_is_unsupported(statement: str) -> None:
    with pytest.raises(UnsupportedOperation):
        requests("ExecuteStatement", {"Statement": statement})


# -- control plane and streams ----------------------------------------------------------------
@pytest.mark.parametrize(
    "operation",
    [
        "DeleteTable",
        "DescribeTable",
        "UpdateTable",
        "DescribeTimeToLive",
        "UpdateTimeToLive",
        "DescribeContinuousBackups",
        "UpdateContinuousBackups",
    ],
)
def test_table_operations_are_authorized_on_the_table(operation: str) -> None:
    assert only(operation, {"TableName": "Tasks"}) == AuthorizationRequest(
        f"dynamodb:{operation}", f"{ARN}:table/Tasks", {}
    )
    by_arn = only(operation, {"TableName": f"{ARN}:table/Tasks"})
    assert by_arn.resource == f"{ARN}:table/Tasks"


def test_create_table_carries_its_tags() -> None:
    request = only(
        "CreateTable",
        {
            "TableName": "Tasks",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "Tags": [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "dev"}],
        },
    )
    assert request == AuthorizationRequest(
        "dynamodb:CreateTable",
        f"{ARN}:table/Tasks",
        {
            "aws:RequestTag/team": ("core",),
            "aws:RequestTag/env": ("dev",),
            "aws:TagKeys": ("team", "env"),
        },
    )


def test_tagging_is_authorized_on_the_resource_arn() -> None:
    table = f"{ARN}:table/Tasks"
    tagged = only("TagResource", {"ResourceArn": table, "Tags": [{"Key": "a", "Value": "1"}]})
    assert tagged == AuthorizationRequest(
        "dynamodb:TagResource", table, {"aws:RequestTag/a": ("1",), "aws:TagKeys": ("a",)}
    )
    untagged = only("UntagResource", {"ResourceArn": table, "TagKeys": ["a", "b"]})
    assert untagged == AuthorizationRequest(
        "dynamodb:UntagResource", table, {"aws:TagKeys": ("a", "b")}
    )
    listed = only("ListTagsOfResource", {"ResourceArn": STREAM})
    assert listed == AuthorizationRequest("dynamodb:ListTagsOfResource", STREAM, {})


@pytest.mark.parametrize(
    ("operation", "body"),
    [("ListTables", {}), ("DescribeLimits", {}), ("ListStreams", {"TableName": "Tasks"})],
)
def test_account_operations_are_authorized_on_star(operation: str, body: dict[str, Any]) -> None:
    assert only(operation, body) == AuthorizationRequest(f"dynamodb:{operation}", "*", {})


def test_describe_endpoints_needs_no_permission() -> None:
    assert requests("DescribeEndpoints", {}) == []


@pytest.mark.parametrize("operation", ["DescribeStream", "GetShardIterator"])
def test_stream_operations_are_authorized_on_the_stream(operation: str) -> None:
    body = {"StreamArn": STREAM, "ShardId": "shardId-1", "ShardIteratorType": "TRIM_HORIZON"}
    assert only(operation, body) == AuthorizationRequest(f"dynamodb:{operation}", STREAM, {})


def test_get_records_is_authorized_on_the_stream_of_its_iterator() -> None:
    assert only("GetRecords", {"ShardIterator": "it-1"}) == AuthorizationRequest(
        "dynamodb:GetRecords", STREAM, {}
    )


def test_get_records_with_an_iterator_of_no_stream_is_malformed() -> None:
    with pytest.raises(MalformedRequest, match="ShardIterator"):
        requests("GetRecords", {"ShardIterator": "garbage"})


@pytest.mark.parametrize("operation", ["CreateBackup", "ExportTableToPointInTime", "Nonsense"])
def test_operations_without_a_mapping_are_unsupported(operation: str) -> None:
    with pytest.raises(UnsupportedOperation, match=operation):
        requests(operation, {"TableName": "Tasks"})


# -- malformed bodies ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("operation", "body", "complaint"),
    [
        ("GetItem", {"Key": {"pk": s("x")}}, "TableName is required"),
        ("GetItem", {"TableName": 7, "Key": {}}, "TableName must be a string"),
        ("GetItem", {"TableName": "Tasks", "Key": []}, "Key must be an object"),
        ("GetItem", {"TableName": "a/index/b", "Key": {}}, "not a valid table name"),
        ("GetItem", {"TableName": f"{ARN}:table/T/index/i", "Key": {}}, "not a DynamoDB table"),
        ("GetItem", {"TableName": "Tasks", "Key": {"pk": {"S": 1}}}, "Key.pk.S must be a str"),
        ("GetItem", {"TableName": "Tasks", "Key": {"pk": "U#1"}}, "attribute value object"),
        (
            "GetItem",
            {"TableName": "Tasks", "Key": {}, "ProjectionExpression": ["a"]},
            "ProjectionExpression must be a string",
        ),
        (
            "GetItem",
            {"TableName": "Tasks", "Key": {}, "ExpressionAttributeNames": {"#a": 1}},
            "ExpressionAttributeNames must map to strings",
        ),
        ("PutItem", {"TableName": "Tasks"}, "Item is required"),
        ("Query", {"TableName": "Tasks", "IndexName": 3}, "IndexName must be a string"),
        (
            "Query",
            {
                "TableName": "Tasks",
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": "U#1"},
            },
            "ExpressionAttributeValues.:p must be an attribute value",
        ),
        ("TransactWriteItems", {"TransactItems": {}}, "TransactItems must be a list"),
        (
            "TransactWriteItems",
            {"TransactItems": [{"Put": {}, "Delete": {}}]},
            r"TransactItems\[0\] must hold exactly one of",
        ),
        ("TransactGetItems", {"TransactItems": [{"Put": {}}]}, "exactly one of Get"),
        (
            "TransactWriteItems",
            {"TransactItems": [{"Update": {"Key": {}}}]},
            r"TransactItems\[0\]\.Update\.TableName is required",
        ),
        ("BatchGetItem", {"RequestItems": []}, "RequestItems must be an object"),
        ("BatchGetItem", {"RequestItems": {"Users": {"Keys": ["u1"]}}}, "must be an object"),
        ("BatchWriteItem", {"RequestItems": {"Users": [{}]}}, "PutRequest, DeleteRequest"),
        ("ExecuteStatement", {"Statement": None}, "Statement is required"),
        ("ExecuteStatement", {"Statement": 'SELECT * FROM "a""b"'}, "not a valid table name"),
        ("BatchExecuteStatement", {"Statements": ["SELECT"]}, "must be an object"),
        ("TagResource", {"ResourceArn": "arn:aws:s3:::b"}, "not a DynamoDB table or stream"),
        ("UntagResource", {"ResourceArn": f"{ARN}:table/T", "TagKeys": [1]}, "list of strings"),
        ("CreateTable", {"TableName": "T", "Tags": [{"Key": "a"}]}, r"Tags\[0\]\.Value"),
        ("DescribeStream", {"StreamArn": f"{ARN}:table/T"}, "not a DynamoDB stream ARN"),
    ],
)
def test_malformed_bodies_raise_a_value_error(
    operation: str, body: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(MalformedRequest, match=complaint) as raised:
        requests(operation, body)
    assert isinstance(raised.value, ValueError)


def test_a_body_that_is_not_an_object_is_malformed() -> None:
    with pytest.raises(MalformedRequest):
        authorization_requests(
            "GetItem",
            ["not", "an", "object"],  # type: ignore[arg-type]
            region=REGION,
            account=ACCOUNT,
            key_schema=SCHEMAS.get,
            stream_arn_of_iterator=ITERATORS.get,
        )


# -- never an exception other than the two it documents ----------------------------------------
VALID_BODIES: list[tuple[str, dict[str, Any]]] = [
    (
        "UpdateItem",
        {
            "TableName": "Tasks",
            "Key": {"pk": s("U#1"), "sk": s("T#1")},
            "UpdateExpression": "SET #a = :v",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#a": "a"},
            "ExpressionAttributeValues": {":v": s("x")},
            "AttributeUpdates": {"b": {"Action": "DELETE"}},
            "ReturnValues": "ALL_NEW",
        },
    ),
    (
        "Query",
        {
            "TableName": "Tasks",
            "IndexName": "i",
            "KeyConditionExpression": "pk = :p",
            "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [s("x")]}},
            "ExpressionAttributeValues": {":p": s("U#1")},
            "AttributesToGet": ["a"],
            "Select": "SPECIFIC_ATTRIBUTES",
        },
    ),
    (
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "Tasks", "Item": {"pk": s("U#1"), "sk": s("T")}}},
                {"ConditionCheck": {"TableName": "Users", "Key": {"userId": s("u")}}},
            ]
        },
    ),
    (
        "BatchWriteItem",
        {
            "RequestItems": {
                "Users": [
                    {"PutRequest": {"Item": {"userId": s("u")}}},
                    {"DeleteRequest": {"Key": {"userId": s("v")}}},
                ]
            }
        },
    ),
    ("BatchGetItem", {"RequestItems": {"Users": {"Keys": [{"userId": s("u")}]}}}),
    ("ExecuteTransaction", {"TransactStatements": [{"Statement": "DELETE FROM T WHERE a=?"}]}),
    ("CreateTable", {"TableName": "T", "Tags": [{"Key": "k", "Value": "v"}]}),
    ("GetRecords", {"ShardIterator": "it-1"}),
]
# `make test-fast` runs a tenth of the corpus (FUZZ_EXAMPLES=100), as tests/functions does.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 1000)
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value, outermost first."""
    yield path
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        yield from paths(child, (*path, key))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True)
@given(st.sampled_from(VALID_BODIES), st.data())
def test_any_value_anywhere_raises_only_the_documented_errors(
    case: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    operation, valid = case
    places = [place for place in paths(valid) if place]
    place = data.draw(st.sampled_from(places))
    body = copy.deepcopy(valid)
    parent = body
    for key in place[:-1]:
        parent = parent[key]
    parent[place[-1]] = data.draw(JUNK)
    try:
        result = requests(operation, body)
    except (MalformedRequest, UnsupportedOperation):
        return
    assert all(isinstance(request, AuthorizationRequest) for request in result)
