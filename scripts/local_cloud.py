"""Start, stop and inspect the local cloud: our extended moto server, or whatever
AWS-compatible endpoint (LocalStack, a plain moto server) already answers on the port.

`make up` / `make down` / `make status` call `main()`. The server runs in the background with
its pid and log under `.local-cloud/` (git-ignored) and keeps all state in memory, so a
restart starts empty (`make deploy` redeploys and re-seeds).

    python -m scripts.local_cloud up [--port 4566]
    python -m scripts.local_cloud status [--json]
    python -m scripts.local_cloud down
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


def detect(port: int, timeout: float = 2.0) -> Endpoint | None:
    """What AWS-compatible endpoint answers on `port`, or `None` when none does.

    Raises `PortInUseError` when the port is open but speaks none of the three.
    """
    if not port_open(port):
        return None
    url = endpoint_url(port)
    ours = _get_json(f"{url}/_localcloud/health", timeout)
    if isinstance(ours, dict) and ours.get("service") == LOCALCLOUD:
        pid = ours.get("pid")
        return Endpoint(
            LOCALCLOUD,
            url,
            f"moto {ours.get('moto_version')}, {len(ours.get('extensions', []))} extensions",
            pid if isinstance(pid, int) else None,
        )
    localstack = _get_json(f"{url}/_localstack/health", timeout)
    if isinstance(localstack, dict) and "services" in localstack:
        edition = localstack.get("edition", "unknown edition")
        return Endpoint(LOCALSTACK, url, f"{edition} {localstack.get('version', '')}".strip())
    moto = _get_json(f"{url}/moto-api/data.json", timeout)
    if isinstance(moto, dict):
        return Endpoint(MOTO, url, "moto-api answered")
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


def main(argv: list[str] | None = None) -> int:
    """CLI: `up`, `down`, `status` (`--json` for machines)."""
    parser = argparse.ArgumentParser(prog="python -m scripts.local_cloud", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("LOCAL_CLOUD_PORT", DEFAULT_PORT))
    )
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    try:
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
