"""A REST API whose deploy needs CloudFormation's dependency order, plus a skipped type.

CDK's `AWS::ApiGateway::Deployment` depends (`DependsOn`) on the API's methods and comes
before them in the template: executed in template order it fails ("The REST API doesn't
contain any methods"). The queue's resource policy (`AWS::SQS::QueuePolicy`) is a type the
local cloud does not run, so the deploy must report it.
"""

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

HANDLER = """
def handler(event, context):
    return {"statusCode": 200, "body": "ok"}
"""

app = cdk.App()
stack = cdk.Stack(app, "fixture-cfn-rest-api", env=cdk.Environment(region="us-east-1"))
function = lambda_.Function(
    stack,
    "HelloFunction",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="index.handler",
    code=lambda_.Code.from_inline(HANDLER),
)
api = apigateway.RestApi(stack, "HelloApi", rest_api_name="cfn-order-api", cloud_watch_role=False)
api.root.add_method("GET", apigateway.LambdaIntegration(function))
api.root.add_resource("hello").add_method("POST", apigateway.LambdaIntegration(function))
queue = sqs.Queue(stack, "Inbox")
queue.add_to_resource_policy(
    iam.PolicyStatement(
        actions=["sqs:SendMessage"],
        principals=[iam.AccountRootPrincipal()],
        resources=[queue.queue_arn],
    )
)
cdk.CfnOutput(stack, "ApiId", value=api.rest_api_id)
cdk.CfnOutput(stack, "QueueUrl", value=queue.queue_url)
app.synth()
