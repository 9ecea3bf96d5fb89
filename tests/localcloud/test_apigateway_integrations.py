"""API Gateway authorizers and non-proxy integrations on a fresh local cloud: fixture CDK
apps deployed with the pinned `cdklocal` and called over HTTP.

`api_auth`: a `RestApi` with a `TokenAuthorizer` and a `RequestAuthorizer`, an `HttpApi`
with an `HttpLambdaAuthorizer`; `api_integrations`: `LambdaIntegration(proxy=False)` with
mapping templates and a `selectionPattern`, `AwsIntegration`s to DynamoDB and SQS. Before
`apigateway_auth`/`apigateway_integrations`, the authorizers were skipped (every method was
called without them) and each non-proxy integration answered 500; a destroyed stack left
its REST API behind.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.localcloud.conftest import client, module_cloud
from tests.localcloud.test_apigateway import Response, call
from tests.support.fixture_apps import FixtureApp
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APPS = Path(__file__).resolve().parents[1] / "fixture_apps"
EXPLICIT_DENY = {"Message": "User is not authorized to access this resource with an explicit deny"}
IMPLICIT_DENY = {"Message": "User is not authorized to access this resource"}
UNAUTHORIZED = {"message": "Unauthorized"}


cloud = module_cloud("apigateway-integrations")


@pytest.fixture(scope="module")
def auth_app(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> FixtureApp:
    return FixtureApp(APPS / "api_auth", tmp_path_factory.mktemp("api-auth"))


@pytest.fixture(scope="module")
def auth(cloud: LocalCloud, auth_app: FixtureApp) -> dict[str, str]:
    return auth_app.deploy(cloud)["fixture-api-auth"]


@pytest.fixture(scope="module")
def integrations_app(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> FixtureApp:
    return FixtureApp(APPS / "api_integrations", tmp_path_factory.mktemp("api-integrations"))


@pytest.fixture(scope="module")
def integrations(cloud: LocalCloud, integrations_app: FixtureApp) -> dict[str, str]:
    return integrations_app.deploy(cloud)["fixture-api-integrations"]


def rest(
    cloud: LocalCloud, outputs: dict[str, str], path: str, token: str | None = None, **kw: Any
) -> Response:
    headers = dict(kw.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = token
    return call(
        cloud.port,
        f"/restapis/{outputs['ApiId']}/prod/_user_request_{path}",
        headers=headers,
        **kw,
    )


def authorizer_of(answer: Response) -> Any:
    assert answer.status == 200, answer.body
    return answer.json()["authorizer"]


# -- REST Lambda authorizers ------------------------------------------------------------------
def test_token_authorizer_allows_with_principal_and_context(
    cloud: LocalCloud, auth: dict[str, str]
) -> None:
    context = authorizer_of(rest(cloud, auth, "/token", "Bearer allow-alice"))
    assert context["principalId"] == "alice"
    assert context["type"] == "TOKEN"
    assert context["admin"] == "false"  # context values reach the integration as strings
    assert context["calls"].isdigit()
    assert authorizer_of(rest(cloud, auth, "/open")) is None


def test_token_authorizer_refusals(cloud: LocalCloud, auth: dict[str, str]) -> None:
    for token in (None, "Bearer Not Valid!", "Bearer unauthorized"):
        answer = rest(cloud, auth, "/token", token)
        assert answer.status == 401, token
        assert answer.json() == UNAUTHORIZED
    denied = rest(cloud, auth, "/token", "Bearer deny")
    assert denied.status == 403
    assert denied.json() == EXPLICIT_DENY
    assert rest(cloud, auth, "/token", "Bearer boom").status == 500


def test_token_authorizer_result_is_cached_and_its_policy_evaluated_per_method(
    cloud: LocalCloud, auth: dict[str, str]
) -> None:
    first = authorizer_of(rest(cloud, auth, "/token", "Bearer allow-bob"))["calls"]
    assert authorizer_of(rest(cloud, auth, "/token", "Bearer allow-bob"))["calls"] == first
    # The cached policy allows only the ARN it was made for: /token/other is refused.
    other = rest(cloud, auth, "/token/other", "Bearer allow-bob")
    assert other.status == 403
    assert other.json() == IMPLICIT_DENY
    assert int(authorizer_of(rest(cloud, auth, "/token", "Bearer allow-carol"))["calls"]) > int(
        first
    )
    # A wildcard policy allows any GET, not the POST.
    assert authorizer_of(rest(cloud, auth, "/token/other", "Bearer any-dave"))["principalId"] == (
        "dave"
    )
    assert rest(cloud, auth, "/token", "Bearer any-dave", method="POST").status == 403


def test_request_authorizer_reads_its_identity_sources(
    cloud: LocalCloud, auth: dict[str, str]
) -> None:
    context = authorizer_of(rest(cloud, auth, "/request?tenant=t1", headers={"X-Key": "open"}))
    assert context["principalId"] == "t1"
    assert context["tenant"] == "t1"
    assert context["type"] == "REQUEST"
    assert context["path"] == "/request"
    denied = rest(cloud, auth, "/request?tenant=t1", headers={"X-Key": "shut"})
    assert denied.status == 403
    assert denied.json() == EXPLICIT_DENY
    missing = rest(cloud, auth, "/request", headers={"X-Key": "open"})
    assert missing.status == 401
    assert missing.json() == UNAUTHORIZED


# -- HTTP API Lambda authorizer ---------------------------------------------------------------
def test_http_lambda_authorizer_simple_responses(cloud: LocalCloud, auth: dict[str, str]) -> None:
    host = f"{auth['HttpApiId']}.execute-api.localhost:{cloud.port}"
    answer = call(cloud.port, "/private", headers={"Host": host, "Authorization": "let-me-in"})
    context = authorizer_of(answer)["lambda"]
    assert context["who"] == "http-user"
    assert context["version"] == "2.0"
    assert context["type"] == "REQUEST"
    assert context["ids"] == ["let-me-in"]
    assert context["arn"].endswith(f":{auth['HttpApiId']}/$default/GET/private")
    refused = call(cloud.port, "/private", headers={"Host": host, "Authorization": "nope"})
    assert refused.status == 403
    assert refused.json() == {"message": "Forbidden"}
    missing = call(cloud.port, "/private", headers={"Host": host})
    assert missing.status == 401
    assert missing.json() == UNAUTHORIZED


def _jwt(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_http_jwt_authorizer_checks_issuer_audience_expiry_and_scope(
    cloud: LocalCloud, auth: dict[str, str]
) -> None:
    host = f"{auth['HttpApiId']}.execute-api.localhost:{cloud.port}"
    good = {
        "iss": "https://issuer.example.com/pool",
        "aud": "local-client",
        "sub": "user-7",
        "scope": "tasks/read tasks/write",
        "exp": int(time.time()) + 600,
    }

    def status(claims: dict[str, object] | None) -> int:
        headers = {"Host": host}
        if claims is not None:
            headers["Authorization"] = f"Bearer {_jwt(claims)}"
        return call(cloud.port, "/jwt", headers=headers).status

    answer = call(
        cloud.port, "/jwt", headers={"Host": host, "Authorization": f"Bearer {_jwt(good)}"}
    )
    assert answer.status == 200
    jwt = authorizer_of(answer)["jwt"]
    assert jwt["claims"]["sub"] == "user-7"
    assert jwt["scopes"] == ["tasks/read", "tasks/write"]
    assert status(None) == 401
    assert status({**good, "iss": "https://elsewhere.example.com"}) == 401
    assert status({**good, "aud": "another-client"}) == 401
    assert status({**good, "exp": int(time.time()) - 5}) == 401
    assert status({**good, "scope": "tasks/write"}) == 403
    cognito_access_token = {k: v for k, v in good.items() if k != "aud"} | {
        "client_id": "local-client"
    }
    assert status(cognito_access_token) == 200


# -- non-proxy Lambda integrations ------------------------------------------------------------
def test_lambda_integration_maps_request_and_response(
    cloud: LocalCloud, integrations: dict[str, str]
) -> None:
    answer = rest(
        cloud,
        integrations,
        "/calc?op=add",
        method="POST",
        headers={"Content-Type": "application/json", "X-Mode": "loud"},
        body=json.dumps({"a": 1, "b": 2, "tags": ["x", "y"]}).encode(),
    )
    assert answer.status == 200, answer.body
    assert answer.headers["X-Op"] == "add"
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {
        "result": 3,
        "op": "add",
        "event": {
            "a": 1,
            "b": 2,
            "op": "add",
            "stage": "prod",
            "method": "POST",
            "flavour": "local",
            "tags": ["x", "y"],
            "mode": "LOUD",
        },
    }


def test_lambda_error_is_selected_by_its_message(
    cloud: LocalCloud, integrations: dict[str, str]
) -> None:
    answer = rest(
        cloud,
        integrations,
        "/calc?op=div",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=b'{"a": 1, "b": 0, "tags": []}',
    )
    assert answer.status == 400
    assert answer.json() == {"error": "Bad input: b is zero"}


def test_lambda_integration_passes_body_and_answer_through(
    cloud: LocalCloud, integrations: dict[str, str]
) -> None:
    answer = rest(
        cloud,
        integrations,
        "/echo",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=b'{"k": "v"}',
    )
    assert answer.status == 200
    assert answer.json() == {"received": {"k": "v"}}


# -- AWS service integrations -----------------------------------------------------------------
def test_dynamodb_put_and_get_item_integrations(
    cloud: LocalCloud, integrations: dict[str, str]
) -> None:
    put = rest(
        cloud,
        integrations,
        "/items",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=b'{"id": "i1", "name": "Ada"}',
    )
    assert put.status == 200, put.body
    assert put.json() == {"saved": True}
    item = client("dynamodb", cloud.endpoint).get_item(
        TableName=integrations["TableName"], Key={"id": {"S": "i1"}}
    )["Item"]
    assert item == {"id": {"S": "i1"}, "name": {"S": "Ada"}, "stage": {"S": "prod"}}
    got = rest(cloud, integrations, "/items/i1")
    assert got.status == 200
    assert got.json() == {"id": "i1", "name": "Ada", "stage": "prod"}


def test_dynamodb_integration_role_is_checked(
    cloud: LocalCloud, integrations: dict[str, str]
) -> None:
    answer = rest(
        cloud,
        integrations,
        "/denied",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=b"{}",
    )
    assert answer.status == 400
    assert "AccessDenied" in answer.body.decode()
    assert "Item" not in client("dynamodb", cloud.endpoint).get_item(
        TableName=integrations["TableName"], Key={"id": {"S": "x"}}
    )


def test_sqs_send_message_integration(cloud: LocalCloud, integrations: dict[str, str]) -> None:
    answer = rest(
        cloud,
        integrations,
        "/orders",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=b'{"order": 1, "note": "a&b c"}',
    )
    assert answer.status == 200, answer.body
    assert b"MessageId" in answer.body
    messages = client("sqs", cloud.endpoint).receive_message(
        QueueUrl=integrations["QueueUrl"], WaitTimeSeconds=1
    )["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [{"order": 1, "note": "a&b c"}]


# -- deletion ---------------------------------------------------------------------------------
def test_destroyed_stacks_take_their_rest_apis(
    cloud: LocalCloud,
    auth: dict[str, str],
    auth_app: FixtureApp,
    integrations: dict[str, str],
    integrations_app: FixtureApp,
) -> None:
    """Last: it destroys both apps."""
    apigateway = client("apigateway", cloud.endpoint)
    ids = {api["id"] for api in apigateway.get_rest_apis()["items"]}
    assert {auth["ApiId"], integrations["ApiId"]} <= ids
    auth_app.destroy(cloud)
    integrations_app.destroy(cloud)
    left = {api["id"] for api in apigateway.get_rest_apis()["items"]}
    assert not {auth["ApiId"], integrations["ApiId"]} & left
