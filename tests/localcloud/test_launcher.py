"""`make up` / `make down`: start, detect, reuse and stop, on free ports only."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts import local_cloud
from tests.localcloud.conftest import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _serve(routes: dict[str, dict[str, object]]) -> tuple[ThreadingHTTPServer, int]:
    """A tiny HTTP server answering JSON on the given paths and 404 elsewhere."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = routes.get(self.path)
            if body is None:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture
def fake_localstack() -> Iterator[int]:
    server, port = _serve(
        {
            "/_localstack/health": {
                "services": {"dynamodb": "available", "lambda": "available"},
                "edition": "community",
                "version": "4.9.0",
            }
        }
    )
    yield port
    server.shutdown()


def test_up_detect_reuse_and_down(tmp_path: Path) -> None:
    port = free_port()
    assert local_cloud.detect(port) is None

    endpoint, started = local_cloud.start(port, tmp_path)
    try:
        assert started
        assert endpoint.kind == local_cloud.LOCALCLOUD
        assert endpoint.url == f"http://localhost:{port}"
        paths = local_cloud.Paths(tmp_path, port)
        assert paths.pid_file.read_text().strip() == str(endpoint.pid)
        assert "serving on" in paths.log_file.read_text()

        again, started_again = local_cloud.start(port, tmp_path)
        assert not started_again
        assert again.pid == endpoint.pid
    finally:
        message = local_cloud.stop(port, tmp_path)
    assert message.startswith("stopped the local cloud")
    assert local_cloud.detect(port) is None
    assert not local_cloud.Paths(tmp_path, port).pid_file.exists()
    assert local_cloud.stop(port, tmp_path) == f"no local cloud running on port {port}"


def test_localstack_on_the_port_is_used_and_never_stopped(
    fake_localstack: int, tmp_path: Path
) -> None:
    endpoint, started = local_cloud.start(fake_localstack, tmp_path)
    assert not started
    assert endpoint.kind == local_cloud.LOCALSTACK
    assert "LocalStack" in endpoint.describe() and "community 4.9.0" in endpoint.describe()
    assert local_cloud.stop(fake_localstack, tmp_path).startswith("not ours, left running")
    assert local_cloud.detect(fake_localstack) is not None
    assert list(tmp_path.iterdir()) == []


def test_plain_moto_server_is_detected(tmp_path: Path) -> None:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint, started = local_cloud.start(port, tmp_path)
        assert not started
        assert endpoint.kind == local_cloud.MOTO
    finally:
        server.stop()


def test_port_held_by_something_else_is_refused(tmp_path: Path) -> None:
    server, port = _serve({})
    try:
        with pytest.raises(local_cloud.PortInUseError, match=f"port {port} is in use"):
            local_cloud.start(port, tmp_path)
        assert list(tmp_path.iterdir()) == []
        assert local_cloud.main(["up", "--port", str(port), "--state-dir", str(tmp_path)]) == 2
    finally:
        server.shutdown()


def test_status_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    assert local_cloud.main(["status", "--port", str(port), "--json"]) == 1
    assert json.loads(capsys.readouterr().out) is None
