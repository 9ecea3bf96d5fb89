"""MiniStack, a free Docker-free LocalStack replacement, run from its own git-ignored venv.

MiniStack pins `botocore` exactly, and runs Python Lambdas with its own interpreter (they
import boto3 from its venv), so it gets a venv of its own, `.cache/ministack-venv/`, made
with the interpreter that runs the tests. `ensure_installed()` creates it (under a file lock,
so pytest-xdist workers do not race) and `MiniStack` starts the server in memory on a free
loopback port and waits until `/_localstack/health` answers as this exact version.
Every failure raises `MiniStackError` with the reason: a test that needs the peer must fail
loudly when it cannot have it, never skip.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from localcloud.engine import die_with_parent, free_port

VERSION = "1.5.33"
PACKAGE_PIN = f"ministack=={VERSION}"
BOTO3_VERSION = "1.43.106"  # the line of the `botocore==1.43.106` that ministack pins
BOTO3_PIN = f"boto3=={BOTO3_VERSION}"
REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_DIR = REPO_ROOT / ".cache" / "ministack-venv"
INSTALL_TIMEOUT_S = 600.0
START_TIMEOUT_S = 60.0
# Inherited by the server (and so by its Lambda workers); everything else, AWS_* above all,
# stays out so the host's settings cannot leak into the peer.
_KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
_VERSIONS_SCRIPT = (
    "import sys, importlib.metadata as m; "
    "print('%d.%d' % sys.version_info[:2], m.version('ministack'), m.version('boto3'))"
)


class MiniStackError(RuntimeError):
    """MiniStack could not be installed or started; the message says why."""


def _venv_python(venv_dir: Path) -> Path:
    return venv_dir / "bin" / "python"


def _is_installed(python: Path) -> bool:
    """Whether `python` is this interpreter's minor version with both pins installed."""
    if not python.exists():
        return False
    try:
        result = subprocess.run(
            [str(python), "-c", _VERSIONS_SCRIPT],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    wanted = f"{sys.version_info[0]}.{sys.version_info[1]} {VERSION} {BOTO3_VERSION}"
    return result.returncode == 0 and result.stdout.strip() == wanted


def _run(command: list[str], what: str, deadline: float) -> None:
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=max(1.0, deadline - time.monotonic()),
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise MiniStackError(f"{what} timed out after {INSTALL_TIMEOUT_S:.0f} s") from error
    except OSError as error:
        raise MiniStackError(f"{what} could not run: {error}") from error
    if result.returncode != 0:
        raise MiniStackError(
            f"{what} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}"
        )


def ensure_installed(venv_dir: Path = VENV_DIR) -> Path:
    """Create the venv with both pins in `venv_dir` if needed; return its python."""
    python = _venv_python(venv_dir)
    venv_dir.parent.mkdir(parents=True, exist_ok=True)
    # The lock sits beside the venv: `venv --clear` would delete one inside it.
    with open(venv_dir.with_name(venv_dir.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_installed(python):
            return python
        deadline = time.monotonic() + INSTALL_TIMEOUT_S
        _run(
            [sys.executable, "-m", "venv", "--clear", str(venv_dir)],
            f"`python -m venv {venv_dir}`",
            deadline,
        )
        _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                PACKAGE_PIN,
                BOTO3_PIN,
            ],
            f"`pip install {PACKAGE_PIN} {BOTO3_PIN}` into {venv_dir}",
            deadline,
        )
        if not _is_installed(python):
            raise MiniStackError(
                f"{venv_dir} still lacks {PACKAGE_PIN} {BOTO3_PIN} after pip install"
            )
    return python


def _health(port: int) -> dict[str, object] | None:
    """The health JSON on `port`, or None while nothing (or not JSON) answers there."""
    url = f"http://127.0.0.1:{port}/_localstack/health"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            payload = json.loads(response.read())
    except (OSError, ValueError):  # URLError, connection refused, timeouts, bad JSON
        return None
    return payload if isinstance(payload, dict) else None


class MiniStack:
    """One in-memory MiniStack server on a free loopback port; use as a context manager.

    It binds 127.0.0.1 only, keeps all state in memory, writes its pid file and Lambda code
    to a private temporary directory (removed by `stop()`), never talks to a Docker daemon,
    and leaves out the listeners (IoT mTLS, SFTP) that would bind every interface.
    """

    def __init__(
        self,
        python: Path | None = None,
        log_path: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._python = python
        self._log_path = log_path
        self._extra_env = dict(env or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._tmp_dir: Path | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        """The endpoint URL to give boto3 (`localhost`, which S3 virtual hosts need)."""
        if self._process is None:
            raise MiniStackError("MiniStack is not running")
        return f"http://localhost:{self.port}"

    def _environment(self, tmp_dir: Path) -> dict[str, str]:
        env = {name: os.environ[name] for name in _KEPT_ENV if name in os.environ}
        env.update(
            GATEWAY_PORT=str(self.port),
            BIND_HOST="127.0.0.1",
            PERSIST_STATE="0",
            S3_PERSIST="0",
            STATE_DIR=str(tmp_dir / "state"),
            S3_DATA_DIR=str(tmp_dir / "s3"),
            TMPDIR=str(tmp_dir),
            DOCKER_HOST=f"unix://{tmp_dir / 'no-docker.sock'}",
            IOT_MTLS_ENABLED="0",
            SFTP_ENABLED="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(self._extra_env)
        return env

    def start(self) -> str:
        """Start the server and wait for its health JSON; return the endpoint URL."""
        python = self._python or ensure_installed()
        last_error = "not started"
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = free_port()
            self._tmp_dir = Path(tempfile.mkdtemp(prefix="ministack-"))
            log = (
                open(self._log_path, "ab")  # noqa: SIM115 - closed once the child has it
                if self._log_path is not None
                else None
            )
            try:
                self._process = subprocess.Popen(
                    [str(python), "-m", "ministack"],
                    cwd=self._tmp_dir,
                    env=self._environment(self._tmp_dir),
                    start_new_session=True,
                    preexec_fn=die_with_parent if sys.platform == "linux" else None,
                    stdin=subprocess.DEVNULL,
                    stdout=log if log is not None else subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                )
            except OSError as error:
                self.stop()
                raise MiniStackError(f"cannot run {python}: {error}") from error
            finally:
                if log is not None:
                    log.close()
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                code = self._process.poll()
                if code is not None:
                    last_error = f"ministack exited with code {code} on port {self.port}"
                    break
                health = _health(self.port)
                if health is not None:
                    if health.get("version") == VERSION:
                        return self.endpoint
                    last_error = f"port {self.port} answers as something else: {health}"
                    break
                time.sleep(0.1)
            else:
                last_error = f"no answer on port {self.port} within {START_TIMEOUT_S:.0f} s"
            self.stop()
        raise MiniStackError(f"MiniStack did not start: {last_error}")

    def stop(self) -> None:
        """Terminate its process group (SIGKILL after 10 s) and remove its temporary files."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            # Lambda workers share the group; take any that outlived the server.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        tmp_dir, self._tmp_dir = self._tmp_dir, None
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)

    def __enter__(self) -> MiniStack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
