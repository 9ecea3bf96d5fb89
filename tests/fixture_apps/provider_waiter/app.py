"""A `Provider` with an `is_complete_handler`: CDK's waiter state machine polls the Python
`is_complete` every second until it answers `IsComplete` on its third poll. With the context
`never_complete=true` the stack's `is_complete` never completes and its `total_timeout` is a
few seconds, so the waiter's `Catch` runs the framework's timeout handler."""

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr

app = cdk.App()
never_complete = app.node.try_get_context("never_complete") == "true"
stack = cdk.Stack(
    app,
    "fixture-provider-waiter-never" if never_complete else "fixture-provider-waiter",
    env=cdk.Environment(region="us-east-1"),
)


def handler(construct_id: str, entry: str) -> lambda_.Function:
    """A Python function of `handlers/app.py`."""
    return lambda_.Function(
        stack,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler=f"app.{entry}",
        code=lambda_.Code.from_asset("handlers"),
    )


provider = cr.Provider(
    stack,
    "WaiterProvider",
    on_event_handler=handler("OnEvent", "on_event"),
    is_complete_handler=handler("IsComplete", "never" if never_complete else "is_complete"),
    query_interval=cdk.Duration.seconds(1),
    total_timeout=cdk.Duration.seconds(4) if never_complete else cdk.Duration.minutes(1),
)
job = cdk.CustomResource(
    stack, "Job", service_token=provider.service_token, properties={"Name": "local"}
)
cdk.CfnOutput(stack, "JobId", value=job.ref)
cdk.CfnOutput(stack, "Polls", value=job.get_att_string("Polls"))
app.synth()
