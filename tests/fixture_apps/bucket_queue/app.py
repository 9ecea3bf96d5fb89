"""A bucket that feeds a queue, as a user writes it: `add_event_notification(OBJECT_CREATED,
SqsDestination(queue))` with a function on the queue (`SqsEventSource`) writing each
object's key to a table; a `LambdaDestination` for keys under `direct/` ending in `.txt`;
an `SnsDestination` for removals (the tests subscribe a queue of their own to the topic;
CDK subscriptions are `test_sns_subscriptions.py`'s)."""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

app = cdk.App()
stack = cdk.Stack(app, "fixture-bucket-queue", env=cdk.Environment(region="us-east-1"))
table = dynamodb.Table(
    stack,
    "Objects",
    partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    removal_policy=cdk.RemovalPolicy.DESTROY,
)
bucket = s3.Bucket(stack, "Uploads", removal_policy=cdk.RemovalPolicy.DESTROY)
queue = sqs.Queue(stack, "UploadEvents")
bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.SqsDestination(queue))


def recorder(construct_id: str, handler: str) -> lambda_.Function:
    fn = lambda_.Function(
        stack,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler=handler,
        code=lambda_.Code.from_asset("handler"),
        environment={"TABLE_NAME": table.table_name},
    )
    table.grant_write_data(fn)
    return fn


from_queue = recorder("FromQueue", "app.from_queue")
from_queue.add_event_source(event_sources.SqsEventSource(queue, batch_size=5))
direct = recorder("Direct", "app.from_s3")
bucket.add_event_notification(
    s3.EventType.OBJECT_CREATED,
    s3n.LambdaDestination(direct),
    s3.NotificationKeyFilter(prefix="direct/", suffix=".txt"),
)
removals = sns.Topic(stack, "Removals")
bucket.add_event_notification(s3.EventType.OBJECT_REMOVED, s3n.SnsDestination(removals))
cdk.CfnOutput(stack, "BucketName", value=bucket.bucket_name)
cdk.CfnOutput(stack, "TableName", value=table.table_name)
cdk.CfnOutput(stack, "RemovalsTopicArn", value=removals.topic_arn)
app.synth()
