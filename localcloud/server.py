"""The local cloud server: the front door to DynamoDB Local, moto's WSGI app for the rest,
our extensions and a health endpoint.

Run it with `python -m localcloud serve --port 4566`; `python -m localcloud up` (`make up`)
starts it in the background. `GET /_localcloud/health` tells it apart from LocalStack,
MiniStack or a plain moto server on the same port, and names both processes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.front_door import FrontDoor

HEALTH_PATH = "/_localcloud/health"
SERVICE_NAME = "localcloud"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class HealthMiddleware:
    """Answer `HEALTH_PATH` ourselves; pass everything else to moto."""

    def __init__(self, app: WsgiApp, info: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.info = info

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            body = json.dumps(self.info()).encode()
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.app(environ, start_response)


def build_app(port: int) -> tuple[WsgiApp, FrontDoor]:
    """Install the extensions; return the WSGI app serving on `port`, and its front door."""
    import moto
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from localcloud import (
        engine,
        events,
        extensions,
        front_door,
        lambda_runner,
        settings,
        state,
        streams,
        ttl,
    )
    from localcloud.front_door import FrontDoor

    os.environ.setdefault("MOTO_PORT", str(port))
    os.environ["LOCALCLOUD_PORT"] = str(port)
    config = settings.from_environment()
    config.state_dir.mkdir(parents=True, exist_ok=True)
    installed = extensions.install(config)
    dynamodb = installed.dynamodb
    persister = installed.persister

    def info() -> dict[str, Any]:
        return {
            "service": SERVICE_NAME,
            "control_plane": "moto",
            "moto_version": moto.__version__,
            "dynamodb": {
                "engine": "DynamoDB Local",
                "package": engine.PACKAGE,
                "pid": dynamodb.engine.pid,
                "port": dynamodb.engine.port,
                "healthy": dynamodb.engine.healthy(),
                "restarts": dynamodb.engine.restarts,
            },
            "pid": os.getpid(),
            "port": config.port,
            "stream_pollers": streams.poller().live_threads(),
            "stream_mappings": streams.poller().counters(),
            "extensions": extensions.installed_names(),
            "persistence": persister.counters() if persister is not None else None,
            "ttl": ttl.sweeper().counters(),
            "events": events.scheduler().counters_json(),
            "iam": {"mode": config.iam_mode, "report": front_door.IAM_REPORT_PATH},
            "hot_reload": {
                "enabled": config.hot_reload,
                "folders": sorted(
                    {str(p.source_folder) for p in lambda_runner.runner().hot_pools()}
                ),
            },
        }

    moto_app = state.RequestGuard(
        DomainDispatcherApplication(create_backend_app), installed.requests
    )
    door = FrontDoor(moto_app, dynamodb.client, dynamodb.extras, on_write=streams.poller().notify)
    return HealthMiddleware(door, info), door


def request_handler(door: FrontDoor) -> type[Any]:
    """moto's request handler, with a keep-alive fast path for DynamoDB requests.

    werkzeug's development server closes every connection after one response, so each SDK
    request pays a new connection and a new thread. A `POST` whose `X-Amz-Target` is
    DynamoDB's, with a `Content-Length` and no `Expect`, is read and answered here by the
    front door, and the connection stays open for the client's next request; everything
    else goes through werkzeug and moto as before.
    """
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    from localcloud.front_door import is_dynamodb_target, reason_phrase

    class RequestHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are separate writes: without this, Nagle's algorithm holds the
        # body back for the client's delayed ACK (about 40 ms) on a kept-alive connection.
        disable_nagle_algorithm = True
        # An idle keep-alive connection is closed after this many seconds.
        timeout = 60

        def do_POST(self) -> None:
            headers = self.headers
            length = headers.get("Content-Length")
            if (
                not is_dynamodb_target(headers.get("X-Amz-Target", ""))
                or length is None
                or not length.isdigit()
                or "Expect" in headers
                or "Transfer-Encoding" in headers
            ):
                self.run_wsgi()
                return
            body = self.rfile.read(int(length))
            environ = {
                "HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()
            }
            environ["CONTENT_TYPE"] = headers.get("Content-Type", "")
            environ["SERVER_PORT"] = str(self.server.server_port)
            status, response_headers, payload = door.answer(environ, body)
            self.send_response_only(status, reason_phrase(status))
            for name, value in response_headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
            self.log_request(status, len(payload))

        def run_wsgi(self) -> None:
            self.close_connection = True
            super().run_wsgi()

    return RequestHandler


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM/SIGINT; stops Lambda workers on the way out."""
    from werkzeug.serving import run_simple

    from localcloud import extensions

    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args(argv)

    def stop(signum: int, frame: Any) -> None:
        extensions.shutdown()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    app, door = build_app(args.port)
    print(f"localcloud: serving on http://localhost:{args.port} (pid {os.getpid()})", flush=True)
    try:
        run_simple(args.host, args.port, app, threaded=True, request_handler=request_handler(door))
    finally:
        extensions.shutdown()
