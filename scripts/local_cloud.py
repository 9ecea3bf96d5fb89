"""Start, stop and inspect the local cloud: our extended moto server, or whatever
AWS-compatible endpoint (LocalStack, a plain moto server) already answers on the port.

`make up` / `make down` / `make status` call `main()`. The server runs in the background with
its pid and log under `.local-cloud/` (git-ignored) and keeps all state in memory, so a
restart starts empty (`make deploy` redeploys and re-seeds).

    python -m scripts.local_cloud up [--port 4566]
    python -m scripts.local_cloud status [--json]
    python -m scripts.local_cloud down
    python -m scripts.local_cloud deploy [--stage local|prod --confirm prod] [--no-seed]
    python -m scripts.local_cloud destroy [--stage local|prod --confirm prod]

`deploy` (`make deploy`) is the one command: start the local cloud if needed, bootstrap and
deploy every stack with `cdklocal`, apply what moto ignores in templates (TTL, PITR), seed
the sample data and print a summary. It is idempotent. With `--stage prod` it deploys to
real AWS with the plain `cdk` CLI, and refuses without credentials and `--confirm prod`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 4566
DEFAULT_STATE_DIR = REPO_ROOT / ".local-cloud"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

LOCALCLOUD = "localcloud"
LOCALSTACK = "localstack"
MOTO = "moto"


class LocalCloudError(RuntimeError):
    """The local cloud could not be started, stopped or reached; the message says why."""


class PortInUseError(LocalCloudError):
    """Something that is not an AWS-compatible endpoint holds the port."""


@dataclass(frozen=True)
class Endpoint:
    """An AWS-compatible endpoint found on a port, and what it is."""

    kind: str  # LOCALCLOUD, LOCALSTACK or MOTO
    url: str
    detail: str  # version or edition, for people
    pid: int | None = None

    def describe(self) -> str:
        """One line for people: which cloud answers where."""
        names = {
            LOCALCLOUD: "local cloud (moto + localcloud extensions)",
            LOCALSTACK: "LocalStack",
            MOTO: "plain moto server (no Lambda runner, no CDK update fixes)",
        }
        return f"{names.get(self.kind, self.kind)} at {self.url} ({self.detail})"


@dataclass(frozen=True)
class Paths:
    """The pid and log files of a local cloud on one port."""

    state_dir: Path
    port: int

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"server-{self.port}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"server-{self.port}.log"


def endpoint_url(port: int) -> str:
    """`http://localhost:<port>`: moto reads the bucket of a TemplateURL from its host, so
    CDK's asset URLs fail with 127.0.0.1 ("The specified bucket does not exist")."""
    return f"http://localhost:{port}"


def _get_json(url: str, timeout: float) -> object | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            if response.status != 200:
                return None
            data: object = json.loads(response.read().decode() or "null")
            return data
    except (urllib.error.URLError, OSError, ValueError):
        return None


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether anything accepts TCP connections on the port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _local_cloud(url: str, timeout: float) -> Endpoint | None:
    ours = _get_json(f"{url}/_localcloud/health", timeout)
    if not (isinstance(ours, dict) and ours.get("service") == LOCALCLOUD):
        return None
    pid = ours.get("pid")
    return Endpoint(
        LOCALCLOUD,
        url,
        f"moto {ours.get('moto_version')}, {len(ours.get('extensions', []))} extensions",
        pid if isinstance(pid, int) else None,
    )


def detect(port: int, timeout: float = 2.0) -> Endpoint | None:
    """What AWS-compatible endpoint answers on `port`, or `None` when none does.

    Raises `PortInUseError` when the port is open but speaks none of the three.
    """
    if not port_open(port):
        return None
    url = endpoint_url(port)
    ours = _local_cloud(url, timeout)
    if ours is not None:
        return ours
    localstack = _get_json(f"{url}/_localstack/health", timeout)
    if isinstance(localstack, dict) and "services" in localstack:
        edition = localstack.get("edition", "unknown edition")
        return Endpoint(LOCALSTACK, url, f"{edition} {localstack.get('version', '')}".strip())
    moto = _get_json(f"{url}/moto-api/data.json", timeout)
    if isinstance(moto, dict):
        # Our server is moto too: a busy one may have missed the first health check.
        return _local_cloud(url, timeout * 3) or Endpoint(MOTO, url, "moto-api answered")
    raise PortInUseError(
        f"port {port} is in use by something that is not an AWS-compatible endpoint "
        "(no /_localcloud/health, /_localstack/health or /moto-api/); free it or choose "
        "another port with PORT=<n>"
    )


def _read_pid(paths: Paths) -> int | None:
    try:
        return int(paths.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _log_tail(paths: Paths, lines: int = 20) -> str:
    try:
        return "\n".join(paths.log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def start(
    port: int = DEFAULT_PORT,
    state_dir: Path = DEFAULT_STATE_DIR,
    *,
    timeout: float = START_TIMEOUT_S,
) -> tuple[Endpoint, bool]:
    """Ensure a local cloud answers on `port`; return it and whether we started it now."""
    existing = detect(port)
    if existing is not None:
        return existing, False
    paths = Paths(state_dir, port)
    state_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "LOCALCLOUD_STATE_DIR": str(state_dir),
            "LOCALCLOUD_PORT": str(port),
            "MOTO_PORT": str(port),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
            ),
        }
    )
    # A user's endpoint variables must not point the server's own clients elsewhere.
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        env.pop(name, None)
    with paths.log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,
        )
    paths.pid_file.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            paths.pid_file.unlink(missing_ok=True)
            raise LocalCloudError(
                f"the local cloud exited with status {process.returncode} while starting; "
                f"last lines of {paths.log_file}:\n{_log_tail(paths)}"
            )
        found = detect(port, timeout=1.0)
        if found is not None and found.kind == LOCALCLOUD and found.pid == process.pid:
            return found, True
        time.sleep(0.1)
    _terminate(process.pid)
    paths.pid_file.unlink(missing_ok=True)
    raise LocalCloudError(
        f"the local cloud did not answer on port {port} within {timeout:.0f}s; "
        f"last lines of {paths.log_file}:\n{_log_tail(paths)}"
    )


def _terminate(pid: int, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the server's process group (its Lambda workers too), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                waited, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                waited = 0
            if waited == pid or not _alive(pid):
                return
            time.sleep(0.05)


def stop(port: int = DEFAULT_PORT, state_dir: Path = DEFAULT_STATE_DIR) -> str:
    """Stop the local cloud we started on `port`; never someone else's endpoint."""
    paths = Paths(state_dir, port)
    pid = _read_pid(paths)
    if pid is None or not _alive(pid):
        paths.pid_file.unlink(missing_ok=True)
        try:
            other = detect(port)
        except PortInUseError:
            other = None
        if other is not None:
            return f"not ours, left running: {other.describe()}"
        return f"no local cloud running on port {port}"
    try:
        found = detect(port)
    except PortInUseError:
        found = None
    if found is not None and found.kind == LOCALCLOUD and found.pid not in (None, pid):
        raise LocalCloudError(
            f"{paths.pid_file} names pid {pid} but the local cloud on port {port} is pid "
            f"{found.pid}; not stopping anything"
        )
    _terminate(pid)
    paths.pid_file.unlink(missing_ok=True)
    return f"stopped the local cloud on port {port} (pid {pid}); its in-memory state is gone"


def status(port: int = DEFAULT_PORT) -> Endpoint | None:
    """The endpoint answering on `port`, if any."""
    return detect(port)


# ------------------------------------------------------------------------------ deploy

CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"
CDKLOCAL = REPO_ROOT / "node_modules" / ".bin" / "cdklocal"
CDK_OUT = REPO_ROOT / "cdk.out"
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
# The CDK CLI's Node banners are noise; its cache stays in the repo (a cached account from
# elsewhere must not leak into a local deploy).
CLI_ENVIRONMENT = {
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1",
    "NODE_NO_WARNINGS": "1",
    "CDK_HOME": str(REPO_ROOT / ".cdk-home"),
    # Offline and private: no telemetry, no notices fetched from the internet.
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}


class DeployError(LocalCloudError):
    """A deploy step failed; the message names the step and the cause."""


class Progress:
    """One line per step: `==> [2/6] deploy the stacks`."""

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


def local_environment(port: int, region: str) -> dict[str, str]:
    """Environment for the CDK CLI and the seed against the local cloud on `port`.

    Fake credentials always: a user's real profile must never be used for a local deploy.
    Both endpoint variables are needed by `cdklocal` offline, and both must be `localhost`.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    url = endpoint_url(port)
    env.update(CLI_ENVIRONMENT)
    env.update(
        {
            "AWS_ENDPOINT_URL": url,
            "AWS_ENDPOINT_URL_S3": url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
        }
    )
    return env


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


def apply_table_settings(port: int, stage: str = "local") -> list[str]:
    """Apply the TTL and PITR the stage declares; moto ignores both in templates.

    Returns what changed (empty when everything was already in place): idempotent.
    """
    from botocore.exceptions import ClientError

    from stacks.config import stage_config

    config = stage_config(stage)
    dynamodb = _client("dynamodb", port, config.region)
    changed: list[str] = []
    for spec in config.tables:
        if spec.ttl_attribute:
            current = dynamodb.describe_time_to_live(TableName=spec.table_name)[
                "TimeToLiveDescription"
            ]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or (
                current.get("AttributeName") != spec.ttl_attribute
            ):
                dynamodb.update_time_to_live(
                    TableName=spec.table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
                )
                changed.append(f"TTL on {spec.table_name}.{spec.ttl_attribute}")
        if config.point_in_time_recovery:
            try:
                backups = dynamodb.describe_continuous_backups(TableName=spec.table_name)
            except ClientError as error:
                raise DeployError(f"cannot read PITR of {spec.table_name}: {error}") from error
            status = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
            if status["PointInTimeRecoveryStatus"] != "ENABLED":
                dynamodb.update_continuous_backups(
                    TableName=spec.table_name,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                )
                changed.append(f"PITR on {spec.table_name}")
    return changed


@dataclass(frozen=True)
class Summary:
    """What `deploy` leaves behind, for the closing summary and `--json`."""

    endpoint: str
    cloud: str
    tables: dict[str, int]
    functions: list[str]
    seconds: float


def summarize(port: int, stage: str, endpoint: Endpoint, started_at: float) -> Summary:
    """Item counts of the stage's tables and the stage's functions, as deployed."""
    from stacks.config import stage_config

    config = stage_config(stage)
    dynamodb = _client("dynamodb", port, config.region)
    counts: dict[str, int] = {}
    for spec in config.tables:
        paginator = dynamodb.get_paginator("scan")
        counts[spec.table_name] = sum(
            page["Count"] for page in paginator.paginate(TableName=spec.table_name, Select="COUNT")
        )
    names = config.functions
    wanted = {names.user_manager, names.message_stream, names.tasks}
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
    )


def _print_summary(summary: Summary, port: int) -> None:
    print(f"\nLocal stack ready in {summary.seconds:.1f} s on {summary.endpoint} ({summary.cloud})")
    print("  tables:    " + ", ".join(f"{n} ({c} items)" for n, c in summary.tables.items()))
    print("  functions: " + ", ".join(summary.functions))
    print(f"  scan:      {sys.executable} -m scripts --endpoint {summary.endpoint} scan Users")
    print(f"  aws cli:   aws --endpoint-url {summary.endpoint} dynamodb list-tables")
    print(
        "  stop:      make down   (state is in memory: `make deploy` after `make up` "
        "redeploys and re-seeds)"
    )


def deploy_local(
    port: int = DEFAULT_PORT,
    state_dir: Path = DEFAULT_STATE_DIR,
    *,
    seed: bool = True,
    verbose: bool = False,
    quiet: bool = False,
    app_dir: Path = REPO_ROOT,
    app: str | None = None,
) -> Summary:
    """The one-command local deploy; idempotent. Returns what was deployed.

    `app_dir` (with its `cdk.json`) and `app` (a `--app` command) let tests deploy a
    modified copy of the app through exactly this path.
    """
    from stacks.config import stage_config

    started_at = time.monotonic()
    config = stage_config("local")
    progress = Progress(6 if seed else 5, quiet=quiet)
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
    env = local_environment(port, config.region)
    # Our own cloud assembly directory: `cdk.out/` may be in use by a synth or the tests.
    app_args = ["-c", "stage=local", "--output", str(state_dir / f"cdk.out-{port}"), "--no-notices"]
    if app is not None:
        app_args += ["--app", app]

    progress.step("cdklocal bootstrap")
    if _bootstrapped(port, config.region):
        progress.note("already bootstrapped")
    else:
        _run(
            "cdklocal bootstrap",
            [str(CDKLOCAL), "bootstrap", *app_args],
            env,
            verbose=verbose,
            cwd=app_dir,
        )

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

    progress.step("table settings moto ignores in templates (TTL, PITR)")
    changed = apply_table_settings(port, "local")
    progress.note(", ".join(changed) if changed else "already in place")

    if seed:
        progress.step("seed the sample data")
        _run(
            "seed",
            [
                sys.executable,
                "-m",
                "scripts",
                "--stage",
                "local",
                "--endpoint",
                endpoint.url,
                "seed",
            ],
            env,
            verbose=verbose,
        )

    progress.step("summary")
    return summarize(port, "local", endpoint, started_at)


def destroy_local(
    port: int = DEFAULT_PORT, state_dir: Path = DEFAULT_STATE_DIR, *, verbose: bool = False
) -> str:
    """`cdklocal destroy --all` on the local cloud; the cloud itself keeps running."""
    from stacks.config import stage_config

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
        local_environment(port, config.region),
        verbose=verbose,
    )
    return f"destroyed the {config.stack_prefix} stacks on {found.describe()}"


def _prod_environment() -> dict[str, str]:
    """The user's real AWS environment, minus any local endpoint override."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(CLI_ENVIRONMENT)
    return env


def _require_prod(confirm: str | None, action: str) -> dict[str, str]:
    """Refuse prod without `--confirm prod` and working credentials."""
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


def main(argv: list[str] | None = None) -> int:
    """CLI: `up`, `down`, `status`, `deploy`, `destroy` (`--json` for machines)."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.local_cloud",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=("up", "down", "status", "deploy", "destroy"))
    parser.add_argument("--stage", choices=("local", "prod"), default="local")
    parser.add_argument("--confirm", help="must be `prod` to deploy or destroy prod")
    parser.add_argument("--no-seed", action="store_true", help="deploy without seeding")
    parser.add_argument("--verbose", action="store_true", help="show the CDK CLI's output")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("LOCAL_CLOUD_PORT", DEFAULT_PORT))
    )
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    try:
        if args.command in ("deploy", "destroy") and args.stage == "prod":
            if args.command == "deploy":
                deploy_prod(args.confirm)
            else:
                destroy_prod(args.confirm)
            return 0
        if args.command == "deploy":
            summary = deploy_local(
                args.port,
                args.state_dir,
                seed=not args.no_seed,
                verbose=args.verbose,
                quiet=args.json,
            )
            if args.json:
                print(json.dumps(asdict(summary)))
            else:
                _print_summary(summary, args.port)
            return 0
        if args.command == "destroy":
            print(f"==> {destroy_local(args.port, args.state_dir, verbose=args.verbose)}")
            return 0
        if args.command == "up":
            endpoint, started = start(args.port, args.state_dir)
            if args.json:
                print(json.dumps({**asdict(endpoint), "started": started}))
            elif started:
                print(f"==> started {endpoint.describe()}")
                print(f"    log: {Paths(args.state_dir, args.port).log_file}")
            else:
                print(f"==> using the {endpoint.describe()} already running")
            return 0
        if args.command == "down":
            message = stop(args.port, args.state_dir)
            print(json.dumps({"message": message}) if args.json else f"==> {message}")
            return 0
        found = status(args.port)
        if args.json:
            print(json.dumps(asdict(found) if found else None))
        else:
            print(f"==> {found.describe()}" if found else f"==> nothing on port {args.port}")
        return 0 if found else 1
    except LocalCloudError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
