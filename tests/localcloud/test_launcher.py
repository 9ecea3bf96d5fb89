"""`make up` / `make down`: start, detect, reuse and stop, on free ports only."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from localcloud import launcher
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
    assert launcher.detect(port) is None

    endpoint, started = launcher.start(port, tmp_path)
    try:
        assert started
        assert endpoint.kind == launcher.LOCALCLOUD
        assert endpoint.url == f"http://localhost:{port}"
        paths = launcher.Paths(tmp_path, port)
        assert paths.pid_file.read_text().strip() == str(endpoint.pid)
        assert "serving on" in paths.log_file.read_text()

        again, started_again = launcher.start(port, tmp_path)
        assert not started_again
        assert again.pid == endpoint.pid
    finally:
        message = launcher.stop(port, tmp_path)
    assert message.startswith("stopped the local cloud")
    assert launcher.detect(port) is None
    assert not launcher.Paths(tmp_path, port).pid_file.exists()
    assert launcher.stop(port, tmp_path) == f"no local cloud running on port {port}"


def test_localstack_on_the_port_is_used_and_never_stopped(
    fake_localstack: int, tmp_path: Path
) -> None:
    endpoint, started = launcher.start(fake_localstack, tmp_path)
    assert not started
    assert endpoint.kind == launcher.LOCALSTACK
    assert "LocalStack" in endpoint.describe() and "community 4.9.0" in endpoint.describe()
    assert launcher.stop(fake_localstack, tmp_path).startswith("not ours, left running")
    assert launcher.detect(fake_localstack) is not None
    assert [p.name for p in tmp_path.iterdir()] == [f"server-{fake_localstack}.lock"]


MINISTACK_HEALTH: dict[str, object] = {
    "services": {"dynamodb": "available", "lambda": "available"},
    "edition": "light",
    "version": "1.5.33",
    "ready_scripts": {"status": "completed", "total": 0, "completed": 0, "failed": 0},
}


def test_ministack_is_told_apart_from_localstack(tmp_path: Path) -> None:
    # MiniStack answers LocalStack's health path too, with "edition": "light".
    server, port = _serve(
        {"/_localstack/health": MINISTACK_HEALTH, "/_ministack/health": MINISTACK_HEALTH}
    )
    try:
        endpoint, started = launcher.start(port, tmp_path)
        assert not started
        assert endpoint.kind == launcher.MINISTACK
        assert endpoint.describe().startswith("MiniStack at ")
        assert "LocalStack" not in endpoint.describe()
        assert launcher.stop(port, tmp_path).startswith("not ours, left running: MiniStack")
    finally:
        server.shutdown()


def test_a_stale_pid_file_never_signals_an_unrelated_process(tmp_path: Path) -> None:
    port = free_port()
    # The pid file names a live process that is not our server (a reused pid).
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        paths = launcher.Paths(tmp_path, port)
        paths.pid_file.write_text(f"{bystander.pid}\n")
        assert launcher.stop(port, tmp_path) == f"no local cloud running on port {port}"
        assert bystander.poll() is None, "stop() signalled a process that is not ours"
        assert not paths.pid_file.exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_two_concurrent_starts_on_one_port_make_one_server(tmp_path: Path) -> None:
    port = free_port()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: launcher.start(port, tmp_path), range(2)))
    try:
        assert sorted(started for _, started in results) == [False, True]
        assert results[0][0].pid == results[1][0].pid
        assert launcher.Paths(tmp_path, port).pid_file.read_text().strip() == str(results[0][0].pid)
    finally:
        assert launcher.stop(port, tmp_path).startswith("stopped the local cloud")
    assert launcher.detect(port) is None


def test_plain_moto_server_is_detected(tmp_path: Path) -> None:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint, started = launcher.start(port, tmp_path)
        assert not started
        assert endpoint.kind == launcher.MOTO
    finally:
        server.stop()


class _Unserializable:
    """A model moto tracks whose attribute raises: moto's `/moto-api/data.json` answers 500."""

    @property
    def broken(self) -> str:
        raise RuntimeError("not serializable")


def test_moto_is_detected_when_its_model_dump_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.core.model_instances import model_data
    from moto.server import ThreadedMotoServer

    model = type("Broken", (), {"instances_tracked": [_Unserializable()]})
    monkeypatch.setitem(model_data, "zz-localcloud-test", {"Broken": model})
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        with pytest.raises(urllib.error.HTTPError, match="500"):
            urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5)
        endpoint = launcher.detect(port)
        assert endpoint is not None and endpoint.kind == launcher.MOTO
    finally:
        server.stop()


def test_port_held_by_something_else_is_refused(tmp_path: Path) -> None:
    server, port = _serve({})
    try:
        with pytest.raises(launcher.PortInUseError, match=f"port {port} is in use"):
            launcher.start(port, tmp_path)
        assert [p.name for p in tmp_path.iterdir()] == [f"server-{port}.lock"]
        assert launcher.main(["up", "--port", str(port), "--state-dir", str(tmp_path)]) == 2
    finally:
        server.shutdown()


def test_status_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    assert launcher.main(["status", "--port", str(port), "--json"]) == 1
    assert json.loads(capsys.readouterr().out) is None
