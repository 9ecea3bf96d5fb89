"""Deploy and destroy the stacks: `make deploy` / `make destroy` (`python -m scripts deploy`).

`deploy_local` is the one command: start the local cloud if needed (or use LocalStack or
MiniStack already on the port), bootstrap and deploy every stack with `cdklocal`, seed the
sample data in-process and return a summary. It is idempotent. The deploy itself applies
everything the templates declare (TTL and PITR included); nothing is patched up afterwards.
`deploy_prod` deploys to real AWS with the plain `cdk` CLI, and refuses without credentials
and `confirm="prod"`.

The CDK CLI caches the account of each access key in `CDK_HOME`; all local clouds take the
same fake key but answer with different accounts (ours 123456789012, MiniStack and
LocalStack 000000000000), so each cloud kind and port gets its own `CDK_HOME` under the state
directory: switching clouds in one checkout cannot make the next deploy look for another
account's bootstrap. Prod keeps the repo's `.cdk-home/`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.launcher import (
    DEFAULT_STATE_DIR,
    MOTO,
    Endpoint,
    LocalCloudError,
    detect,
    endpoint_url,
    start,
)
from localcloud.settings import DEFAULT_PORT
from stacks.config import stage_config

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"
CDKLOCAL = REPO_ROOT / "node_modules" / ".bin" / "cdklocal"
CDK_HOME = REPO_ROOT / ".cdk-home"
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
# The venv's bin, first on the CLI's PATH: `cdk`/`cdklocal` and jsii in the app they run use
# its `node`, the pinned Node.js 24 (`make install` links it there), never a system Node.
VENV_BIN = Path(sys.executable).parent
# Offline and private: no telemetry, no notices.
CLI_ENVIRONMENT = {
    "NODE_NO_WARNINGS": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}


def _venv_node_first(env: dict[str, str]) -> dict[str, str]:
    """`env` with the venv's bin (its pinned `node`) first on PATH."""
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


class DeployError(LocalCloudError):
    """A deploy step failed; the message names the step and the cause."""


class Progress:
    """One line per step: `==> [2/5] deploy the stacks`."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total = total
        self.done = 0
        self.quiet = quiet

    def step(self, text: str) -> None:
        self.done += 1
        if not self.quiet:
            print(f"==> [{self.done}/{self.total}] {text}", flush=True)

    def note(self, text: str) -> None:
        if not self.quiet:
            print(f"    {text}", flush=True)


def cdk_home(state_dir: Path, endpoint: Endpoint, port: int) -> Path:
    """The CDK CLI's cache directory for one local cloud: per kind and port."""
    return state_dir / "cdk-home" / f"{endpoint.kind}-{port}"


def local_environment(
    endpoint: Endpoint, port: int, region: str, state_dir: Path = DEFAULT_STATE_DIR
) -> dict[str, str]:
    """Environment for the CDK CLI against the local cloud `endpoint` on `port`.

    Fake credentials always: a user's real profile must never be used for a local deploy.
    Both endpoint variables are needed by `cdklocal` offline, and both must be `localhost`.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    url = endpoint_url(port)
    env.update(CLI_ENVIRONMENT)
    env.update(
        {
            "CDK_HOME": str(cdk_home(state_dir, endpoint, port)),
            "AWS_ENDPOINT_URL": url,
            "AWS_ENDPOINT_URL_S3": url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
        }
    )
    return _venv_node_first(env)


def _run(
    step: str,
    command: list[str],
    env: dict[str, str],
    *,
    verbose: bool,
    cwd: Path = REPO_ROOT,
) -> str:
    """Run one CLI step; on failure raise `DeployError` with its last output lines."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=None if verbose else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    output = result.stdout or ""
    if result.returncode != 0:
        tail = "\n".join(line for line in output.splitlines()[-25:] if not line.startswith("b'"))
        raise DeployError(f"{step} failed (exit {result.returncode}):\n{tail}")
    return output


def _client(service: str, port: int, region: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint_url(port),
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _bootstrapped(port: int, region: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        _client("ssm", port, region).get_parameter(Name=BOOTSTRAP_VERSION_PARAMETER)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            return False
        raise
    return True


def bootstrap_local(
    port: int, region: str, env: dict[str, str], state_dir: Path, *, verbose: bool
) -> bool:
    """Bootstrap the local cloud's account in `region` once; `False` when it already was.

    The environment is named (`aws://<account>/<region>`) and the CLI runs outside any app's
    folder: with an app, `cdk bootstrap` synthesizes it first only to find the environments
    its stacks name (measured here: 6.2 s with the app against 5.5 s without).
    """
    if _bootstrapped(port, region):
        return False
    account = _client("sts", port, region).get_caller_identity()["Account"]
    outside_any_app = state_dir / "bootstrap"
    outside_any_app.mkdir(parents=True, exist_ok=True)
    _run(
        "cdklocal bootstrap",
        [str(CDKLOCAL), "bootstrap", f"aws://{account}/{region}", "--no-notices"],
        env,
        verbose=verbose,
        cwd=outside_any_app,
    )
    return True


@dataclass(frozen=True)
class Summary:
    """What `deploy` leaves behind, for the closing summary and `--json`."""

    endpoint: str
    cloud: str
    tables: dict[str, int]
    functions: list[str]
    seconds: float
    # Where our local cloud keeps its state across restarts; None when it is in memory.
    data_dir: str | None = None


def summarize(port: int, stage: str, endpoint: Endpoint, started_at: float) -> Summary:
    """Item counts of the stage's tables and the stage's functions, as deployed."""
    config = stage_config(stage)
    dynamodb = _client("dynamodb", port, config.region)
    counts: dict[str, int] = {}
    for spec in config.tables:
        paginator = dynamodb.get_paginator("scan")
        counts[spec.table_name] = sum(
            page["Count"] for page in paginator.paginate(TableName=spec.table_name, Select="COUNT")
        )
    wanted = set(config.functions.all())
    deployed = {
        fn["FunctionName"]
        for page in _client("lambda", port, config.region)
        .get_paginator("list_functions")
        .paginate()
        for fn in page["Functions"]
    }
    missing = sorted(wanted - deployed)
    if missing:
        raise DeployError(f"the deploy finished but functions {missing} do not exist")
    return Summary(
        endpoint=endpoint.url,
        cloud=endpoint.kind,
        tables=counts,
        functions=sorted(wanted),
        seconds=round(time.monotonic() - started_at, 2),
        data_dir=endpoint.data_dir,
    )


def seed_sample_data(url: str, progress: Progress) -> None:
    """Write the sample data set into the local stage's tables, in this process."""
    from scripts.seed import seed_sample
    from scripts.target import resolve_target

    for result in seed_sample(resolve_target("local", url)):
        progress.note(f"seeded {result.items} items into {result.table} in {result.seconds:.2f} s")


def deploy_local(
    port: int = DEFAULT_PORT,
    state_dir: Path = DEFAULT_STATE_DIR,
    *,
    seed: bool = True,
    verbose: bool = False,
    quiet: bool = False,
    app_dir: Path = REPO_ROOT,
    app: str | None = None,
    validate: bool = True,
) -> Summary:
    """The one-command local deploy; idempotent. Returns what was deployed.

    `app_dir` (with its `cdk.json`) and `app` (a `--app` command) let tests deploy a
    modified copy of the app through exactly this path. `validate=False` skips CDK's
    template validation in the synth (`CDK_VALIDATION=false`, about 4 s), for a template
    already validated.
    """
    started_at = time.monotonic()
    config = stage_config("local")
    progress = Progress(5 if seed else 4, quiet=quiet)
    if not CDKLOCAL.exists():
        raise DeployError(f"{CDKLOCAL} is missing; run `make install` (npm ci) first")

    progress.step(f"local cloud on port {port}")
    endpoint, started = start(port, state_dir)
    if endpoint.kind == MOTO:
        raise DeployError(
            f"a plain moto server holds port {port}: it runs no Lambdas and fails CDK "
            "updates. Stop it, or use another port (LOCAL_CLOUD_PORT=<n>)"
        )
    progress.note(("started " if started else "using ") + endpoint.describe())
    env = local_environment(endpoint, port, config.region, state_dir)
    if not validate:
        env["CDK_VALIDATION"] = "false"
    # Our own cloud assembly directory: `cdk.out/` may be in use by a synth or the tests.
    app_args = ["-c", "stage=local", "--output", str(state_dir / f"cdk.out-{port}"), "--no-notices"]
    if app is not None:
        app_args += ["--app", app]

    progress.step("cdklocal bootstrap")
    if not bootstrap_local(port, config.region, env, state_dir, verbose=verbose):
        progress.note("already bootstrapped")

    progress.step(f"cdklocal deploy --all ({config.stack_prefix}-data, -functions)")
    outputs_file = state_dir / f"outputs-{port}.json"
    state_dir.mkdir(parents=True, exist_ok=True)
    _run(
        "cdklocal deploy",
        [
            str(CDKLOCAL),
            "deploy",
            "--all",
            "--require-approval",
            "never",
            *app_args,
            "--outputs-file",
            str(outputs_file),
            "--progress",
            "events",
        ],
        env,
        verbose=verbose,
        cwd=app_dir,
    )
    progress.note(f"stack outputs in {outputs_file}")

    if seed:
        progress.step("seed the sample data")
        seed_sample_data(endpoint.url, progress)

    progress.step("summary")
    return summarize(port, "local", endpoint, started_at)


def destroy_local(
    port: int = DEFAULT_PORT, state_dir: Path = DEFAULT_STATE_DIR, *, verbose: bool = False
) -> str:
    """`cdklocal destroy --all` on the local cloud; the cloud itself keeps running."""
    config = stage_config("local")
    found = detect(port)
    if found is None:
        return f"nothing to destroy: no local cloud on port {port}"
    _run(
        "cdklocal destroy",
        [
            str(CDKLOCAL),
            "destroy",
            "--all",
            "--force",
            "--no-notices",
            "-c",
            "stage=local",
            "--output",
            str(state_dir / f"cdk.out-{port}"),
        ],
        local_environment(found, port, config.region, state_dir),
        verbose=verbose,
    )
    return f"destroyed the {config.stack_prefix} stacks on {found.describe()}"


def _prod_environment() -> dict[str, str]:
    """The user's real AWS environment, minus any local endpoint override."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(CLI_ENVIRONMENT)
    env.setdefault("CDK_HOME", str(CDK_HOME))
    return _venv_node_first(env)


def _require_prod(confirm: str | None, action: str) -> dict[str, str]:
    """Refuse prod without `confirm="prod"` and working credentials."""
    if confirm != "prod":
        raise DeployError(
            f"refusing to {action} prod without an explicit confirmation: "
            "add --confirm prod (make ... STAGE=prod CONFIRM=prod)"
        )
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    env = _prod_environment()
    try:
        session = boto3.Session(profile_name=env.get("AWS_PROFILE"))
        sts = session.client("sts", config=Config(ignore_configured_endpoint_urls=True))
        identity = sts.get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        raise DeployError(
            f"refusing to {action} prod: no usable AWS credentials ({error})"
        ) from error
    print(f"==> prod: account {identity['Account']} as {identity['Arn']}")
    return env


def deploy_prod(confirm: str | None, *, verbose: bool = True) -> None:
    """`cdk deploy --all -c stage=prod` against real AWS, after the checks."""
    env = _require_prod(confirm, "deploy")
    _run(
        "cdk deploy (prod)",
        [str(CDK), "deploy", "--all", "-c", "stage=prod", "--require-approval", "broadening"],
        env,
        verbose=verbose,
    )


def destroy_prod(confirm: str | None, *, verbose: bool = True) -> None:
    """`cdk destroy --all -c stage=prod` (tables are retained by their removal policy)."""
    env = _require_prod(confirm, "destroy")
    _run(
        "cdk destroy (prod)",
        [str(CDK), "destroy", "--all", "-c", "stage=prod"],
        env,
        verbose=verbose,
    )


def print_summary(summary: Summary) -> None:
    """The closing lines of `make deploy`."""
    print(f"\nLocal stack ready in {summary.seconds:.1f} s on {summary.endpoint} ({summary.cloud})")
    print("  tables:    " + ", ".join(f"{n} ({c} items)" for n, c in summary.tables.items()))
    print("  functions: " + ", ".join(summary.functions))
    print(f"  scan:      {sys.executable} -m scripts --endpoint {summary.endpoint} scan Users")
    print(f"  aws cli:   aws --endpoint-url {summary.endpoint} dynamodb list-tables")
    if summary.data_dir:
        print(
            f"  stop:      make down   (state is kept in {summary.data_dir}: `make up` brings "
            "it back; `make snapshot NAME=x`, `make restore NAME=x`, `make reset`)"
        )
    else:
        print(
            "  stop:      make down   (state is in memory: `make deploy` after `make up` "
            "redeploys and re-seeds)"
        )
