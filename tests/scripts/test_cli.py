"""The command line itself: entry point, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud.engine import REPO_ROOT, free_port
from scripts.cli import main
from stacks.config import StageConfig


def test_python_dash_m_scripts_lists_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert result.returncode == 0
    for command in ("list-tables", "describe", "seed", "scan", "drop", "patterns"):
        assert command in result.stdout
    patterns = subprocess.run(
        [sys.executable, "-m", "scripts", "patterns", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "120"},
    )
    for command in (
        "list-conversations",
        "get-conversation",
        "create-message",
        "create-conversation",
        "find-user-by-email",
    ):
        assert command in patterns.stdout


def test_unreachable_endpoint_is_one_line_and_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    assert main(["--endpoint", endpoint, "list-tables"]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach DynamoDB at {endpoint}")
    assert len(err.strip().splitlines()) == 1


def test_a_subprocess_error_has_no_traceback() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [sys.executable, "-m", "scripts", "--endpoint", endpoint, "scan", "tasks"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: cannot reach DynamoDB")


def test_unknown_stage_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stage", "qa", "list-tables"]) == 2
    assert "qa" in capsys.readouterr().err


def test_bad_option_values_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--endpoint", "http://127.0.0.1:9", "seed", "--concurrency", "0"]) == 2
    assert main(["--endpoint", "localhost:8000", "list-tables"]) == 2
    assert "must be an http" in capsys.readouterr().err
    assert main(["--endpoint", "http://127.0.0.1:9", "seed", "--anchor", "yesterday"]) == 2
    assert "not an ISO 8601 time" in capsys.readouterr().err
    out = tmp_path / "x.jsonl"
    assert main(["--endpoint", "http://127.0.0.1:9", "scan", "t", "--json", "--out", str(out)]) == 2
    assert "choose one of --json and --out" in capsys.readouterr().err


def test_aws_endpoint_url_points_the_tools_at_another_engine(
    stage_tables: StageConfig,
    ddb_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", ddb_endpoint)
    assert main(["list-tables", "--json"]) == 0
    assert sorted(json.loads(capsys.readouterr().out)) == ["Tasks", "Users", "cruddur-messages"]
