"""Start, stop and identify the local cloud, or whichever AWS-compatible endpoint already
answers on the port: LocalStack, MiniStack, a plain moto server, or our own server.

    python -m localcloud up [--port 4566] [--json]
    python -m localcloud status [--port 4566] [--json]
    python -m localcloud down [--port 4566]
    python -m localcloud serve [--port 4566]      # the server in the foreground
    python -m localcloud snapshot NAME | restore NAME | reset | snapshots
    python -m localcloud ttl-expire [--port 4566] [--json]   # expire TTL'd items now
    python -m localcloud iam-report [--port 4566] [--json]   # what each function used

`up` keeps the cloud's state (tables, stacks, functions, queues...) in `.local-cloud/state/`
across restarts unless `LOCALCLOUD_PERSIST=0`. `snapshot NAME` copies that state to
`.local-cloud/snapshots/NAME/` (a folder a teammate can copy), `restore NAME` puts one back
and `reset` wipes it; each stops a running cloud first and starts it again after.

`up` starts `python -m localcloud serve` in the background (its own process group, with the
DynamoDB Local engine and the Lambda workers under it) with its pid and log under the state
directory (`.local-cloud/server-<port>.pid|.log`, git-ignored). Starting and stopping take a
lock per port, so two `make deploy` at once cannot start two servers. `down` stops only a
server it can prove is ours: the pid file's process must be `localcloud serve` on that port
and must be the pid the server reports; anything else is left alone.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from localcloud import state, ttl
from localcloud.server import HEALTH_PATH as HEALTH_PATH
from localcloud.server import SERVICE_NAME
from localcloud.settings import DEFAULT_PORT

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / ".local-cloud"
START_TIMEOUT_S = 90.0
# A persisting server writes its last snapshot after its stream batches end (<= 5 s).
STOP_TIMEOUT_S = 20.0

LOCALCLOUD = "localcloud"
LOCALSTACK = "localstack"
MINISTACK = "ministack"
MOTO = "moto"

NAMES = {
    LOCALCLOUD: "local cloud (DynamoDB Local + moto + localcloud extensions)",
    LOCALSTACK: "LocalStack",
    MINISTACK: "MiniStack",
    MOTO: "plain moto server (no Lambda runner, no CDK update fixes)",
}


class LocalCloudError(RuntimeError):
    """The local cloud could not be started, stopped or reached; the message says why."""


class PortInUseError(LocalCloudError):
    """Something that is not an AWS-compatible endpoint holds the port."""


@dataclass(frozen=True)
class Endpoint:
    """An AWS-compatible endpoint found on a port, and what it is."""

    kind: str  # LOCALCLOUD, LOCALSTACK, MINISTACK or MOTO
    url: str
    detail: str  # version or edition, for people
    pid: int | None = None
    # Our server's data directory when it persists its state; None when in memory.
    data_dir: str | None = None

    def describe(self) -> str:
        """One line for people: which cloud answers where."""
        return f"{NAMES.get(self.kind, self.kind)} at {self.url} ({self.detail})"


@dataclass(frozen=True)
class Paths:
    """The pid, log and lock files of a local cloud on one port."""

    state_dir: Path
    port: int

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"server-{self.port}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"server-{self.port}.log"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / f"server-{self.port}.lock"

    @property
    def data_dir(self) -> Path:
        """Where a persisting server keeps its state (`LOCALCLOUD_DATA_DIR` overrides)."""
        configured = os.environ.get("LOCALCLOUD_DATA_DIR")
        return Path(configured) if configured else self.state_dir / "state"

    @property
    def snapshots_dir(self) -> Path:
        return self.state_dir / "snapshots"


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


# A cheap moto-api read that touches no state: `/moto-api/data.json` serializes every model
# moto tracks in the server's process, and fails (HTTP 500) when one does not serialize.
MOTO_PROBE_PATH = "/moto-api/state-manager/get-transition?model_name=localcloud.probe"


def moto_api_answers(url: str, timeout: float = 2.0) -> bool:
    """Whether the server at `url` is moto: it answers moto's own control API."""
    reply = _get_json(f"{url}{MOTO_PROBE_PATH}", timeout)
    return isinstance(reply, dict) and "progression" in reply


def _local_cloud(url: str, timeout: float) -> Endpoint | None:
    ours = _get_json(f"{url}{HEALTH_PATH}", timeout)
    if not (isinstance(ours, dict) and ours.get("service") == SERVICE_NAME):
        return None
    pid = ours.get("pid")
    engine = ours.get("dynamodb")
    engine = engine if isinstance(engine, dict) else {}
    persistence = ours.get("persistence")
    data_dir = persistence.get("dir") if isinstance(persistence, dict) else None
    detail = (
        f"DynamoDB Local pid {engine.get('pid')}, moto {ours.get('moto_version')}, "
        f"{len(ours.get('extensions', []))} extensions, "
        + (f"state kept in {data_dir}" if data_dir else "state in memory")
    )
    return Endpoint(
        LOCALCLOUD,
        url,
        detail,
        pid if isinstance(pid, int) else None,
        data_dir if isinstance(data_dir, str) else None,
    )


def detect(port: int, timeout: float = 2.0) -> Endpoint | None:
    """What AWS-compatible endpoint answers on `port`, or `None` when none does.

    MiniStack also answers LocalStack's health path (with `"edition": "light"`), so its own
    `/_ministack/health` is asked first. Raises `PortInUseError` when the port is open but
    speaks none of these.
    """
    if not port_open(port):
        return None
    url = endpoint_url(port)
    ours = _local_cloud(url, timeout)
    if ours is not None:
        return ours
    ministack = _get_json(f"{url}/_ministack/health", timeout)
    if isinstance(ministack, dict) and "services" in ministack:
        return Endpoint(MINISTACK, url, f"MiniStack {ministack.get('version', '')}".strip())
    localstack = _get_json(f"{url}/_localstack/health", timeout)
    if isinstance(localstack, dict) and "services" in localstack:
        edition = localstack.get("edition", "unknown edition")
        return Endpoint(LOCALSTACK, url, f"{edition} {localstack.get('version', '')}".strip())
    if moto_api_answers(url, timeout):
        # Our server is moto too: a busy one may have missed the first health check.
        return _local_cloud(url, timeout * 3) or Endpoint(MOTO, url, "moto-api answered")
    raise PortInUseError(
        f"port {port} is in use by something that is not an AWS-compatible endpoint "
        f"(no {HEALTH_PATH}, /_ministack/health, /_localstack/health or /moto-api/); free it "
        "or choose another port with LOCAL_CLOUD_PORT=<n>"
    )


@contextmanager
def port_lock(paths: Paths, *, wait_s: float = START_TIMEOUT_S) -> Iterator[None]:
    """Hold the port's lock; a second starter waits for the first, then refuses."""
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    with open(paths.lock_file, "w") as lock:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LocalCloudError(
                        f"another process is starting or stopping the local cloud on port "
                        f"{paths.port} ({paths.lock_file}); try again when it is done"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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


def is_our_server(pid: int, port: int) -> bool:
    """Whether `pid` runs `localcloud serve` on `port` (never a reused pid's process)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [word.decode(errors="replace") for word in argv if word]
    return (
        "localcloud" in words
        and "serve" in words
        and "--port" in words
        and words[words.index("--port") + 1 : words.index("--port") + 2] == [str(port)]
    )


def _log_tail(paths: Paths, lines: int = 20) -> str:
    try:
        return "\n".join(paths.log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def persist_by_default() -> bool:
    """`LOCALCLOUD_PERSIST` (1 or 0) when set, else on: a user's cloud keeps its state."""
    value = os.environ.get("LOCALCLOUD_PERSIST", "").strip()
    if value not in ("", "0", "1"):
        raise LocalCloudError(f"LOCALCLOUD_PERSIST must be 1 or 0, got {value!r}")
    return value != "0"


def start(
    port: int = DEFAULT_PORT,
    state_dir: Path = DEFAULT_STATE_DIR,
    *,
    timeout: float = START_TIMEOUT_S,
    persist: bool | None = None,
) -> tuple[Endpoint, bool]:
    """Ensure a local cloud answers on `port`; return it and whether we started it now.

    A server started here keeps its state under the data directory when `persist` (default:
    `persist_by_default()`), else in memory.
    """
    paths = Paths(state_dir, port)
    with port_lock(paths):
        existing = detect(port)
        if existing is not None:
            return existing, False
        keep = persist_by_default() if persist is None else persist
        return _spawn(paths, timeout, keep), True


def _spawn(paths: Paths, timeout: float, persist: bool) -> Endpoint:
    port = paths.port
    env = dict(os.environ)
    env.update(
        {
            "LOCALCLOUD_STATE_DIR": str(paths.state_dir),
            "LOCALCLOUD_PERSIST": "1" if persist else "0",
            "LOCALCLOUD_DATA_DIR": str(paths.data_dir),
            "LOCALCLOUD_PORT": str(port),
            "MOTO_PORT": str(port),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
            ),
        }
    )
    # A user's endpoint variables must not point the server's own clients elsewhere.
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB"):
        env.pop(name, None)
    with paths.log_file.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localcloud",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
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
        try:
            found = detect(port, timeout=1.0)
        except PortInUseError:
            found = None  # the server binds before its health route answers
        if found is not None and found.kind == LOCALCLOUD and found.pid == process.pid:
            return found
        time.sleep(0.1)
    _terminate(process.pid)
    paths.pid_file.unlink(missing_ok=True)
    raise LocalCloudError(
        f"the local cloud did not answer on port {port} within {timeout:.0f}s; "
        f"last lines of {paths.log_file}:\n{_log_tail(paths)}"
    )


def _terminate(pid: int, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the server's process group (engine and Lambda workers too), then SIGKILL."""
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
                break
            time.sleep(0.05)
        else:
            continue
        # The leader is gone; give the rest of its group a moment, then make sure.
        time.sleep(0.1)
        with suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        return


def stop(port: int = DEFAULT_PORT, state_dir: Path = DEFAULT_STATE_DIR) -> str:
    """Stop the local cloud we started on `port`; never someone else's process.

    SIGTERM lets a persisting server write its last snapshot before it exits.
    """
    paths = Paths(state_dir, port)
    with port_lock(paths):
        pid = _read_pid(paths)
        if pid is not None and not (_alive(pid) and is_our_server(pid, port)):
            # Stale: the server died, or the pid now belongs to another program.
            paths.pid_file.unlink(missing_ok=True)
            pid = None
        try:
            found = detect(port)
        except PortInUseError:
            found = None
        if pid is None:
            if found is not None:
                return f"not ours, left running: {found.describe()}"
            return f"no local cloud running on port {port}"
        if found is not None and found.kind == LOCALCLOUD and found.pid not in (None, pid):
            raise LocalCloudError(
                f"{paths.pid_file} names pid {pid} but the local cloud on port {port} is pid "
                f"{found.pid}; not stopping anything"
            )
        _terminate(pid)
        paths.pid_file.unlink(missing_ok=True)
        kept = found.data_dir if found is not None else None
        after = f"its state is kept in {kept}" if kept else "its in-memory state is gone"
        return f"stopped the local cloud on port {port} (pid {pid}); {after}"


# -- named snapshots of the persisted state ------------------------------------------------
@contextmanager
def _stopped(paths: Paths) -> Iterator[None]:
    """Stop our persisting server on the port for the body; start it again after."""
    try:
        found = detect(paths.port)
    except PortInUseError:
        found = None
    running = found is not None and found.kind == LOCALCLOUD
    if running and found is not None and found.data_dir is None:
        raise LocalCloudError(
            f"the local cloud on port {paths.port} keeps its state in memory "
            "(LOCALCLOUD_PERSIST=0); nothing on disk to snapshot, restore or reset"
        )
    if running:
        message = stop(paths.port, paths.state_dir)
        if not message.startswith("stopped"):
            raise LocalCloudError(f"cannot stop the cloud on port {paths.port}: {message}")
    yield
    if running:
        start(paths.port, paths.state_dir, persist=True)


def save_snapshot(name: str, port: int, state_dir: Path) -> Path:
    """Copy the persisted state to `snapshots/NAME/`; a running cloud is stopped meanwhile."""
    paths = Paths(state_dir, port)
    target = paths.snapshots_dir / state.check_snapshot_name(name)
    if target.exists():
        raise LocalCloudError(f"snapshot {name!r} already exists ({target}); pick another name")
    with _stopped(paths):
        state.copy_state(paths.data_dir, target)
    return target


def restore_snapshot(name: str, port: int, state_dir: Path) -> Path:
    """Replace the persisted state with `snapshots/NAME/`; the old state is removed."""
    paths = Paths(state_dir, port)
    source = paths.snapshots_dir / state.check_snapshot_name(name)
    if not source.is_dir():
        raise LocalCloudError(f"no snapshot {name!r} in {paths.snapshots_dir}")
    state.check_format(source)
    with _stopped(paths):
        state.replace_state(source, paths.data_dir)
    return source


def reset_state(port: int, state_dir: Path) -> Path:
    """Wipe the persisted state (tables, stacks, functions...); snapshots are kept."""
    paths = Paths(state_dir, port)
    with _stopped(paths):
        state.wipe(paths.data_dir)
    return paths.data_dir


def render_iam_report(report: dict[str, object]) -> str:
    """`iam-report` for people: per function, its role, what was denied, what went unused."""
    lines = [f"IAM mode: {report.get('mode')}"]
    functions = report.get("functions")
    if not isinstance(functions, dict) or not functions:
        return "\n".join([*lines, "(no function has called DynamoDB yet)"])
    for name, usage in sorted(functions.items()):
        lines.append(f"\n{name}  (role {usage['role']})")
        for use in usage["used"]:
            verdict = f"DENIED x{use['denied']}" if use["denied"] else "allowed"
            lines.append(
                f"  {verdict:<12} {use['action']} on {use['resource']} ({use['allowed']} allowed)"
            )
        if usage["unused"]:
            lines.append("  granted, never used: " + ", ".join(usage["unused"]))
        if usage["unsupported"]:
            lines.append("  not checked: " + "; ".join(usage["unsupported"]))
    return "\n".join(lines)


def list_snapshots(state_dir: Path) -> list[str]:
    """The names of the saved snapshots."""
    folder = Paths(state_dir, 0).snapshots_dir
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def status(port: int = DEFAULT_PORT) -> Endpoint | None:
    """The endpoint answering on `port`, if any."""
    return detect(port)


def main(argv: list[str] | None = None) -> int:
    """`up`, `down`, `status` (`--json` for machines); `serve` runs the server itself."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from localcloud import server

        server.main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m localcloud",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command",
        choices=(
            "up",
            "down",
            "status",
            "serve",
            "snapshot",
            "restore",
            "reset",
            "snapshots",
            "ttl-expire",
            "iam-report",
        ),
    )
    parser.add_argument("name", nargs="?", help="the snapshot's name (snapshot, restore)")
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
        if args.command in ("snapshot", "restore"):
            if not args.name:
                raise LocalCloudError(f"{args.command} needs a snapshot name")
            if args.command == "snapshot":
                where = save_snapshot(args.name, args.port, args.state_dir)
                print(f"==> saved snapshot {args.name!r} in {where}")
            else:
                restore_snapshot(args.name, args.port, args.state_dir)
                print(f"==> restored snapshot {args.name!r}")
            return 0
        if args.command == "reset":
            wiped = reset_state(args.port, args.state_dir)
            print(f"==> wiped the local cloud's state in {wiped}")
            return 0
        if args.command == "snapshots":
            names = list_snapshots(args.state_dir)
            print(json.dumps(names) if args.json else "\n".join(names) or "(no snapshots)")
            return 0
        if args.command == "iam-report":
            report = _get_json(f"{endpoint_url(args.port)}/_localcloud/iam/report", 10.0)
            if not isinstance(report, dict):
                raise LocalCloudError(f"no local cloud of ours answers on port {args.port}")
            print(json.dumps(report, indent=2) if args.json else render_iam_report(report))
            return 0
        if args.command == "ttl-expire":
            answer = ttl.expire_now(args.port)
            if args.json:
                print(json.dumps(answer))
                return 0
            print(f"==> expired {answer['expired']} items in {answer['duration_s']} s")
            for name, table in answer["tables"].items():
                print(
                    f"    {name} ({table['attribute']}): {table['expired']} of {table['scanned']}"
                )
            return 0
        found = status(args.port)
        if args.json:
            print(json.dumps(asdict(found) if found else None))
        else:
            print(f"==> {found.describe()}" if found else f"==> nothing on port {args.port}")
        return 0 if found else 1
    except (LocalCloudError, state.StateError, ttl.ExpireRequestError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
