"""Lambda-backed custom resources as a user writes them: `CustomResource` of the default
type (`AWS::CloudFormation::CustomResource`) and of a `Custom::Echo` type, served by one
Python function that answers the response URL with the types of the properties it got (as
`Data`) and records every request in a table. With the context `fail=1` the app is one
stack whose custom resource answers FAILED; `version` changes a property (an update)."""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

app = cdk.App()
version = app.node.try_get_context("version") or "1"


def echo_function(stack: cdk.Stack, table: dynamodb.Table | None) -> lambda_.Function:
    fn = lambda_.Function(
        stack,
        "EchoFunction",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=lambda_.Code.from_asset("handler"),
        environment={"TABLE_NAME": table.table_name if table else ""},
    )
    if table is not None:
        table.grant_write_data(fn)
    return fn


if app.node.try_get_context("fail") == "1":
    stack = cdk.Stack(app, "fixture-custom-fail", env=cdk.Environment(region="us-east-1"))
    fn = echo_function(stack, None)
    cdk.CustomResource(
        stack,
        "Refused",
        service_token=fn.function_arn,
        resource_type="Custom::Refused",
        properties={"Answer": "FAILED", "Reason": "the echo refuses this resource"},
    )
else:
    stack = cdk.Stack(app, "fixture-custom", env=cdk.Environment(region="us-east-1"))
    table = dynamodb.Table(
        stack,
        "Requests",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    fn = echo_function(stack, table)
    echo = cdk.CustomResource(
        stack,
        "Echo",
        service_token=fn.function_arn,
        resource_type="Custom::Echo",
        properties={
            "Flag": True,
            "Count": 3,
            "Ratio": 1.5,
            "Name": "plain",
            "Version": version,
            "Nested": {"On": False, "List": [1, True, "x"]},
        },
    )
    default_type = cdk.CustomResource(
        stack, "DefaultType", service_token=fn.function_arn, properties={"Enabled": False}
    )
    cdk.CfnOutput(stack, "TableName", value=table.table_name)
    cdk.CfnOutput(stack, "EchoId", value=echo.ref)
    cdk.CfnOutput(stack, "FlagType", value=echo.get_att_string("Flag"))
    cdk.CfnOutput(stack, "NestedType", value=echo.get_att_string("Nested"))
    cdk.CfnOutput(stack, "EnabledType", value=default_type.get_att_string("Enabled"))
app.synth()
