"""Where the `aws` tests deploy, and the deploy itself: one code path for AWS and local.

`choose_cloud` picks real AWS when `DYNAMO_BACKEND_AWS_TESTS=1` and STS accepts the
credentials the SDK finds, else our local cloud on a free port. `Deployment` then runs the
same CDK CLI commands with the same arguments on either (`-c stage=local -c suffix=t<hex>`):
`cdk` on AWS, `cdklocal` locally, and only the environment differs (the endpoint variables
and fake credentials locally; the user's own credentials and no endpoint on AWS).
`Deployment.destroy` removes whatever the deploy left, also after a deploy that stopped
half-way, and returns what is still there.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from localcloud import launcher
from scripts import deploy
from scripts.target import Target
from stacks.config import StageConfig, stage_config
from tests.support.local_cloud import LocalCloud

AWS_TESTS_VARIABLE = "DYNAMO_BACKEND_AWS_TESTS"
AWS = "aws"
LOCAL = "local"
# Fake credentials for the local cloud, as `scripts.deploy.local_environment` gives the CLI.
LOCAL_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}

_Result = TypeVar("_Result")


class NoAwsCredentials(RuntimeError):
    """`DYNAMO_BACKEND_AWS_TESTS=1`, but no credentials that AWS accepts."""


@dataclass(frozen=True)
class Cloud:
    """One place to deploy to: the CLI, its environment, and SDK clients for the tests."""

    kind: str  # AWS or LOCAL
    cli: Path
    env: Mapping[str, str]
    session: boto3.session.Session
    # The local cloud's URL; None for AWS itself.
    endpoint: str | None
    where: str

    @property
    def is_aws(self) -> bool:
        """True when the tests run against a real account."""
        return self.kind == AWS

    def client(self, service: str, region: str) -> Any:
        """A boto3 client of `service`: the local cloud's endpoint, or AWS's own."""
        config = Config(
            region_name=region,
            read_timeout=60,
            retries={"mode": "standard", "max_attempts": 5 if self.is_aws else 2},
            # On AWS, an endpoint exported for local work must not redirect the tests.
            ignore_configured_endpoint_urls=self.endpoint is None,
        )
        if self.endpoint is None:
            return self.session.client(service, config=config)
        return self.session.client(service, endpoint_url=self.endpoint, config=config)


def aws_tests_requested(env: Mapping[str, str] = os.environ) -> bool:
    """True when `DYNAMO_BACKEND_AWS_TESTS=1`."""
    return env.get(AWS_TESTS_VARIABLE, "").strip() == "1"


def aws_cloud(region: str) -> Cloud:
    """Real AWS with the credentials the SDK resolves; `NoAwsCredentials` if none work."""
    try:
        session = boto3.session.Session()
        identity = session.client(
            "sts",
            config=Config(
                region_name=region,
                connect_timeout=5,
                read_timeout=10,
                retries={"mode": "standard", "max_attempts": 2},
                ignore_configured_endpoint_urls=True,
            ),
        ).get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        raise NoAwsCredentials(
            f"{AWS_TESTS_VARIABLE}=1 asks for real AWS, but STS could not confirm any "
            f"credentials ({error}): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            f"(and reach AWS), or unset {AWS_TESTS_VARIABLE} to run these tests on the local cloud"
        ) from None
    # The user's environment for the plain `cdk`, minus any local endpoint override.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(deploy.CLI_ENVIRONMENT)
    env.setdefault("CDK_HOME", str(deploy.CDK_HOME))
    return Cloud(
        kind=AWS,
        cli=deploy.CDK,
        env=env,
        session=session,
        endpoint=None,
        where=f"AWS account {identity['Account']} ({region}) as {identity['Arn']}",
    )


@contextmanager
def local_cloud(state_dir: Path, region: str) -> Iterator[Cloud]:
    """Our local cloud on a free port for the block (stopped after it), with `cdklocal`."""
    with LocalCloud(state_dir) as server:
        found = launcher.detect(server.port)
        assert found is not None, f"the local cloud on port {server.port} stopped answering"
        yield Cloud(
            kind=LOCAL,
            cli=deploy.CDKLOCAL,
            env=deploy.local_environment(found, server.port, region, state_dir),
            session=boto3.session.Session(region_name=region, **LOCAL_CREDENTIALS),
            endpoint=server.endpoint,
            where=found.describe(),
        )


@contextmanager
def choose_cloud(state_dir: Path, region: str) -> Iterator[Cloud]:
    """AWS when the tests were asked to use it (and can), else a local cloud of their own."""
    if aws_tests_requested():
        yield aws_cloud(region)
    else:
        with local_cloud(state_dir, region) as cloud:
            yield cloud


def new_suffix() -> str:
    """`t` and 8 random hex digits: a stack and name suffix no other run uses."""
    return f"t{secrets.token_hex(4)}"


def poll(check: Callable[[], _Result], timeout: float, what: str, interval: float = 0.5) -> _Result:
    """`check()`'s first truthy result; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {result!r})")
        time.sleep(interval)


class Deployment:
    """The `local` stage under a random suffix on `cloud`: deploy, use, destroy, verify."""

    def __init__(self, cloud: Cloud, work_dir: Path, suffix: str | None = None) -> None:
        self.cloud = cloud
        self.suffix = suffix or new_suffix()
        self.config: StageConfig = stage_config("local", {"suffix": self.suffix})
        self.work_dir = work_dir
        self.stacks = (
            f"{self.config.stack_prefix}-data",
            f"{self.config.stack_prefix}-functions",
        )

    @property
    def region(self) -> str:
        """The stage's region (its stacks name it, so the CLI deploys there too)."""
        return self.config.region

    def client(self, service: str) -> Any:
        """A boto3 client for the deployment's cloud and region."""
        return self.cloud.client(service, self.region)

    def tooling_target(self) -> Target:
        """The data tooling's `Target` for the suffixed tables (endpoint None: AWS)."""
        return Target(self.config, self.cloud.endpoint, session=self.cloud.session)

    def _cdk(self, step: str, *args: str) -> None:
        """`<cli> <args> -c stage=local -c suffix=...`; output into `<work_dir>/<step>.log`."""
        log = self.work_dir / f"{step}.log"
        command = [
            str(self.cloud.cli),
            *args,
            "-c",
            "stage=local",
            "-c",
            f"suffix={self.suffix}",
            "--output",
            str(self.work_dir / "cdk.out"),
            "--no-notices",
        ]
        with log.open("w") as output:
            result = subprocess.run(
                command,
                cwd=deploy.REPO_ROOT,
                env=dict(self.cloud.env),
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise deploy.DeployError(
                f"{self.cloud.cli.name} {args[0]} ({self.config.stack_prefix} on "
                f"{self.cloud.where}) failed (exit {result.returncode}), log {log}:\n{tail}"
            )

    def _bootstrapped(self) -> bool:
        try:
            self.client("ssm").get_parameter(Name=deploy.BOOTSTRAP_VERSION_PARAMETER)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ParameterNotFound":
                return False
            raise
        return True

    def deploy(self) -> None:
        """Bootstrap the account and region if they are not yet, then `deploy --all`."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if not self._bootstrapped():
            self._cdk("bootstrap", "bootstrap")
        self._cdk(
            "deploy",
            "deploy",
            "--all",
            "--require-approval",
            "never",
            "--outputs-file",
            str(self.work_dir / "outputs.json"),
        )

    def destroy(self) -> list[str]:
        """Remove both stacks whatever state they are in; return what is left (nothing, we
        hope), each entry naming its resource and why it is listed.

        `cdk destroy` first; a failure there (a synth error, a stack stuck in a failed
        state) is recorded, and the stacks that still exist are deleted through
        CloudFormation directly, the functions stack before the data stack it imports from.
        """
        problems: list[str] = []
        try:
            self._cdk("destroy", "destroy", "--all", "--force")
        except deploy.DeployError as error:
            problems.append(str(error))
        cloudformation = self.client("cloudformation")
        for stack in reversed(self.stacks):
            if self._stack_status(stack) is None:
                continue
            try:
                cloudformation.delete_stack(StackName=stack)
                cloudformation.get_waiter("stack_delete_complete").wait(
                    StackName=stack,
                    WaiterConfig={"Delay": 10 if self.cloud.is_aws else 1, "MaxAttempts": 90},
                )
            except (ClientError, WaiterError) as error:
                problems.append(f"stack {stack}: delete failed ({error})")
        leftovers = self.leftovers()
        if problems and not leftovers:
            # Nothing is left, but `cdk destroy` itself failed: worth knowing, not a failure.
            warnings.warn("; ".join(problems), stacklevel=2)
        return [*problems, *leftovers] if leftovers else []

    def _stack_status(self, stack: str) -> str | None:
        """The stack's status, None when it does not exist (any more)."""
        try:
            (found,) = self.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        status = str(found["StackStatus"])
        return None if status == "DELETE_COMPLETE" else status

    def leftovers(self) -> list[str]:
        """The deployment's stacks, tables, functions and log groups that still exist."""
        found = [
            f"stack {stack} ({status})"
            for stack in self.stacks
            if (status := self._stack_status(stack)) is not None
        ]
        tables = {
            name
            for page in self.client("dynamodb").get_paginator("list_tables").paginate()
            for name in page["TableNames"]
        }
        found += [
            f"table {spec.table_name}" for spec in self.config.tables if spec.table_name in tables
        ]
        functions = self.config.functions
        lambda_client = self.client("lambda")
        logs = self.client("logs")
        for name in (functions.user_manager, functions.message_stream, functions.tasks):
            try:
                lambda_client.get_function(FunctionName=name)
                found.append(f"function {name}")
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
            group = f"/aws/lambda/{name}"
            groups = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
            found += [
                f"log group {g['logGroupName']}" for g in groups if g["logGroupName"] == group
            ]
        return found

    def cleanup_hint(self) -> str:
        """How to remove the leftovers by hand."""
        if not self.cloud.is_aws:
            return "the local cloud stops next and kept its state in memory: nothing stays"
        return (
            f"remove them by hand: {deploy.CDK} destroy --all -c stage=local "
            f"-c suffix={self.suffix}, or aws cloudformation delete-stack --stack-name "
            f"{self.stacks[1]} (then {self.stacks[0]}), and delete the tables and log groups "
            "named above"
        )
