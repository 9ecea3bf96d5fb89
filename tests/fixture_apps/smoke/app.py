"""The smallest fixture app: one queue, its URL as an output (checks the deployer)."""

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs

app = cdk.App()
stack = cdk.Stack(app, "fixture-smoke", env=cdk.Environment(region="us-east-1"))
queue = sqs.Queue(stack, "Queue")
cdk.CfnOutput(stack, "QueueUrl", value=queue.queue_url)
app.synth()
