"""A topic fanned out as a user writes it: `add_subscription(SqsSubscription(queue))` with the
SNS envelope, another with `raw_message_delivery=True`, and `LambdaSubscription(fn)` with a
filter policy (`kind` = `order`) whose function writes the event it got to a table."""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs

RECORDER = """
import json
import os

import boto3

ddb = boto3.client("dynamodb")


def handler(event, context):
    for record in event["Records"]:
        ddb.put_item(
            TableName=os.environ["TABLE_NAME"],
            Item={"id": {"S": record["Sns"]["Message"]}, "event": {"S": json.dumps(event)}},
        )
"""

app = cdk.App()
stack = cdk.Stack(app, "fixture-topic-fanout", env=cdk.Environment(region="us-east-1"))
table = dynamodb.Table(
    stack,
    "Deliveries",
    partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    removal_policy=cdk.RemovalPolicy.DESTROY,
)
topic = sns.Topic(stack, "Orders")
enveloped = sqs.Queue(stack, "Enveloped")
raw = sqs.Queue(stack, "Raw")
topic.add_subscription(subscriptions.SqsSubscription(enveloped))
topic.add_subscription(subscriptions.SqsSubscription(raw, raw_message_delivery=True))
recorder = lambda_.Function(
    stack,
    "Recorder",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="index.handler",
    code=lambda_.Code.from_inline(RECORDER),
    environment={"TABLE_NAME": table.table_name},
)
table.grant_write_data(recorder)
topic.add_subscription(
    subscriptions.LambdaSubscription(
        recorder,
        filter_policy={"kind": sns.SubscriptionFilter.string_filter(allowlist=["order"])},
    )
)
cdk.CfnOutput(stack, "TopicArn", value=topic.topic_arn)
cdk.CfnOutput(stack, "EnvelopedQueueUrl", value=enveloped.queue_url)
cdk.CfnOutput(stack, "RawQueueUrl", value=raw.queue_url)
cdk.CfnOutput(stack, "TableName", value=table.table_name)
cdk.CfnOutput(stack, "RecorderArn", value=recorder.function_arn)
app.synth()
