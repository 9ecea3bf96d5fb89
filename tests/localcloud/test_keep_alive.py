"""The server's HTTP: DynamoDB requests on kept-alive connections, the rest as werkzeug serves."""

from __future__ import annotations

import http.client
import json
import socket
import uuid
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.integration]

LIST_TABLES = {"X-Amz-Target": "DynamoDB_20120810.ListTables"}
HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260301/eu-west-1/dynamodb/aws4",
}


def _connection(endpoint: str) -> http.client.HTTPConnection:
    parts = urlsplit(endpoint)
    return http.client.HTTPConnection(parts.hostname or "localhost", parts.port, timeout=10)


def test_dynamodb_requests_share_one_connection(cloud: str) -> None:
    connection = _connection(cloud)
    name = f"keep-{uuid.uuid4().hex[:8]}"
    create = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    answers = []
    for target, body in (
        ("CreateTable", create),
        ("PutItem", {"TableName": name, "Item": {"pk": {"S": "a"}}}),
        ("GetItem", {"TableName": name, "Key": {"pk": {"S": "a"}}}),
        ("DescribeTable", {"TableName": name}),
    ):
        connection.request(
            "POST",
            "/",
            body=json.dumps(body),
            headers={**HEADERS, "X-Amz-Target": f"DynamoDB_20120810.{target}"},
        )
        response = connection.getresponse()
        payload = json.loads(response.read())
        assert response.status == 200, payload
        assert response.getheader("Connection") != "close"
        answers.append(payload)
        sock = connection.sock
        assert sock is not None  # still open: the next request goes on the same socket
    assert answers[2]["Item"] == {"pk": {"S": "a"}}
    # identity rewriting holds on the fast path too: the request's region, not ddblocal
    assert answers[3]["Table"]["TableArn"].startswith("arn:aws:dynamodb:eu-west-1:")
    connection.close()


def test_other_requests_still_close_their_connection(cloud: str) -> None:
    connection = _connection(cloud)
    connection.request("GET", "/_localcloud/health")
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read())["service"] == "localcloud"
    assert response.getheader("Connection") == "close"


def test_a_chunked_dynamodb_request_is_answered_through_werkzeug(cloud: str) -> None:
    parts = urlsplit(cloud)
    body = json.dumps({"Limit": 1}).encode()
    head = (
        b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
        b"X-Amz-Target: DynamoDB_20120810.ListTables\r\n"
        b"Content-Type: application/x-amz-json-1.0\r\n"
        b"Authorization: " + HEADERS["Authorization"].encode() + b"\r\n\r\n"
    )
    chunked = head + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    with socket.create_connection((parts.hostname or "localhost", parts.port), timeout=10) as s:
        s.sendall(chunked)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    assert b" 200 " in status_line, received
    assert b"TableNames" in rest


def test_a_bad_content_length_changes_nothing_and_the_server_keeps_serving(cloud: str) -> None:
    parts = urlsplit(cloud)
    bad = (
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n"
        b"X-Amz-Target: DynamoDB_20120810.ListTables\r\n\r\n"
    )
    with socket.create_connection((parts.hostname or "localhost", parts.port), timeout=10) as s:
        s.sendall(bad)
        s.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.")  # answered (by werkzeug), not a hung socket
    connection = _connection(cloud)
    connection.request("POST", "/", body="{}", headers={**HEADERS, **LIST_TABLES})
    assert connection.getresponse().status == 200
