"""API Gateway Lambda authorizers: a REST API with a `TokenAuthorizer` and a
`RequestAuthorizer`, and an HTTP API with an `HttpLambdaAuthorizer` (simple responses)
and an `HttpJwtAuthorizer` route with a scope.

The token authorizer answers by the token: `allow-<user>` allows exactly the method ARN it
was asked about (so a cached policy refuses another path, as on AWS), `any-<user>` allows
`*/GET/*`, `deny` denies, `unauthorized` raises "Unauthorized", `boom` fails. Its context
carries how many times the warm worker ran (`calls`), so the tests see the cache. The echo
handler answers the `requestContext.authorizer` it received.
"""

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_

TOKEN_AUTHORIZER = """
CALLS = {"n": 0}


def handler(event, context):
    CALLS["n"] += 1
    token = event["authorizationToken"].removeprefix("Bearer ")
    if token == "unauthorized":
        raise Exception("Unauthorized")
    if token == "boom":
        raise RuntimeError("boom")
    arn = event["methodArn"]
    effect, resource = "Allow", arn
    if token == "deny":
        effect = "Deny"
    elif token.startswith("any-"):
        resource = arn.split("/")[0] + "/*/GET/*"
    return {
        "principalId": token.split("-", 1)[-1],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": {"calls": CALLS["n"], "type": event["type"], "admin": False},
    }
"""

REQUEST_AUTHORIZER = """
def handler(event, context):
    key = event["headers"].get("X-Key")
    tenant = event["queryStringParameters"]["tenant"]
    return {
        "principalId": tenant,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": "Allow" if key == "open" else "Deny",
                "Resource": event["methodArn"],
            }],
        },
        "context": {"tenant": tenant, "path": event["path"], "type": event["type"]},
    }
"""

HTTP_AUTHORIZER = """
def handler(event, context):
    token = event["headers"].get("authorization", "")
    return {
        "isAuthorized": token == "let-me-in",
        "context": {"who": "http-user", "arn": event["routeArn"], "ids": event["identitySource"],
                    "version": event["version"], "type": event["type"]},
    }
"""

ECHO = """
import json


def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"authorizer": event["requestContext"].get("authorizer")}),
    }
"""


def inline(stack: cdk.Stack, name: str, code: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline(code),
    )


app = cdk.App()
stack = cdk.Stack(app, "fixture-api-auth", env=cdk.Environment(region="us-east-1"))
echo = inline(stack, "EchoFunction", ECHO)
token_authorizer = apigateway.TokenAuthorizer(
    stack,
    "TokenAuthorizer",
    handler=inline(stack, "TokenAuthorizerFunction", TOKEN_AUTHORIZER),
    validation_regex=r"^Bearer [a-z]+(-[a-z0-9]+)?$",
    results_cache_ttl=cdk.Duration.minutes(5),
)
request_authorizer = apigateway.RequestAuthorizer(
    stack,
    "RequestAuthorizer",
    handler=inline(stack, "RequestAuthorizerFunction", REQUEST_AUTHORIZER),
    identity_sources=[
        apigateway.IdentitySource.header("X-Key"),
        apigateway.IdentitySource.query_string("tenant"),
    ],
    results_cache_ttl=cdk.Duration.seconds(0),
)
api = apigateway.RestApi(
    stack, "AuthApi", deploy_options=apigateway.StageOptions(stage_name="prod")
)
integration = apigateway.LambdaIntegration(echo)
token = api.root.add_resource("token")
token.add_method("GET", integration, authorizer=token_authorizer)
token.add_resource("other").add_method("GET", integration, authorizer=token_authorizer)
token.add_method("POST", integration, authorizer=token_authorizer)
api.root.add_resource("request").add_method("GET", integration, authorizer=request_authorizer)
api.root.add_resource("open").add_method("GET", integration)

http_api = apigwv2.HttpApi(stack, "AuthHttpApi")
http_api.add_routes(
    path="/private",
    methods=[apigwv2.HttpMethod.GET],
    integration=integrations.HttpLambdaIntegration("EchoIntegration", echo),
    authorizer=authorizers.HttpLambdaAuthorizer(
        "HttpAuthorizer",
        inline(stack, "HttpAuthorizerFunction", HTTP_AUTHORIZER),
        response_types=[authorizers.HttpLambdaResponseType.SIMPLE],
        results_cache_ttl=cdk.Duration.seconds(0),
    ),
)
http_api.add_routes(
    path="/jwt",
    methods=[apigwv2.HttpMethod.GET],
    integration=integrations.HttpLambdaIntegration("JwtEchoIntegration", echo),
    authorizer=authorizers.HttpJwtAuthorizer(
        "JwtAuthorizer",
        "https://issuer.example.com/pool",
        jwt_audience=["local-client"],
    ),
    authorization_scopes=["tasks/read"],
)
cdk.CfnOutput(stack, "ApiId", value=api.rest_api_id)
cdk.CfnOutput(stack, "HttpApiId", value=http_api.http_api_id)
app.synth()
