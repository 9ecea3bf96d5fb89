"""API Gateway's data plane on a fresh local cloud: our fixture CDK apps deployed with the
pinned `cdklocal`, their APIs called over HTTP in both local URL forms.

`api_rest`: a `RestApi` with `LambdaIntegration` (proxy) and CORS preflight; `api_http`: an
`HttpApi` with `HttpLambdaIntegration` routes. The handlers echo the event they received.
Before `localcloud/apigateway.py` and `cfn_apigateway.py`, the REST stage URL ended in
`/None/` and every call answered moto's HTTP 500, and the HTTP API did not deploy at all.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.localcloud.conftest import REGION, client, module_cloud
from tests.support.fixture_apps import FixtureApp, outputs_of
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APPS = Path(__file__).resolve().parents[1] / "fixture_apps"


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> dict[str, Any]:
        """What the echo handler received."""
        event: dict[str, Any] = self.json()["event"]
        return event


def call(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Response:
    """One HTTP request to the local cloud (any Host header the caller sets)."""
    connection = http.client.HTTPConnection("localhost", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return Response(answer.status, answer.headers, answer.read())
    finally:
        connection.close()


cloud = module_cloud("apigateway")


@pytest.fixture(scope="module")
def rest_outputs(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    app = FixtureApp(APPS / "api_rest", tmp_path_factory.mktemp("api-rest"))
    return app.deploy(cloud)["fixture-api-rest"]


@pytest.fixture(scope="module")
def http_outputs(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    app = FixtureApp(APPS / "api_http", tmp_path_factory.mktemp("api-http"))
    return app.deploy(cloud)["fixture-api-http"]


def rest_path(outputs: dict[str, str], path: str) -> str:
    return f"/restapis/{outputs['ApiId']}/prod/_user_request_{path}"


# -- REST API (v1) --------------------------------------------------------------------------
def test_rest_stage_is_served_and_the_url_output_names_it(
    cloud: LocalCloud, rest_outputs: dict[str, str]
) -> None:
    api_id = rest_outputs["ApiId"]
    url = outputs_of({"s": rest_outputs}, "EchoApiEndpoint2E8C05E7")
    assert url == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/prod/"
    stage = client("apigateway", cloud.endpoint).get_stage(restApiId=api_id, stageName="prod")
    assert stage["deploymentId"]
    assert stage["variables"] == {"flavour": "local"}


def test_rest_proxy_event_has_lambdas_shape(
    cloud: LocalCloud, rest_outputs: dict[str, str]
) -> None:
    answer = call(
        cloud.port,
        rest_path(rest_outputs, "/items/42?tag=a&tag=b&q=x"),
        headers={"X-Custom": "v1", "User-Agent": "apigw-test"},
    )
    assert answer.status == 200
    assert answer.headers["X-Echo"] == "yes"
    assert answer.headers.get_all("X-Multi") == ["a", "b"]
    assert answer.headers["x-amzn-RequestId"]
    event = answer.event
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["X-Custom"] == "v1"
    assert event["multiValueHeaders"]["X-Custom"] == ["v1"]
    assert event["queryStringParameters"] == {"tag": "b", "q": "x"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "q": ["x"]}
    assert event["pathParameters"] == {"id": "42"}
    assert event["stageVariables"] == {"flavour": "local"}
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["apiId"] == rest_outputs["ApiId"]
    assert context["stage"] == "prod"
    assert context["resourcePath"] == "/items/{id}"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/prod/items/42"
    assert context["accountId"] == "123456789012"
    assert context["requestId"] == answer.headers["x-amzn-RequestId"]
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "apigw-test"


def test_rest_host_header_forms_reach_the_same_api(
    cloud: LocalCloud, rest_outputs: dict[str, str]
) -> None:
    api_id = rest_outputs["ApiId"]
    for host in (
        f"{api_id}.execute-api.localhost:{cloud.port}",
        f"{api_id}.execute-api.{REGION}.amazonaws.com",
    ):
        answer = call(cloud.port, "/prod/items/7", headers={"Host": host})
        assert answer.status == 200, host
        assert answer.event["pathParameters"] == {"id": "7"}
        assert answer.event["requestContext"]["domainName"] == host
    assert (
        call(cloud.port, "/prod/", headers={"Host": f"{api_id}.execute-api.localhost"}).event[
            "resource"
        ]
        == "/"
    )


def test_rest_greedy_path_any_method_and_body(
    cloud: LocalCloud, rest_outputs: dict[str, str]
) -> None:
    answer = call(
        cloud.port,
        rest_path(rest_outputs, "/files/a/b/c.txt"),
        method="POST",
        headers={"Content-Type": "application/json"},
        body=b'{"name": "c"}',
    )
    assert answer.status == 201
    event = answer.event
    assert event["resource"] == "/files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert event["httpMethod"] == "POST"
    assert json.loads(event["body"]) == {"name": "c"}
    assert event["isBase64Encoded"] is False
    binary = call(
        cloud.port,
        rest_path(rest_outputs, "/files/blob"),
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
        body=b"\xff\x00\xfe",
    ).event
    assert binary["isBase64Encoded"] is True
    assert binary["body"] == "/wD+"


def test_rest_cors_preflight_is_answered_by_the_mock_integration(
    cloud: LocalCloud, rest_outputs: dict[str, str]
) -> None:
    answer = call(
        cloud.port,
        rest_path(rest_outputs, "/items/1"),
        method="OPTIONS",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"},
    )
    assert answer.status == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert (
        answer.headers["Access-Control-Allow-Methods"] == "OPTIONS,GET,PUT,POST,DELETE,PATCH,HEAD"
    )
    assert "X-Api-Key" in answer.headers["Access-Control-Allow-Headers"]
    assert answer.body == b""


def test_rest_unknown_resources_and_methods_are_missing_authentication_token(
    cloud: LocalCloud, rest_outputs: dict[str, str]
) -> None:
    for method, path in (("GET", "/nowhere"), ("DELETE", "/items"), ("GET", "/items/1/more")):
        answer = call(cloud.port, rest_path(rest_outputs, path), method=method)
        assert answer.status == 403, (method, path)
        assert answer.json() == {"message": "Missing Authentication Token"}
        assert answer.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_rest_malformed_response_or_function_error_is_502(
    cloud: LocalCloud, rest_outputs: dict[str, str]
) -> None:
    for path in ("/bad", "/boom"):
        answer = call(cloud.port, rest_path(rest_outputs, path))
        assert answer.status == 502, path
        assert answer.json() == {"message": "Internal server error"}


# -- HTTP API (v2) --------------------------------------------------------------------------
def test_http_api_deploys_with_its_endpoint(
    cloud: LocalCloud, http_outputs: dict[str, str]
) -> None:
    api_id = http_outputs["ApiId"]
    assert http_outputs["ApiEndpoint"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com"
    v2 = client("apigatewayv2", cloud.endpoint)
    routes = {r["RouteKey"] for r in v2.get_routes(ApiId=api_id)["Items"]}
    assert routes == {"GET /items/{id}", "POST /items", "GET /plain"}
    assert [s["StageName"] for s in v2.get_stages(ApiId=api_id)["Items"]] == ["$default"]


def test_http_api_event_is_payload_format_2(
    cloud: LocalCloud, http_outputs: dict[str, str]
) -> None:
    api_id = http_outputs["ApiId"]
    answer = call(
        cloud.port,
        "/items/9?a=1&a=2&b=",
        headers={
            "Host": f"{api_id}.execute-api.localhost:{cloud.port}",
            "X-Custom": "v2",
            "Cookie": "c=1; d=2",
        },
    )
    assert answer.status == 200
    assert answer.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert answer.headers["x-echo"] == "yes"
    event = answer.event
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/9"
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"]["x-custom"] == "v2"
    assert event["cookies"] == ["c=1", "d=2"]
    assert event["pathParameters"] == {"id": "9"}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"]["method"] == "GET"
    assert context["http"]["path"] == "/items/9"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["routeKey"] == "GET /items/{id}"
    assert context["stage"] == "$default"
    assert context["apiId"] == api_id
    assert context["domainName"] == f"{api_id}.execute-api.localhost:{cloud.port}"
    assert context["requestId"] == answer.headers["Apigw-Requestid"]
    posted = call(
        cloud.port, f"/restapis/{api_id}/$default/_user_request_/items", method="POST", body=b"hi"
    ).event
    assert posted["routeKey"] == "POST /items"
    assert posted["body"] == "hi"


def test_http_api_bare_value_is_a_200_json_answer(
    cloud: LocalCloud, http_outputs: dict[str, str]
) -> None:
    answer = call(cloud.port, f"/restapis/{http_outputs['ApiId']}/$default/_user_request_/plain")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"hello": "world", "path": "/plain"}


def test_http_api_without_a_route_is_not_found(
    cloud: LocalCloud, http_outputs: dict[str, str]
) -> None:
    host = {"Host": f"{http_outputs['ApiId']}.execute-api.localhost:{cloud.port}"}
    for method, path in (("GET", "/nowhere"), ("DELETE", "/items/1"), ("GET", "/items")):
        answer = call(cloud.port, path, method=method, headers=host)
        assert answer.status == 404, (method, path)
        assert answer.json() == {"message": "Not Found"}


def test_http_api_needs_the_functions_resource_policy(
    cloud: LocalCloud, http_outputs: dict[str, str]
) -> None:
    """Last: it removes the plain function's permission for API Gateway."""
    lambda_ = client("lambda", cloud.endpoint)
    path = f"/restapis/{http_outputs['ApiId']}/$default/_user_request_/plain"
    assert call(cloud.port, path).status == 200
    name = next(
        f["FunctionName"]
        for f in lambda_.list_functions()["Functions"]
        if "PlainFunction" in f["FunctionName"]
    )
    policy = json.loads(lambda_.get_policy(FunctionName=name)["Policy"])
    for statement in policy["Statement"]:
        lambda_.remove_permission(FunctionName=name, StatementId=statement["Sid"])
    answer = call(cloud.port, path)
    assert answer.status == 500
    assert answer.json() == {"message": "Internal Server Error"}


# -- Powertools parses the events -------------------------------------------------------------
def test_powertools_models_parse_both_events(
    cloud: LocalCloud, rest_outputs: dict[str, str], http_outputs: dict[str, str]
) -> None:
    """Powertools' event classes and pydantic models (a pinned test dependency)."""
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
    from aws_lambda_powertools.utilities.parser.models import (
        APIGatewayProxyEventModel,
        APIGatewayProxyEventV2Model,
    )

    rest = call(cloud.port, rest_path(rest_outputs, "/items/5?x=1")).event
    APIGatewayProxyEventModel.model_validate(rest)
    assert APIGatewayProxyEvent(rest).path_parameters == {"id": "5"}
    host = {"Host": f"{http_outputs['ApiId']}.execute-api.localhost"}
    v2 = call(cloud.port, "/items/5", headers=host).event
    APIGatewayProxyEventV2Model.model_validate(v2)
