"""A stack that fails mid-way, then is fixed: two tables with the same fixed name.

Context `step`:
- `broken`: `First` and `Second` are both named `cfn-midway-<suffix>`; `First` is created,
  `Second` is refused ("Cannot create preexisting table"), so the create must roll back.
- `fixed`: `Second` gets a name of its own; the stack deploys.
- `broken-update`: as `fixed`, plus a new queue and a `Third` table reusing `First`'s name,
  so the update must roll back to `fixed`.

The tables are `RemovalPolicy.DESTROY`: as on AWS, a rollback keeps a `Retain` resource.
"""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sqs as sqs

app = cdk.App()
step = app.node.try_get_context("step") or "fixed"
suffix = app.node.try_get_context("suffix") or "x"
stack = cdk.Stack(app, "fixture-cfn-fail-midway", env=cdk.Environment(region="us-east-1"))


def table(construct_id: str, name: str) -> dynamodb.Table:
    return dynamodb.Table(
        stack,
        construct_id,
        table_name=name,
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


first = table("First", f"cfn-midway-{suffix}")
second = table("Second", f"cfn-midway-{suffix}" if step == "broken" else f"cfn-second-{suffix}")
second.node.add_dependency(first)
if step == "broken-update":
    sqs.Queue(stack, "Added", queue_name=f"cfn-midway-added-{suffix}")
    third = table("Third", f"cfn-midway-{suffix}")
    third.node.add_dependency(second)
cdk.CfnOutput(stack, "SecondName", value=second.table_name)
app.synth()
