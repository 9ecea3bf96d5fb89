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

from localcloud.engine import die_with_parent, free_port, listens_on
from tests.support.tool_venv import ToolVenvError, ensure_venv

VERSION = "1.5.33"
BOTO3_VERSION = "1.43.106"  # the line of the `botocore==1.43.106` that ministack pins
REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_DIR = REPO_ROOT / ".cache" / "ministack-venv"
INSTALL_TIMEOUT_S = 600.0
START_TIMEOUT_S = 60.0
# Inherited by the server (and so by its Lambda workers); everything else, AWS_* above all,
# stays out so the host's settings cannot leak into the peer.
_KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


class MiniStackError(RuntimeError):
    """MiniStack could not be installed or started; the message says why."""


def ensure_installed(venv_dir: Path = VENV_DIR) -> Path:
    """Create the venv with both pins in `venv_dir` if needed; return its python."""
    try:
        return ensure_venv(
            venv_dir, {"ministack": VERSION, "boto3": BOTO3_VERSION}, INSTALL_TIMEOUT_S
        )
    except ToolVenvError as error:
        raise MiniStackError(str(error)) from error


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
                    if listens_on(self._process.pid, self.port) is False:
                        last_error = f"port {self.port} is held by another process"
                        break
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
