"""A table whose stream feeds an inline Node.js function (what `NodejsFunction` users write),
which logs each record it receives: the test reads them from the function's log group."""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources

HANDLER = """
exports.handler = async (event) => {
  for (const record of event.Records) {
    console.log('RECORD ' + JSON.stringify(record));
  }
  return { batchItemFailures: [] };
};
"""

app = cdk.App()
stack = cdk.Stack(app, "fixture-node-stream", env=cdk.Environment(region="us-east-1"))
table = dynamodb.Table(
    stack,
    "Notes",
    partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
    billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    removal_policy=cdk.RemovalPolicy.DESTROY,
)
function = lambda_.Function(
    stack,
    "StreamReader",
    runtime=lambda_.Runtime.NODEJS_22_X,
    handler="index.handler",
    code=lambda_.Code.from_inline(HANDLER),
)
function.add_event_source(
    event_sources.DynamoEventSource(
        table, starting_position=lambda_.StartingPosition.TRIM_HORIZON, batch_size=10
    )
)
cdk.CfnOutput(stack, "TableName", value=table.table_name)
cdk.CfnOutput(stack, "FunctionName", value=function.function_name)
app.synth()
