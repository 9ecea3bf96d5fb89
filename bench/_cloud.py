"""Shared helpers of the local cloud benchmarks: a cloud on a free port, clients, percentiles."""

from __future__ import annotations

import io
import json
import statistics
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from localcloud import launcher as local_cloud
from localcloud.engine import free_port as free_port

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
REGION = "us-east-1"


@contextmanager
def local_cloud_on_free_port() -> Iterator[str]:
    """Start our local cloud on a free port in a temporary state dir; stop it afterwards."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-cloud-") as state:
        endpoint, _ = local_cloud.start(port, Path(state))
        try:
            yield endpoint.url
        finally:
            local_cloud.stop(port, Path(state))


def client(service: str, endpoint: str) -> Any:
    """A boto3 client with fake credentials for the local cloud."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}),
    )


# The benchmarks' functions may use DynamoDB and SQS: the local cloud enforces the role.
BENCH_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["dynamodb:*", "sqs:*"], "Resource": "*"}],
}


def create_role(endpoint: str, name: str) -> str:
    """An execution role for benchmark function `name`, allowed `BENCH_POLICY`."""
    iam = client("iam", endpoint)
    role_name = f"bench-{name}"
    arn: str = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=role_name, PolicyName="bench", PolicyDocument=json.dumps(BENCH_POLICY)
    )
    return arn


def create_function(
    endpoint: str,
    name: str,
    code: str,
    env: dict[str, str],
    tags: dict[str, str] | None = None,
) -> None:
    """A Python function whose `app.py` is `code`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", code)
    client("lambda", endpoint).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=create_role(endpoint, name),
        Handler="app.handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=10,
        Environment={"Variables": env},
        Tags=tags or {},
    )


def health(endpoint: str) -> dict[str, Any]:
    """The local cloud's `/_localcloud/health` document."""
    with urllib.request.urlopen(f"{endpoint}{local_cloud.HEALTH_PATH}", timeout=10) as response:
        data: dict[str, Any] = json.loads(response.read())
    return data


def rss_bytes(pid: int) -> int:
    """The resident set size of process `pid` (`VmRSS` of `/proc/<pid>/status`), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid} (a zombie or a kernel thread?)")


def percentile(values: list[float], pct: float) -> float:
    """The `pct` percentile (inclusive method), rounded to 0.01."""
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1], 2)


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write `bench/results/<name>.json` and echo it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return path
