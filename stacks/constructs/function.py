"""A Python Lambda function with its own role, log group and dead-letter queue."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import HOT_RELOAD_TAG
from stacks.constructs.lambda_code import RUNTIME
from stacks.constructs.queues import failure_queue
from stacks.nag import acknowledge


class PythonFunction(Construct):
    """A function whose role has no managed policies: only its own log group and what is granted.

    Created with an explicit log group (retention, removal policy), JSON logs, X-Ray tracing,
    `reserved_concurrency` executions reserved (its ceiling, too), and one encrypted SQS queue
    that is both its dead-letter queue and its asynchronous on-failure destination. When `vpc`
    is given the function runs in its subnets and its role gets the ENI permissions Lambda
    needs there. `wildcard_reasons` explain any further `Resource::*` grants the caller adds
    (they become the cdk-nag suppression's evidence). `hot_reload_source` (a folder relative
    to the app) tags the function for the local cloud's hot reload; AWS ignores the tag.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        handler: str,
        description: str,
        code: lambda_.Code,
        environment: Mapping[str, str],
        memory_mb: int,
        timeout_s: int,
        reserved_concurrency: int,
        log_retention: logs.RetentionDays,
        retain_logs: bool,
        vpc: ec2.IVpc | None = None,
        security_groups: list[ec2.ISecurityGroup] | None = None,
        wildcard_reasons: tuple[str, ...] = (),
        hot_reload_source: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        removal_policy = RemovalPolicy.RETAIN if retain_logs else RemovalPolicy.DESTROY
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {function_name}",
        )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.dead_letter_queue = failure_queue(
            self,
            "DeadLetterQueue",
            holds=f"{function_name}'s failed asynchronous invocations (DLQ and on-failure)",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=code,
            role=self.role,
            environment=dict(environment),
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_s),
            reserved_concurrent_executions=reserved_concurrency,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue=self.dead_letter_queue,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
            retry_attempts=2,
            vpc=vpc,
            vpc_subnets=(
                ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED) if vpc else None
            ),
            security_groups=security_groups,
        )
        if hot_reload_source is not None:
            Tags.of(self.function).add(
                HOT_RELOAD_TAG, hot_reload_source, include_resource_types=["AWS::Lambda::Function"]
            )
        # Only what Lambda itself writes: streams and events in this function's log group.
        self.log_group.grant_write(self.role)
        # Each `Resource::*` in the role, with why it cannot be narrowed (cdk-nag evidence).
        reasons = [
            *wildcard_reasons,
            "X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level "
            "permissions (active tracing).",
        ]
        if vpc is not None:
            # What AWSLambdaVPCAccessExecutionRole grants, minus its logs:* on every log group.
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSubnets",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=["*"],
                )
            )
            reasons.append(
                "Lambda's VPC ENI actions (ec2:CreateNetworkInterface, Describe*, "
                "DeleteNetworkInterface, Assign/UnassignPrivateIpAddresses) are not "
                "resource-scoped."
            )
        reason = " ".join(reasons)
        acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]", reason)
        acknowledge(self.function, "Serverless-StarPermissions", reason)
