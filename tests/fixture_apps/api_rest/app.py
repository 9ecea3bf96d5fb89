"""A REST API (v1) in front of an inline Python Lambda, with CORS preflight.

`LambdaIntegration` (proxy) on `/`, `/items/{id}` and a greedy `/files/{proxy+}`; the
handler echoes the event it received, or answers a malformed proxy response on `/bad/...`,
so the tests can check both the event's shape and API Gateway's 502.
"""

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_

HANDLER = """
import json


def handler(event, context):
    path = event.get("path") or ""
    if path.startswith("/bad"):
        return {"statusCode": 200, "body": {"not": "a string"}}
    if path.startswith("/boom"):
        raise RuntimeError("boom")
    return {
        "statusCode": 201 if event.get("httpMethod") == "POST" else 200,
        "headers": {"Content-Type": "application/json", "X-Echo": "yes"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps({"event": event}),
    }
"""

app = cdk.App()
stack = cdk.Stack(app, "fixture-api-rest", env=cdk.Environment(region="us-east-1"))
echo = lambda_.Function(
    stack,
    "EchoFunction",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="index.handler",
    code=lambda_.Code.from_inline(HANDLER),
)
api = apigateway.RestApi(
    stack,
    "EchoApi",
    deploy_options=apigateway.StageOptions(stage_name="prod", variables={"flavour": "local"}),
    default_cors_preflight_options=apigateway.CorsOptions(
        allow_origins=apigateway.Cors.ALL_ORIGINS,
        allow_methods=apigateway.Cors.ALL_METHODS,
    ),
)
integration = apigateway.LambdaIntegration(echo)
api.root.add_method("GET", integration)
items = api.root.add_resource("items")
items.add_method("POST", integration)
items.add_resource("{id}").add_method("GET", integration)
api.root.add_resource("files").add_resource("{proxy+}").add_method("ANY", integration)
api.root.add_resource("bad").add_method("GET", integration)
api.root.add_resource("boom").add_method("GET", integration)
cdk.CfnOutput(stack, "ApiId", value=api.rest_api_id)
cdk.CfnOutput(stack, "StageName", value=api.deployment_stage.stage_name)
app.synth()
