"""An HTTP API (v2) with Lambda routes (payload format 2.0), inline Python handlers.

`GET /items/{id}` and `POST /items` reach a handler that echoes the event; `GET /plain`
reaches one that returns a bare dict (API Gateway's 2.0 rules make it a 200 JSON answer).
"""

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_

ECHO = """
import json


def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-echo": "yes"},
        "cookies": ["a=1", "b=2"],
        "body": json.dumps({"event": event}),
    }
"""

PLAIN = """
def handler(event, context):
    return {"hello": "world", "path": event["rawPath"]}
"""

app = cdk.App()
stack = cdk.Stack(app, "fixture-api-http", env=cdk.Environment(region="us-east-1"))


def function(name: str, code: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline(code),
    )


echo = integrations.HttpLambdaIntegration("EchoIntegration", function("EchoFunction", ECHO))
plain = integrations.HttpLambdaIntegration("PlainIntegration", function("PlainFunction", PLAIN))
api = apigwv2.HttpApi(stack, "HttpApi")
api.add_routes(path="/items/{id}", methods=[apigwv2.HttpMethod.GET], integration=echo)
api.add_routes(path="/items", methods=[apigwv2.HttpMethod.POST], integration=echo)
api.add_routes(path="/plain", methods=[apigwv2.HttpMethod.GET], integration=plain)
cdk.CfnOutput(stack, "ApiId", value=api.api_id)
cdk.CfnOutput(stack, "ApiEndpoint", value=api.api_endpoint)
cdk.CfnOutput(stack, "Url", value=api.url or "")
app.synth()
