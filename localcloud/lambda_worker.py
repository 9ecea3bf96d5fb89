"""One warm Python Lambda "container": imports the handler once, then serves invocations.

Started by `localcloud.lambda_runner` as
`python -I lambda_worker.py <code_dir> <handler> [<source_folder>]` with the function's
environment and its code as working directory. With a source folder (hot reload) that folder
is imported first, always compiled from its files, and the unpacked zip after it, for the
dependencies bundled there. Standard library only: it runs beside the function's own code,
not the server's.

Protocol (one JSON document per line): the worker first writes `{"ready": true}` or
`{"ready": false, "error": {...}}` (the init error, Lambda-shaped); then for each request
line `{"id", "event", "deadline_ms", "context"}` it writes `{"id", "ok", "result"|"error",
"logs"}`. Responses go to a private copy of the original stdout; the handler's own prints
and log records are captured per invocation and returned as `logs`.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import io
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from types import CodeType
from typing import Any, TextIO

_PROTOCOL: TextIO


class LambdaContext:
    """The subset of the Lambda context object handlers use."""

    def __init__(self, request_id: str, deadline_ms: int, info: dict[str, Any]) -> None:
        self.aws_request_id = request_id
        self._deadline_ms = deadline_ms
        self.function_name = str(info.get("function_name", ""))
        self.function_version = str(info.get("function_version", "$LATEST"))
        self.invoked_function_arn = str(info.get("invoked_function_arn", ""))
        self.memory_limit_in_mb = str(info.get("memory_limit_in_mb", "128"))
        self.log_group_name = str(info.get("log_group_name", ""))
        self.log_stream_name = str(info.get("log_stream_name", ""))
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out."""
        return max(0, self._deadline_ms - int(time.time() * 1000))


class _Capture(logging.Handler):
    """Formats log records like the Lambda Python runtime, into the current buffer."""

    def __init__(self, json_format: bool) -> None:
        super().__init__()
        self.buffer: io.StringIO = io.StringIO()
        self.request_id = ""
        self.json_format = json_format

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            stamp = f"{stamp}.{int(record.msecs):03d}Z"
            message = self.format(record)
            if self.json_format:
                line = json.dumps(
                    {
                        "timestamp": stamp,
                        "level": record.levelname,
                        "message": message,
                        "logger": record.name,
                        "requestId": self.request_id,
                    }
                )
            else:
                line = f"[{record.levelname}]\t{stamp}\t{self.request_id}\t{message}"
            self.buffer.write(line + "\n")
        except Exception:  # noqa: BLE001 - a logging failure must never kill the worker
            self.handleError(record)


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    tb = exc.__traceback__
    # Drop this file's own frames: the trace starts in the function's code, as on Lambda.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_tb(tb),
    }


def _send(message: dict[str, Any]) -> None:
    _PROTOCOL.write(json.dumps(message) + "\n")
    _PROTOCOL.flush()


class _LiveSourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles the file as it is now, never a cached `.pyc`.

    A `.pyc` is trusted when the source's mtime (in whole seconds) and size match, so an edit
    that keeps the size within the same second would run the old code.
    """

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


def _import_live_from(folder: str) -> None:
    """Put `folder` first on `sys.path`; its modules (and packages) skip the bytecode cache."""
    loaders = [
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
        (_LiveSourceLoader, importlib.machinery.SOURCE_SUFFIXES),
    ]

    def finder(path: str) -> importlib.machinery.FileFinder:
        if path != folder and not path.startswith(folder + os.sep):
            raise ImportError(f"{path} is not in {folder}")
        return importlib.machinery.FileFinder(path, *loaders)

    sys.path_hooks.insert(0, finder)
    sys.path_importer_cache.clear()
    sys.path.insert(0, folder)


def _load(handler: str) -> Callable[[Any, Any], Any]:
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{handler}': not enough values to unpack")
    module = importlib.import_module(module_name.replace("/", "."))
    function = getattr(module, function_name, None)
    if function is None:
        raise AttributeError(f"Handler '{function_name}' missing on module '{module_name}'")
    return function  # type: ignore[no-any-return]


def main() -> None:
    """Import the handler, report readiness, serve requests until stdin closes."""
    global _PROTOCOL
    code_dir, handler_name, *source_folders = sys.argv[1:]
    # Our protocol owns the real stdout; anything written to fd 1 later goes to stderr.
    _PROTOCOL = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.path.insert(0, code_dir)
    for folder in source_folders:
        _import_live_from(folder)
    json_format = os.environ.get("AWS_LAMBDA_LOG_FORMAT") == "JSON"
    capture = _Capture(json_format)
    root = logging.getLogger()
    root.handlers = [capture]
    # The Lambda runtime's defaults: WARNING for text logs, the configured level for JSON.
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO") if json_format else "WARNING"
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    real_stdout, real_stderr = sys.stdout, sys.stderr

    init_logs = io.StringIO()
    capture.buffer = init_logs
    sys.stdout = sys.stderr = init_logs
    try:
        handler = _load(handler_name)
    except ImportError as exc:
        error = _error(exc, "Runtime.ImportModuleError")
        error["errorMessage"] = f"Unable to import module '{handler_name}': {exc}"
        _send({"ready": False, "error": error, "logs": init_logs.getvalue()})
        return
    except Exception as exc:  # noqa: BLE001 - any init failure is reported, Lambda-shaped
        name = "Runtime.HandlerNotFound" if isinstance(exc, AttributeError) else None
        _send({"ready": False, "error": _error(exc, name), "logs": init_logs.getvalue()})
        return
    finally:
        sys.stdout, sys.stderr = real_stdout, real_stderr
    _send({"ready": True, "logs": init_logs.getvalue()})

    for line in sys.stdin:
        request = json.loads(line)
        buffer = io.StringIO()
        capture.buffer = buffer
        capture.request_id = request["id"]
        context = LambdaContext(request["id"], int(request["deadline_ms"]), request["context"])
        sys.stdout = sys.stderr = buffer
        try:
            result = handler(request["event"], context)
            try:
                body = json.dumps(result)
                response: dict[str, Any] = {"id": request["id"], "ok": True, "result": body}
            except (TypeError, ValueError) as exc:
                error = _error(exc, "Runtime.MarshalError")
                error["errorMessage"] = f"Unable to marshal response: {exc}"
                response = {"id": request["id"], "ok": False, "error": error}
        except Exception as exc:  # noqa: BLE001 - the handler's error becomes the response
            error = _error(exc)
            buffer.write(f"[ERROR] {error['errorType']}: {error['errorMessage']}\n")
            buffer.write("".join(traceback.format_exception(exc)))
            response = {"id": request["id"], "ok": False, "error": error}
        finally:
            sys.stdout, sys.stderr = real_stdout, real_stderr
        response["logs"] = buffer.getvalue()
        _send(response)


if __name__ == "__main__":
    main()
