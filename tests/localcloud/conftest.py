"""Fixtures of the local cloud tests: fake credentials, moto in-process, patch toggles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.engine import free_port as free_port  # never 4566: a user's cloud may hold it

REGION = "us-east-1"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; never a user's real profile or endpoint."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def cfn_fixes(aws_env: None) -> Iterator[None]:
    """moto in-process with our CloudFormation overrides installed."""
    from moto import mock_aws

    from localcloud import cfn

    was_installed = cfn.PATCHES.installed
    cfn.PATCHES.install()
    try:
        with mock_aws():
            yield
    finally:
        if not was_installed:
            cfn.PATCHES.uninstall()


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Our local cloud (DynamoDB Local + moto + extensions) on a free port, for the session."""
    from tests.support.local_cloud import LocalCloud

    with LocalCloud(tmp_path_factory.mktemp("local-cloud")) as local_cloud:
        yield local_cloud.endpoint


def module_cloud(name: str, env: dict[str, str] | None = None) -> Any:
    """A module-scoped fixture: a local cloud of the module's own (its stacks, its settings
    from `env`), on a free port, stopped after the module. `cloud = module_cloud("api")`."""
    from tests.support.local_cloud import LocalCloud

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in (env or {}).items():
                patch.setenv(key, value)
            local = LocalCloud(tmp_path_factory.mktemp(f"{name}-cloud"))
            local.start()
        try:
            yield local
        finally:
            local.stop()

    return fixture


def client(service: str, endpoint: str) -> Any:
    """A boto3 client for the local cloud with fake credentials."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, read_timeout=60, max_pool_connections=32),
    )


def zip_code(files: dict[str, str]) -> bytes:
    """A deployment package with the given files."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


# A test function's role allows what the tests' functions call; the IAM tests pass their own.
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["dynamodb:*", "sqs:*"], "Resource": "*"}],
}


def create_role(endpoint: str, name: str, policy: dict[str, Any] | None = ALLOW_ALL) -> str:
    """A Lambda execution role with one inline policy (none if `policy` is None)."""
    import json
    import uuid

    iam = client("iam", endpoint)
    role_name = f"role-{name}-{uuid.uuid4().hex[:6]}"
    arn: str = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    if policy is not None:
        iam.put_role_policy(
            RoleName=role_name, PolicyName="test-access", PolicyDocument=json.dumps(policy)
        )
    return arn


def create_function(
    endpoint: str,
    name: str,
    code: str,
    *,
    timeout: int = 5,
    env: dict[str, str] | None = None,
    role: str | None = None,
) -> str:
    """Create a Python function whose `app.py` is `code` (with `role`, else one that may
    use DynamoDB and SQS); return its ARN."""
    role = role or create_role(endpoint, name)
    created = client("lambda", endpoint).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_code({"app.py": code})},
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )
    arn: str = created["FunctionArn"]
    return arn


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """`check()`'s first truthy result, polled every 0.1 s; fails after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s")
