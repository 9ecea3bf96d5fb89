"""An HTTP API (v2) whose `POST /messages` route sends the request body to a queue
(`HttpSqsIntegration`: `SQS-SendMessage`, signed as the role CDK grants `sqs:SendMessage`),
and whose `POST /tagged` route sends a body built from selection expressions."""

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_sqs as sqs

app = cdk.App()
stack = cdk.Stack(app, "fixture-api-http-sqs", env=cdk.Environment(region="us-east-1"))
queue = sqs.Queue(stack, "Inbox")
api = apigwv2.HttpApi(stack, "HttpApi")
api.add_routes(
    path="/messages",
    methods=[apigwv2.HttpMethod.POST],
    integration=integrations.HttpSqsIntegration("SendIntegration", queue=queue),
)
api.add_routes(
    path="/tagged",
    methods=[apigwv2.HttpMethod.POST],
    integration=integrations.HttpSqsIntegration(
        "TaggedIntegration",
        queue=queue,
        parameter_mapping=apigwv2.ParameterMapping()
        .custom("QueueUrl", queue.queue_url)
        .custom("MessageBody", "${request.header.x-tag}:$request.body.name"),
    ),
)
cdk.CfnOutput(stack, "ApiId", value=api.api_id)
cdk.CfnOutput(stack, "QueueUrl", value=queue.queue_url)
app.synth()
