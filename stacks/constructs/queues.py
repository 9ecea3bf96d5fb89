"""Queues of last resort: where failed invocations and stream records end up."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.nag import acknowledge


def failure_queue(scope: Construct, construct_id: str, *, holds: str) -> sqs.Queue:
    """An SSE-encrypted, TLS-only queue that keeps failures for 14 days.

    `holds` says what lands in it; it is the reason recorded for the cdk-nag rules that ask
    every queue to have a dead-letter queue of its own.
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    reason = f"This queue holds {holds}: it is itself the place of last resort."
    acknowledge(queue, "AwsSolutions-SQS3", reason)
    acknowledge(queue, "Serverless-SQSRedrivePolicy", reason)
    return queue
