"""A function the local cloud's Lambda runner refuses: Java 21 (from a placeholder asset, as
CDK refuses inline Java). Its deploy must fail with the runner's reason and roll back; the
table beside it must go too."""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

app = cdk.App()
stack = cdk.Stack(app, "fixture-cfn-bad-runtime", env=cdk.Environment(region="us-east-1"))
dynamodb.Table(
    stack,
    "Kept",
    table_name="fixture-bad-runtime-table",
    partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    removal_policy=cdk.RemovalPolicy.DESTROY,
)
lambda_.Function(
    stack,
    "JavaFunction",
    runtime=lambda_.Runtime.JAVA_21,
    handler="example.Handler::handleRequest",
    code=lambda_.Code.from_asset("code"),
)
app.synth()
