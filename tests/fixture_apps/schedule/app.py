"""A scheduled rule as a user writes one: `Schedule.rate(1 minute)` firing a function (which
records each event it gets in a table) and a queue."""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

app = cdk.App()
stack = cdk.Stack(app, "fixture-schedule", env=cdk.Environment(region="us-east-1"))
table = dynamodb.Table(
    stack,
    "EventsTable",
    partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    removal_policy=cdk.RemovalPolicy.DESTROY,
)
fn = lambda_.Function(
    stack,
    "RecordEvent",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="app.handler",
    code=lambda_.Code.from_asset("handler"),
    environment={"TABLE_NAME": table.table_name},
)
table.grant_write_data(fn)
queue = sqs.Queue(stack, "Ticks")
rule = events.Rule(
    stack,
    "EveryMinute",
    schedule=events.Schedule.rate(cdk.Duration.minutes(1)),
    targets=[targets.LambdaFunction(fn), targets.SqsQueue(queue)],
)
cdk.CfnOutput(stack, "TableName", value=table.table_name)
cdk.CfnOutput(stack, "QueueUrl", value=queue.queue_url)
cdk.CfnOutput(stack, "RuleArn", value=rule.rule_arn)
app.synth()
