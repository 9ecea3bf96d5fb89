"""API Gateway's mapping-template subset (`apigateway_vtl`) and the authorizers' policy and
token parsing (`apigateway_auth`), pure: no local cloud.

Before `apigateway_vtl`, templates were only searched for three literal expressions: a
`#set`, `#if` or `#foreach` was sent as written.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from localcloud.apigateway_auth import jwt_claims, policy_effect
from localcloud.apigateway_vtl import Input, TemplateError, json_path, render

# AWS's "Method request passthrough" template, as the console offers it.
PASSTHROUGH = """##  See https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
#set($allParams = $input.params())
{
"body-json" : $input.json('$'),
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
},
"stage-variables" : {
#foreach($key in $stageVariables.keySet())
"$key" : "$util.escapeJavaScript($stageVariables.get($key))"
    #if($foreach.hasNext),#end
#end
},
"context" : {
    "http-method" : "$context.httpMethod",
    "request-id" : "$context.requestId",
    "source-ip" : "$context.identity.sourceIp"
    }
}
"""


def variables(body: str = "", **params: dict[str, str]) -> dict[str, Any]:
    return {
        "input": Input(body, {"path": {}, "querystring": {}, "header": {}, **params}),
        "context": {
            "httpMethod": "POST",
            "requestId": "r-1",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"principalId": "alice"},
        },
        "stageVariables": {"flavour": "local", "table": "t"},
    }


def test_the_method_request_passthrough_template_renders_json() -> None:
    names = variables(
        '{"a": [1, {"b": "x"}]}',
        path={"id": "7"},
        querystring={"q": "a b"},
        header={"X-Quote": 'say "hi"'},
    )
    assert json.loads(render(PASSTHROUGH, names)) == {
        "body-json": {"a": [1, {"b": "x"}]},
        "params": {
            "path": {"id": "7"},
            "querystring": {"q": "a b"},
            "header": {"X-Quote": 'say "hi"'},
        },
        "stage-variables": {"flavour": "local", "table": "t"},
        "context": {"http-method": "POST", "request-id": "r-1", "source-ip": "127.0.0.1"},
    }


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$input.body", '{"a": {"b": [10, 20]}, "s": "x y"}'),
        ("$input.json('$.a')", '{"b": [10, 20]}'),
        ("$input.json('$.missing')", "null"),
        ("$input.path('$.a.b[1]')", "20"),
        ("$input.path('$.a')", "{b=[10, 20]}"),  # Java's Map.toString, as on AWS
        ("$input.path(\"$['s']\")", "x y"),
        ("$input.params('id')|$input.params('q')|$input.params('x-h')", "7|v|h"),
        ("$input.params('nothing')|", "|"),
        ("$context.authorizer.principalId $stageVariables.flavour", "alice local"),
        ("${context.httpMethod}-x", "POST-x"),
        ('$util.escapeJavaScript("it\'s")', "it\\'s"),  # not valid JSON, as on AWS
        ("$util.escapeJavaScript('say \"hi\"\n/')", 'say \\"hi\\"\\n\\/'),
        ("$util.urlEncode('a b&c=d/é')", "a+b%26c%3Dd%2F%C3%A9"),
        ("$util.urlDecode('a+b%26c')", "a b&c"),
        ("$util.base64Encode('hi there')", base64.b64encode(b"hi there").decode()),
        ("$util.base64Decode('aGk=')", "hi"),
        ("$util.parseJson('{\"k\": 1}').k", "1"),
        ("$missing|$!missing|$context.nothing", "$missing||$context.nothing"),
        ('#set($x = 1 + 2 * 3)$x #set($s = "v=$x")$s', "7 v=7"),
        ("#set($m = {'k': 'v'})$m.k $m.get('k') $m.size()", "v v 1"),
        ("#foreach($i in [1..3])$i#if($foreach.hasNext),#end#end", "1,2,3"),
        ("#foreach($x in $input.path('$.a.b'))$velocityCount:$x #end", "1:10 2:20 "),
        ("#if($input.path('$.s') == 'x y')yes#{else}no#end", "yes"),
        ("#if(false)a#elseif(2 > 1 && !false)b#else c#end", "b"),
        ("#if($nothing)a#elseif($input.path('$.s').startsWith('x'))s#end", "s"),
        ("#if('' )empty-is-true#end", "empty-is-true"),  # Velocity 1.7
        ("a ## comment\nb #* block *#c", "a \nb c"),
        ("\\$input.body \\#set", "$input.body #set"),
        ("$input.path('$.s').replace(' ', '-').toUpperCase()", "X-Y"),
        ("price: $5", "price: $5"),
    ],
)
def test_expressions(template: str, expected: str) -> None:
    names = variables(
        '{"a": {"b": [10, 20]}, "s": "x y"}',
        path={"id": "7"},
        querystring={"q": "v"},
        header={"X-H": "h"},
    )
    assert render(template, names) == expected


def test_a_directive_only_line_renders_nothing() -> None:
    template = '{\n  #set($x = "1")\n  "x": "$x"\n  #if(true)\n  ,"y": 2\n  #end\n}'
    assert render(template, variables()) == '{\n  "x": "1"\n  ,"y": 2\n}'


def test_an_empty_body_is_an_empty_object() -> None:
    assert render("$input.json('$')", variables("")) == "{}"


@pytest.mark.parametrize("template", ["#if(true)never ended", "#set($x = )", "#* open"])
def test_a_broken_template_is_an_error(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, variables())


def test_json_path_steps() -> None:
    document = {"a": [{"b": 1}, {"b": 2}], "c": {"d e": True}}
    assert json_path(document, "$") == document
    assert json_path(document, "$.a[1].b") == 2
    assert json_path(document, "$.a[-1]") == {"b": 2}
    assert json_path(document, "$.c['d e']") is True
    assert json_path(document, "$.a[5]") is None
    assert json_path(document, "$.x.y") is None


# -- authorizer policies and tokens -----------------------------------------------------------
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/items/7"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_policy_effect_for_the_method_arn() -> None:
    allow = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ARN}
    assert policy_effect(policy(allow), ARN) == "Allow"
    assert policy_effect(policy(allow), ARN.replace("/7", "/8")) is None
    wildcard = {**allow, "Resource": ["arn:aws:execute-api:us-east-1:*:abc123/*/GET/*"]}
    assert policy_effect(policy(wildcard), ARN) == "Allow"
    assert policy_effect(policy(wildcard), ARN.replace("/GET/", "/POST/")) is None
    deny = {"Effect": "Deny", "Action": "execute-api:*", "Resource": "*"}
    assert policy_effect(policy(wildcard, deny), ARN) == "Deny"
    other_action = {**allow, "Action": "execute-api:ManageConnections"}
    assert policy_effect(policy(other_action), ARN) is None
    assert policy_effect(json.dumps(policy(allow)), ARN) == "Allow"  # a JSON string is fine
    with pytest.raises(ValueError):
        policy_effect({"Version": "2012-10-17"}, ARN)


def test_jwt_claims_are_read_without_a_signature_check() -> None:
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "u1", "exp": 1}).encode()).rstrip(b"=")
    token = f"eyJhbGciOiJub25lIn0.{payload.decode()}.signature"
    assert jwt_claims(token) == {"sub": "u1", "exp": 1}
    assert jwt_claims(f"Bearer {token}") == {"sub": "u1", "exp": 1}
    assert jwt_claims("not-a-jwt") is None


def test_cognito_authorizer_accepts_a_well_formed_unexpired_jwt_and_passes_its_claims() -> None:
    """What is emulated of `COGNITO_USER_POOLS` (no signature, issuer or audience check)."""
    from types import SimpleNamespace

    from localcloud.apigateway import Request
    from localcloud.apigateway_auth import authorize_rest

    authorizer = SimpleNamespace(
        id="a1", type="COGNITO_USER_POOLS", identity_source="method.request.header.Authorization"
    )
    server: Any = SimpleNamespace(api=SimpleNamespace(authorizers={"a1": authorizer}))
    method = SimpleNamespace(authorization_type="COGNITO_USER_POOLS", authorizer_id="a1")
    stage = SimpleNamespace(variables={})
    match = SimpleNamespace(path_parameters={})

    def verdict(token: str | None) -> Any:
        headers = [("Authorization", token)] if token is not None else []
        request = Request("api", "prod", "/", "GET", headers, "", b"", "127.0.0.1", "h")
        return authorize_rest(server, request, stage, match, method)

    def jwt(claims: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"eyJhbGciOiJSUzI1NiJ9.{body}.not-checked"

    allowed = verdict(jwt({"sub": "u1", "email_verified": True, "exp": 4102444800}))
    assert allowed.refused is None
    assert allowed.context == {
        "claims": {"sub": "u1", "email_verified": "true", "exp": "4102444800"}
    }
    for token in (None, "not-a-jwt", jwt({"sub": "u1", "exp": 1})):
        refused = verdict(token).refused
        assert refused is not None and refused[0] == 401, token
        assert json.loads(refused[2]) == {"message": "Unauthorized"}
