"""CDK's own Node.js custom-resource handlers as a user writes them: an `AwsCustomResource`
that puts an item into a table of the stack on create and deletes it on delete (its
`get_response_field` in an output), one that puts an SSM parameter, and a `Provider` whose
Python `on_event` answers through the provider framework's Node.js function."""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr

app = cdk.App()
stack = cdk.Stack(app, "fixture-sdk-custom", env=cdk.Environment(region="us-east-1"))
# Retained, so a test can see that the delete call removed the item.
table = dynamodb.Table(
    stack,
    "Items",
    partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    removal_policy=cdk.RemovalPolicy.RETAIN,
)
key = {"id": {"S": "seeded"}}
seeded = cr.AwsCustomResource(
    stack,
    "SeedItem",
    on_create=cr.AwsSdkCall(
        service="DynamoDB",
        action="putItem",
        parameters={
            "TableName": table.table_name,
            "Item": {**key, "note": {"S": "from AwsCustomResource"}},
            "ReturnConsumedCapacity": "TOTAL",
        },
        physical_resource_id=cr.PhysicalResourceId.of("seeded-item"),
    ),
    on_delete=cr.AwsSdkCall(
        service="DynamoDB",
        action="deleteItem",
        parameters={"TableName": table.table_name, "Key": key},
    ),
    policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[table.table_arn]),
    # Lambda would `npm install` the latest client at each cold start; the pinned one does.
    install_latest_aws_sdk=False,
)
parameter = cr.AwsCustomResource(
    stack,
    "Parameter",
    on_create=cr.AwsSdkCall(
        service="SSM",
        action="putParameter",
        parameters={"Name": "/fixture/sdk-custom", "Value": "v1", "Type": "String"},
        physical_resource_id=cr.PhysicalResourceId.of("/fixture/sdk-custom"),
    ),
    on_delete=cr.AwsSdkCall(
        service="SSM", action="deleteParameter", parameters={"Name": "/fixture/sdk-custom"}
    ),
    policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
        resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
    ),
    install_latest_aws_sdk=False,
)
on_event = lambda_.Function(
    stack,
    "OnEvent",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="app.on_event",
    code=lambda_.Code.from_asset("on_event"),
)
provider = cr.Provider(stack, "GreetingProvider", on_event_handler=on_event)
greeting = cdk.CustomResource(
    stack, "Greeting", service_token=provider.service_token, properties={"Name": "local"}
)
cdk.CfnOutput(stack, "TableName", value=table.table_name)
cdk.CfnOutput(stack, "ConsumedTable", value=seeded.get_response_field("ConsumedCapacity.TableName"))
cdk.CfnOutput(stack, "ParameterVersion", value=parameter.get_response_field("Version"))
cdk.CfnOutput(stack, "GreetingId", value=greeting.ref)
cdk.CfnOutput(stack, "GreetingText", value=greeting.get_att_string("Greeting"))
app.synth()
