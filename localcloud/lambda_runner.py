"""Run Python and Node.js Lambdas without Docker: warm worker processes per function version.

Replaces `moto.awslambda.models.LambdaFunction._invoke_lambda` (and `invoke`, for the
invocation types, Lambda's error header and payload limits; and moto's Invoke handler, whose
response limit is not Lambda's). For each function version and code/config
fingerprint there is one `FunctionPool`: the deployed zip (`code_bytes`) is unpacked once,
and each worker (`localcloud/lambda_worker.py`, or `lambda_worker_node.mjs` for a Node.js
runtime, on the node `lambda_runtimes` picks) imports the handler once and serves many
invocations, like a warm Lambda container. A runtime it cannot run is refused at
`CreateFunction` (and at a runtime change), never run as another language. Concurrent
invocations get more workers, up to the function's reserved concurrency or the configured
cap; a worker that crashes or times out is killed and replaced on demand; the pool of a
replaced version (new code or config) is stopped. Output and log records go to moto's
CloudWatch Logs (`/aws/lambda/<name>`). A function tagged for hot reload
(`localcloud/hot_reload.py`) imports from its working-tree folder first and its zip after;
an edit there recycles the pool's workers.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import selectors
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.core.common_types import TYPE_RESPONSE
from moto.utilities.aws_headers import amz_crc32

from localcloud import hot_reload, iam, lambda_runtimes
from localcloud.patches import Patch, PatchSet
from localcloud.settings import Settings

log = logging.getLogger("localcloud.lambda")

WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
NODE_WORKER_SCRIPT = Path(__file__).with_name("lambda_worker_node.mjs")
INIT_TIMEOUT_S = 30.0
LOG_TAIL_BYTES = 4096
# Lambda's Invoke quotas: any request body; the payload of `InvocationType=Event`; a response
# (6 MiB and the 100 bytes the runtime interface allows over it).
MAX_REQUEST_BYTES = 6 * 1024 * 1024
MAX_EVENT_PAYLOAD_BYTES = 1024 * 1024
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
RESPONSE_TOO_LARGE = {
    "errorMessage": "Response payload size exceeded maximum allowed payload size "
    f"({MAX_RESPONSE_BYTES} bytes).",
    "errorType": "Function.ResponseSizeTooLarge",
}


class TooManyRequestsException(LambdaClientError):
    """Every worker allowed by the function's concurrency is busy (HTTP 429)."""

    def __init__(self, message: str) -> None:
        super().__init__("TooManyRequestsException", message)
        self.code = 429


class UserError(LambdaClientError):
    """A request Lambda refuses as the caller's fault, with its body `{"Type": "User", ...}`."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(error_type, message)
        self.code = status
        self.description = json.dumps({"Type": "User", "message": message})


class PoolClosed(Exception):
    """The pool was retired (new code or configuration) while a call waited for it."""


class WorkerTimeout(Exception):
    """The worker did not answer before the deadline."""


class WorkerCrashed(Exception):
    """The worker process exited; `returncode` says how."""

    def __init__(self, returncode: int | None) -> None:
        super().__init__(f"worker exited with {returncode}")
        self.returncode = returncode


@dataclass
class Outcome:
    """One invocation's result, Lambda-shaped."""

    payload: bytes
    function_error: bool
    logs: str
    request_id: str
    duration_ms: float


class Worker:
    """One warm process serving one function version's handler.

    `generation` is its pool's generation when it started: a recycled pool (new source)
    does not take it back.
    """

    def __init__(
        self,
        code_dir: Path,
        handler: str,
        env: dict[str, str],
        *,
        source_folder: Path | None,
        generation: int,
        runtime: lambda_runtimes.Runtime = lambda_runtimes.PYTHON_RUNTIME,
    ) -> None:
        if runtime.language == lambda_runtimes.NODE:
            assert runtime.node is not None
            command = [str(runtime.node), str(NODE_WORKER_SCRIPT), str(code_dir), handler]
        else:
            command = [sys.executable, "-I", str(WORKER_SCRIPT), str(code_dir), handler]
        if source_folder is not None:
            command.append(str(source_folder))
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # stray writes to fd 1/2 land in the server log
            cwd=source_folder or code_dir,
            env=env,
        )
        self.generation = generation
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin = self.process.stdin
        self._fd = self.process.stdout.fileno()
        self._buffer = b""
        self.invocations = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def read_message(self, timeout: float) -> dict[str, Any]:
        """The next protocol line, or `WorkerTimeout` / `WorkerCrashed`."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WorkerTimeout()
                if not selector.select(remaining):
                    continue
                chunk = os.read(self._fd, 1 << 16)
                if not chunk:
                    raise WorkerCrashed(self.process.wait())
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def send(self, message: dict[str, Any]) -> None:
        try:
            self._stdin.write(json.dumps(message).encode() + b"\n")
            self._stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerCrashed(self.process.poll()) from None

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Stop the process now (a timed-out or retired worker)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@dataclass
class FunctionPool:
    """The warm workers of one function version with one code and configuration."""

    key: tuple[str, str]
    fingerprint: str
    code_dir: Path
    handler: str
    env: dict[str, str]
    timeout_s: float
    cap: int
    runtime: lambda_runtimes.Runtime = lambda_runtimes.PYTHON_RUNTIME
    # Hot reload: the working-tree folder imported first, and its files when workers started.
    source_folder: Path | None = None
    source_stamp: hot_reload.Stamp = frozenset()
    # Written into each worker's init logs: why a function marked for hot reload runs its zip.
    notice: str = ""
    generation: int = 0
    idle: list[Worker] = field(default_factory=list)
    busy: int = 0
    closed: bool = False
    condition: threading.Condition = field(default_factory=threading.Condition)

    @property
    def size(self) -> int:
        return len(self.idle) + self.busy

    def acquire(self, wait_s: float) -> tuple[Worker | None, bool]:
        """An idle worker, or permission to start one (`(None, True)`); waits when full."""
        deadline = time.monotonic() + wait_s
        with self.condition:
            while True:
                if self.closed:
                    raise PoolClosed()
                while self.idle:
                    worker = self.idle.pop()
                    if worker.alive():
                        self.busy += 1
                        return worker, False
                    worker.kill()
                if self.size < self.cap:
                    self.busy += 1
                    return None, True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TooManyRequestsException(
                        f"Rate Exceeded. All {self.cap} workers of this function are busy"
                    )
                self.condition.wait(remaining)

    def release(self, worker: Worker | None) -> None:
        """Return a healthy worker, or just free its slot (`None`: it was discarded)."""
        with self.condition:
            self.busy -= 1
            if (
                worker is not None
                and not self.closed
                and worker.generation == self.generation
                and worker.alive()
            ):
                self.idle.append(worker)
                worker = None
            self.condition.notify()
        if worker is not None:
            worker.kill()

    def recycle(self, source_stamp: hot_reload.Stamp) -> None:
        """The source changed: stop idle workers now, busy ones when they come back."""
        with self.condition:
            self.generation += 1
            self.source_stamp = source_stamp
            idle, self.idle = self.idle, []
        for worker in idle:
            worker.kill()

    def close(self) -> None:
        """Stop idle workers now; busy ones are killed when they come back."""
        with self.condition:
            self.closed = True
            idle, self.idle = self.idle, []
            self.condition.notify_all()
        for worker in idle:
            worker.kill()
        shutil.rmtree(self.code_dir, ignore_errors=True)


class LambdaRunner:
    """All function pools of the server, keyed by function ARN and version."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.functions_dir = settings.state_dir / f"functions-{settings.port}"
        self._pools: dict[tuple[str, str], FunctionPool] = {}
        self._lock = threading.Lock()
        self._async = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lambda-async")
        # Started with the first hot-reloaded pool; no thread while no function is marked.
        self.watcher = hot_reload.Watcher(self.hot_pools)
        shutil.rmtree(self.functions_dir, ignore_errors=True)

    # -- pools ---------------------------------------------------------------------------
    def _fingerprint(self, fn: LambdaFunction) -> str:
        digest = hashlib.sha256()
        for part in (
            getattr(fn, "code_sha_256", ""),
            fn.run_time or "",
            fn.handler or "",
            json.dumps(fn.environment_vars, sort_keys=True),
            str(fn.timeout),
            str(fn.memory_size),
            str(fn.reserved_concurrency),
            json.dumps(logging_config(fn), sort_keys=True),
            (fn.tags or {}).get(hot_reload.TAG, ""),
            fn.role or "",
        ):
            digest.update(str(part).encode() + b"\0")
        return digest.hexdigest()[:16]

    def _cap(self, fn: LambdaFunction) -> int:
        reserved = fn.reserved_concurrency
        if reserved is None or reserved == "":
            return self.settings.max_workers
        return int(reserved)

    def _environment(
        self, fn: LambdaFunction, task_root: Path, code_dir: Path, language: str
    ) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(task_root),
            "_HANDLER": fn.handler or "",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            **self._credentials(fn),
        }
        if language == lambda_runtimes.NODE:
            # Lambda's NODE_PATH puts the runtime's SDK before the task root; a hot-reloaded
            # function's bundled packages stay in its zip's folder.
            sdk = lambda_runtimes.sdk_node_path(self.settings.state_dir)
            env["NODE_PATH"] = os.pathsep.join(
                dict.fromkeys(
                    [
                        *([str(sdk)] if sdk is not None else []),
                        str(task_root),
                        str(code_dir / "node_modules"),
                    ]
                )
            )
        config = logging_config(fn)
        if config.get("LogFormat") == "JSON":
            # What the Lambda runtime sets for JSON logs; INFO is AWS's default level there.
            env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
            env["AWS_LAMBDA_LOG_LEVEL"] = str(config.get("ApplicationLogLevel") or "INFO")
        env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
        # Reserved: the function always talks back to this local cloud.
        env["AWS_ENDPOINT_URL"] = self.settings.endpoint
        return env

    @staticmethod
    def _credentials(fn: LambdaFunction) -> dict[str, str]:
        """The role session's credentials: the local cloud authorizes what they sign."""
        authorizer = iam.authorizer()
        if authorizer is None or not fn.role:
            return {
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_SESSION_TOKEN": "test",
            }
        issued = authorizer.credentials_for(
            fn.function_name, fn.function_arn, str(fn.role), str(fn.account_id)
        )
        return {
            "AWS_ACCESS_KEY_ID": issued.access_key,
            "AWS_SECRET_ACCESS_KEY": issued.secret_key,
            "AWS_SESSION_TOKEN": issued.session_token,
        }

    def _unpack(self, fn: LambdaFunction, fingerprint: str) -> Path:
        code = getattr(fn, "code_bytes", b"")
        if not code:
            raise LambdaClientError(
                "InvalidParameterValueException",
                f"function {fn.function_name} has no zip code to run (image functions are not "
                "supported by the local cloud)",
            )
        target = self.functions_dir / f"{fn.function_name}-{fn.version}-{fingerprint}"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(target)
        return target

    def pool_for(self, fn: LambdaFunction) -> FunctionPool:
        """The pool of `fn`'s current code and config; retires a replaced version's pool."""
        key = (fn.function_arn, str(fn.version))
        fingerprint = self._fingerprint(fn)
        retired: FunctionPool | None = None
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None and pool.fingerprint == fingerprint:
                return pool
            retired = pool
            try:
                runtime = lambda_runtimes.resolve(fn.run_time, self.settings.node)
            except lambda_runtimes.RuntimeUnavailable as error:
                raise LambdaClientError("InvalidRuntimeException", str(error)) from None
            code_dir = self._unpack(fn, fingerprint)
            source = (
                hot_reload.source_for(fn.tags or {}, str(fn.version), self.settings.project_dir)
                if self.settings.hot_reload
                else hot_reload.Source(None)
            )
            notice = ""
            if source.refusal:
                log.warning("%s runs its deployed code: %s", fn.function_name, source.refusal)
                notice = f"[WARNING] hot reload off, running the deployed code: {source.refusal}\n"
            pool = FunctionPool(
                key=key,
                fingerprint=fingerprint,
                code_dir=code_dir,
                handler=fn.handler or "",
                env=self._environment(fn, source.folder or code_dir, code_dir, runtime.language),
                timeout_s=float(fn.timeout),
                cap=self._cap(fn),
                runtime=runtime,
                source_folder=source.folder,
                # Taken before any worker imports, so an edit after it is never missed.
                source_stamp=hot_reload.stamp(source.folder) if source.folder else frozenset(),
                notice=notice,
            )
            self._pools[key] = pool
        if source.folder is not None:
            log.info("%s runs from %s (hot reload)", fn.function_name, source.folder)
            self.watcher.start()
        if retired is not None:
            log.info("stopping workers of replaced %s version %s", *key)
            retired.close()
        return pool

    def hot_pools(self) -> list[FunctionPool]:
        """The pools that run from a working-tree folder, for the watcher."""
        with self._lock:
            return [pool for pool in self._pools.values() if pool.source_folder is not None]

    def worker_pids(self, function_arn: str) -> list[int]:
        """Pids of the live workers of a function (all versions), for tests and status."""
        with self._lock:
            pools = [p for (arn, _), p in self._pools.items() if arn == function_arn]
        pids: list[int] = []
        for pool in pools:
            with pool.condition:
                pids += [w.pid for w in pool.idle if w.alive()]
        return pids

    def forget(self, function_arn: str) -> None:
        """Stop every pool of a deleted function."""
        with self._lock:
            keys = [key for key in self._pools if key[0] == function_arn]
            pools = [self._pools.pop(key) for key in keys]
        for pool in pools:
            pool.close()

    def shutdown(self) -> None:
        """Stop the hot-reload watcher and every worker."""
        self.watcher.stop()
        self._async.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    # -- invocations ---------------------------------------------------------------------
    def invoke(self, fn: LambdaFunction, event: Any) -> Outcome:
        """Run one invocation synchronously and write its logs to CloudWatch Logs."""
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        if self._cap(fn) == 0:
            raise TooManyRequestsException("Rate Exceeded. The function's concurrency is 0")
        while True:
            pool = self.pool_for(fn)
            try:
                worker, start_new = pool.acquire(wait_s=max(pool.timeout_s, 1.0) + INIT_TIMEOUT_S)
                break
            except PoolClosed:
                continue  # the function changed while we waited: use its new pool
        init_logs = ""
        try:
            if start_new:
                worker, error, init_logs = self._start_worker(pool)
                if worker is None:
                    assert error is not None
                    outcome = self._error_outcome(request_id, error, init_logs, started)
                    self._save_logs(fn, outcome)
                    return outcome
            assert worker is not None
            outcome = self._run(fn, pool, worker, request_id, event, started)
            if not worker.alive():
                pool.release(None)
            else:
                pool.release(worker)
            worker = None
        except BaseException:
            pool.release(None)
            if worker is not None:
                worker.kill()
            raise
        outcome.logs = init_logs + outcome.logs
        self._save_logs(fn, outcome)
        return outcome

    def invoke_async(self, fn: LambdaFunction, event: Any) -> None:
        """`InvocationType=Event`: queue the invocation and return at once."""
        self._async.submit(self._invoke_logged, fn, event)

    def _invoke_logged(self, fn: LambdaFunction, event: Any) -> None:
        try:
            self.invoke(fn, event)
        except LambdaClientError as error:
            log.warning("asynchronous invocation of %s failed: %s", fn.function_name, error)

    def _start_worker(self, pool: FunctionPool) -> tuple[Worker | None, dict[str, Any] | None, str]:
        worker = Worker(
            pool.code_dir,
            pool.handler,
            pool.env,
            source_folder=pool.source_folder,
            # Read before the process imports anything: an edit after this recycles it.
            generation=pool.generation,
            runtime=pool.runtime,
        )
        try:
            hello = worker.read_message(INIT_TIMEOUT_S)
        except (WorkerTimeout, WorkerCrashed) as exc:
            worker.kill()
            pool.release(None)
            return None, {"errorType": "Runtime.Unknown", "errorMessage": str(exc)}, pool.notice
        logs = pool.notice + str(hello.get("logs", ""))
        if not hello.get("ready"):
            worker.kill()
            pool.release(None)
            return None, hello.get("error") or {}, logs
        return worker, None, logs

    def _run(
        self,
        fn: LambdaFunction,
        pool: FunctionPool,
        worker: Worker,
        request_id: str,
        event: Any,
        started: float,
    ) -> Outcome:
        deadline_ms = int(time.time() * 1000 + pool.timeout_s * 1000)
        context = {
            "function_name": fn.function_name,
            "function_version": str(fn.version),
            "invoked_function_arn": fn.function_arn,
            "memory_limit_in_mb": fn.memory_size,
            "log_group_name": fn.logs_group_name,
            "log_stream_name": "",
        }
        try:
            worker.send(
                {"id": request_id, "event": event, "deadline_ms": deadline_ms, "context": context}
            )
            reply = worker.read_message(pool.timeout_s)
        except WorkerTimeout:
            worker.kill()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"{stamp} {request_id} Task timed out after "
                f"{pool.timeout_s:.2f} seconds",
            }
            return self._error_outcome(request_id, error, "", started)
        except WorkerCrashed as exc:
            worker.kill()
            error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                f"exit status {exc.returncode}",
            }
            return self._error_outcome(request_id, error, "", started)
        worker.invocations += 1
        if reply.get("exit"):
            # The runtime ends its process after this answer (Node.js: an unhandled rejection).
            worker.kill()
        logs = str(reply.get("logs", ""))
        if reply.get("ok"):
            payload = str(reply["result"]).encode()
            if len(payload) > MAX_RESPONSE_BYTES:
                return self._error_outcome(request_id, RESPONSE_TOO_LARGE, logs, started)
            return Outcome(
                payload=payload,
                function_error=False,
                logs=logs,
                request_id=request_id,
                duration_ms=(time.monotonic() - started) * 1000,
            )
        error = dict(reply.get("error") or {})
        error["requestId"] = request_id
        return Outcome(
            payload=json.dumps(error).encode(),
            function_error=True,
            logs=logs,
            request_id=request_id,
            duration_ms=(time.monotonic() - started) * 1000,
        )

    def _error_outcome(
        self, request_id: str, error: dict[str, Any], logs: str, started: float
    ) -> Outcome:
        message = f"[ERROR] {error.get('errorType')}: {error.get('errorMessage')}\n"
        return Outcome(
            payload=json.dumps(error).encode(),
            function_error=True,
            logs=logs + message,
            request_id=request_id,
            duration_ms=(time.monotonic() - started) * 1000,
        )

    def _save_logs(self, fn: LambdaFunction, outcome: Outcome) -> None:
        """Write START/logs/END/REPORT to CloudWatch Logs; `outcome.logs` becomes that text."""
        lines = [
            f"START RequestId: {outcome.request_id} Version: {fn.version}",
            *outcome.logs.splitlines(),
            f"END RequestId: {outcome.request_id}",
            f"REPORT RequestId: {outcome.request_id}\tDuration: {outcome.duration_ms:.2f} ms\t"
            f"Memory Size: {fn.memory_size} MB",
        ]
        outcome.logs = "\n".join(lines) + "\n"
        fn.logs_backend.ensure_log_group(fn.logs_group_name)
        fn.save_logs(outcome.logs)


_runner: LambdaRunner | None = None


def logging_config(fn: LambdaFunction) -> dict[str, Any]:
    """The function's `LoggingConfig` (moto 5.2.5 does not keep it; our patches do)."""
    config = getattr(fn, "logging_config", None)
    return dict(config) if isinstance(config, dict) else {}


def _init(
    self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any
) -> None:
    _INIT.original(self, account_id, spec, *args, **kwargs)
    self.logging_config = dict(spec.get("LoggingConfig") or {})  # type: ignore[attr-defined]


def _create_from_cloudformation_json(
    cls: Any,
    /,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> LambdaFunction:
    create = _CREATE_FROM_CFN.original.__get__(None, cls)
    properties = cloudformation_json.get("Properties", {})
    _inline.runtime = properties.get("Runtime")
    try:
        fn: LambdaFunction = create(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
    finally:
        _inline.runtime = None
    fn.logging_config = dict(properties.get("LoggingConfig") or {})  # type: ignore[attr-defined]
    fn.tags = cloudformation_tags(properties)
    return fn


def _update_from_cloudformation_json(
    cls: Any,
    /,
    original_resource: LambdaFunction,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> LambdaFunction:
    update = _UPDATE_FROM_CFN.original.__get__(None, cls)
    fn: LambdaFunction = update(
        original_resource, new_resource_name, cloudformation_json, account_id, region_name
    )
    # The template holds every tag of the function: a tag it dropped is removed.
    fn.tags = cloudformation_tags(cloudformation_json.get("Properties", {}))
    return fn


def cloudformation_tags(properties: dict[str, Any]) -> dict[str, str]:
    """A template's `Tags` list (which moto 5.2.5 drops) as the function's tags."""
    return {str(tag["Key"]): str(tag["Value"]) for tag in properties.get("Tags") or []}


# The runtime of the CloudFormation function being created, for its inline code's file name.
_inline = threading.local()


def _zip_inline_code(code: str) -> bytes:
    """A template's inline `ZipFile` code as CloudFormation packs it: `index.js` for a
    Node.js runtime (moto 5.2.5 always writes `index.py`)."""
    runtime = str(getattr(_inline, "runtime", None) or "")
    if not runtime.startswith("nodejs"):
        packed: bytes = _ZIP_INLINE.original(code)
        return packed
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.js", code)
    return buffer.getvalue()


_ZIP_INLINE = Patch(
    "lambda.inline_code.node_file_name",
    LambdaFunction,
    "_create_zipfile_from_plaintext_code",
    staticmethod(_zip_inline_code),
)


def refuse_unrunnable(runtime: str | None) -> None:
    """Lambda's `InvalidParameterValueException` for a runtime the local cloud cannot run."""
    node = _runner.settings.node if _runner is not None else None
    try:
        lambda_runtimes.resolve(runtime, node)
    except lambda_runtimes.RuntimeUnavailable as error:
        raise InvalidParameterValueException(str(error)) from None


def _create_function(self: LambdaBackend, spec: dict[str, Any]) -> LambdaFunction:
    """moto's, refusing a runtime that would otherwise be run as Python."""
    refuse_unrunnable(spec.get("Runtime"))
    fn: LambdaFunction = _CREATE_FUNCTION.original(self, spec)
    return fn


_CREATE_FUNCTION = Patch(
    "lambda.create_function.refuse_runtime", LambdaBackend, "create_function", _create_function
)


def _update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
    if config_updates.get("Runtime"):
        refuse_unrunnable(str(config_updates["Runtime"]))
    result: dict[str, Any] = _UPDATE_CONFIGURATION.original(self, config_updates)
    if "LoggingConfig" in config_updates:
        self.logging_config = dict(config_updates["LoggingConfig"] or {})  # type: ignore[attr-defined]
    return result


_INIT = Patch("lambda.logging_config.api", LambdaFunction, "__init__", _init)
_CREATE_FROM_CFN = Patch(
    "lambda.logging_config_and_tags.cloudformation",
    LambdaFunction,
    "create_from_cloudformation_json",
    classmethod(_create_from_cloudformation_json),
)
_UPDATE_CONFIGURATION = Patch(
    "lambda.logging_config.update", LambdaFunction, "update_configuration", _update_configuration
)
_UPDATE_FROM_CFN = Patch(
    "lambda.tags.cloudformation_update",
    LambdaFunction,
    "update_from_cloudformation_json",
    classmethod(_update_from_cloudformation_json),
)


def runner() -> LambdaRunner:
    """The installed runner; `install()` must have run."""
    if _runner is None:
        raise RuntimeError("the Lambda runner is not installed")
    return _runner


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """moto's seam: run the function here instead of in Docker."""
    outcome = runner().invoke(self, {} if event is None else event)
    return outcome.payload.decode(), outcome.function_error, outcome.logs


def invocation_event(body: str | bytes | None, invocation_type: str) -> Any:
    """The event of an Invoke request (`{}` for an empty body), or Lambda's refusal of it."""
    payload = body.encode() if isinstance(body, str) else body or b""
    if len(payload) > MAX_REQUEST_BYTES:
        raise UserError(
            413,
            "RequestEntityTooLargeException",
            f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction "
            "operation",
        )
    if invocation_type == "Event" and len(payload) > MAX_EVENT_PAYLOAD_BYTES:
        raise UserError(
            413,
            "RequestEntityTooLargeException",
            f"{len(payload)} byte payload is too large for the Event invocation type "
            f"(limit {MAX_EVENT_PAYLOAD_BYTES} bytes)",
        )
    if not payload:
        return {}
    try:
        return json.loads(payload, parse_constant=_refuse_constant)
    except ValueError as error:  # also a UnicodeDecodeError: the body is not UTF-8
        raise UserError(
            400,
            "InvalidRequestContentException",
            f"Could not parse request body into json: Could not parse payload into json: {error}",
        ) from None


def _refuse_constant(name: str) -> Any:
    """`NaN` and `Infinity` are Python's JSON, not Lambda's."""
    raise ValueError(f"Non-standard token '{name}'")


def _invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> Any:
    """moto's `invoke`, with the payload limits, `Unhandled` errors, `Event`/`DryRun` and the
    log tail."""
    invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
    event = invocation_event(body, invocation_type)
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        runner().invoke_async(self, event)
        return b""
    outcome = runner().invoke(self, event)
    if outcome.function_error:
        response_headers["x-amz-function-error"] = "Unhandled"
    response_headers["x-amz-executed-version"] = str(self.version)
    tail = outcome.logs.encode()[-LOG_TAIL_BYTES:]
    response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    return outcome.payload


@amz_crc32
def _invoke_response(self: LambdaResponse) -> TYPE_RESPONSE:
    """moto's Invoke handler without its response limit (6,000,000 bytes by `sys.getsizeof`,
    below Lambda's); `LambdaRunner` applies Lambda's."""
    response_headers: dict[str, str] = {}
    function_name = unquote(self.path.rsplit("/", 2)[-2])
    payload = self.backend.invoke(
        function_name, self._get_param("qualifier"), self.body, self.headers, response_headers
    )
    assert payload is not None  # `get_function` raised for a missing function
    invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
    status = {"Event": 202, "DryRun": 204}.get(invocation_type, 200)
    response_headers["status"] = str(status)
    response_headers["content-type"] = "application/json"
    if self.headers.get("X-Amz-Log-Type") != "Tail":
        response_headers.pop("x-amz-log-result", None)
    return status, response_headers, payload


def _setup_class(
    self: LambdaResponse,
    request: Any,
    full_url: str | None = None,
    headers: Any = None,
    use_raw_body: bool | None = None,
) -> None:
    """moto's, keeping an Invoke's body as bytes: moto decoded it as UTF-8 and crashed on a
    payload that is not."""
    if use_raw_body is None and request.path.endswith("/invocations"):
        use_raw_body = True
    _SETUP_CLASS.original(self, request, full_url, headers, use_raw_body)


_SETUP_CLASS = Patch("lambda.invoke.raw_payload", LambdaResponse, "setup_class", _setup_class)


def _delete_function(self: LambdaBackend, function_name: str, qualifier: str | None = None) -> None:
    """moto's, then stop the deleted function's workers."""
    arns = [
        fn.function_arn
        for fn in self.list_functions()
        if function_name in (fn.function_name, fn.function_arn)
    ]
    _DELETE.original(self, function_name, qualifier)
    if _runner is not None:
        for arn in arns:
            _runner.forget(arn)


_DELETE = Patch(
    "lambda.delete_function.stop_workers", LambdaBackend, "delete_function", _delete_function
)

PATCHES = PatchSet(
    "lambda",
    [
        Patch("lambda.invoke_lambda.in_process", LambdaFunction, "_invoke_lambda", _invoke_lambda),
        Patch("lambda.invoke.headers_and_limits", LambdaFunction, "invoke", _invoke),
        Patch("lambda.invoke.response_limit", LambdaResponse, "invoke", _invoke_response),
        _SETUP_CLASS,
        _DELETE,
        _INIT,
        _CREATE_FROM_CFN,
        _UPDATE_CONFIGURATION,
        _UPDATE_FROM_CFN,
        _ZIP_INLINE,
        _CREATE_FUNCTION,
    ],
)


def install(settings: Settings) -> LambdaRunner:
    """Create the runner and put it behind moto's Lambda seams."""
    global _runner
    if _runner is None:
        _runner = LambdaRunner(settings)
    PATCHES.install()
    return _runner


def uninstall() -> None:
    """Stop every worker and restore moto's Docker runner."""
    global _runner
    PATCHES.uninstall()
    if _runner is not None:
        _runner.shutdown()
        _runner = None
